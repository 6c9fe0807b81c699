"""`dg scaffold defs synthpipe.SynthpipeComponent <name>`: a `defs.yaml` that loads as it is.

It declares one table of a DuckDB source with the defaults spelled out, and the schedule
stopped until the source is right. Options (`--json-params`): `database` (the DuckDB file,
relative to the data folder), `table` (the source table) and `synthesizer`.
"""

import dagster as dg
from pydantic import BaseModel, Field

__all__ = ["ScaffoldParams", "SynthpipeScaffolder"]

_TEMPLATE = """\
# Synthetic twins of source tables, refreshed nightly. `dg check yaml` validates this file;
# every setting is in synthpipe's configuration reference (docs/configuration.md).
type: {type_name}
attributes:
  source:
    kind: duckdb                      # or parquet, csv, sql (url: {{env: SOURCE_URL}})
    database: {database}   # relative paths: in the data folder ($SYNTHPIPE_HOME)
  mlflow:
    experiment: {experiment}               # tracking_uri: {{env: MLFLOW_TRACKING_URI}}; default a local SQLite store
  schedule:
    cron: "0 2 * * *"
    timezone: UTC
    enabled: false                    # the nightly schedule starts once this is true
  tables:
    - name: {table}
      synthesizer: {synthesizer}      # gaussian_copula, ctgan, tvae, copula_gan, argn or auto
      quality_threshold: 0.7          # blocking: below it nothing is published
      holdout_fraction: 0.2           # real rows held out for the privacy and utility checks
      # pii: {{email: email}}           # personal columns: generated fresh, never learned
"""


class ScaffoldParams(BaseModel):
    """What `dg scaffold defs synthpipe.SynthpipeComponent <name> --json-params '{...}'` takes."""

    database: str = Field(default="sources/source.duckdb", description="DuckDB file of the source, relative to the data folder.")
    table: str = Field(default="customers", description="Source table to synthesize (also the name of its assets).")
    synthesizer: str = Field(default="gaussian_copula", description="Backend name, as `synthesizer` takes it.")


class SynthpipeScaffolder(dg.Scaffolder[ScaffoldParams]):
    @classmethod
    def get_scaffold_params(cls) -> type[ScaffoldParams]:
        return ScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[ScaffoldParams]) -> None:
        params = request.params if isinstance(request.params, ScaffoldParams) else ScaffoldParams()
        request.target_path.mkdir(parents=True, exist_ok=True)
        text = _TEMPLATE.format(
            type_name=request.type_name,
            database=params.database,
            experiment=request.target_path.name,
            table=params.table,
            synthesizer=params.synthesizer,
        )
        (request.target_path / "defs.yaml").write_text(text, encoding="utf-8")
