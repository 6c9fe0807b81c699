"""How a table's stages become Dagster asset specs. Override `get_asset_spec` to customise
keys, groups, tags, owners or descriptions; everything else follows from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import dagster as dg

from pipelines.config import TableConfig

__all__ = ["STAGES", "Stage", "StageData", "SynthpipeTranslator"]

Stage = Literal["source", "synthesizer", "synthetic", "published"]
STAGES: tuple[Stage, ...] = ("source", "synthesizer", "synthetic", "published")

_DESCRIPTIONS: dict[Stage, str] = {
    "source": "Real rows of `{source}` pulled from {where}; profiled, fingerprinted and split into training rows and a held-out sample that is never published.",
    "synthesizer": "{synthesizer} synthesizer fitted on the training rows of `{table}`, logged to MLflow and registered as `{model}` (alias `candidate`).",
    "synthetic": "Synthetic candidate of `{table}` sampled with a recorded seed; blocking checks decide whether it is published.",
    "published": "Published synthetic twin of `{table}`: a new Delta Lake version, written only when every blocking check passed.",
}
_KINDS: dict[Stage, set[str]] = {
    "source": {"duckdb"},
    "synthesizer": {"sdv", "mlflow"},
    "synthetic": {"pandas", "great_expectations"},
    "published": {"deltalake"},
}


@dataclass(frozen=True)
class StageData:
    """Everything the translator may look at for one asset: the table and its stage."""

    table: TableConfig
    stage: Stage
    source_description: str = "the source"


class SynthpipeTranslator:
    """Maps (table, stage) to an `AssetSpec`. Keys default to `<stage>/<table>`.

    Examples:
        >>> class MyTranslator(SynthpipeTranslator):
        ...     def get_asset_spec(self, data):
        ...         spec = super().get_asset_spec(data)
        ...         return spec.replace_attributes(key=spec.key.with_prefix("synthetic_data"))
    """

    def get_asset_spec(self, data: StageData) -> dg.AssetSpec:
        table = data.table
        description = _DESCRIPTIONS[data.stage].format(
            source=table.source_name,
            where=data.source_description,
            synthesizer=table.backend,
            table=table.name,
            model=table.registered_model_name,
        )
        return dg.AssetSpec(
            key=dg.AssetKey([data.stage, table.name]),
            group_name=f"synthpipe_{table.name}",
            description=description,
            kinds=_KINDS[data.stage],
            tags={"synthpipe/stage": data.stage},
        )
