"""The YAML component: declare tables in `defs.yaml`, get the whole nightly refresh.

The component IS the configuration model: `SynthpipeComponent` subclasses `SynthpipeConfig`, so
every setting (and its description, default and example) is the model's, with no second field
list to keep in step. Dagster derives the YAML schema from those fields, so `dg check yaml` and
the UI show the model's descriptions. A setting that may hold a credential takes
`{env: NAME}`, read from the environment when a run starts.
"""

from __future__ import annotations

import dagster as dg

from synthpipe.config import SynthpipeConfig
from synthpipe.scaffold import SynthpipeScaffolder
from synthpipe.validation import load_config

__all__ = ["SynthpipeComponent"]


@dg.scaffold_with(SynthpipeScaffolder)
class SynthpipeComponent(SynthpipeConfig, dg.Component, dg.Resolvable):
    """Synthetic twins of source tables, refreshed nightly: source, synthesizer, synthetic
    candidate with blocking checks, and a published Delta Lake version per table.

    Example `defs.yaml`::

        type: synthpipe.SynthpipeComponent
        attributes:
          source:
            kind: duckdb
            database: sources/adult.duckdb      # relative to the data folder ($SYNTHPIPE_HOME)
          mlflow:
            tracking_uri: {env: MLFLOW_TRACKING_URI}   # omit for the local SQLite store
            experiment: synthpipe
          schedule:
            cron: "0 2 * * *"
            timezone: UTC
          retention:
            keep_last: 30
            pins: {adult: {paper-2026: 3}}
          expectations_dir: expectations
          tables:
            - name: adult
              synthesizer: gaussian_copula
              quality_threshold: 0.75
              holdout_fraction: 0.2
              expectation_suites: [adult.yaml]
              columns:
                educational-num: {sdtype: categorical}

    Every setting is listed in `docs/configuration.md` (generated from the model).
    """

    def to_config(self) -> SynthpipeConfig:
        """The validated configuration model (a plain `SynthpipeConfig`, field for field)."""
        return load_config(SynthpipeConfig(**{name: getattr(self, name) for name in SynthpipeConfig.model_fields}))

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        # Imported here so that listing and checking components does not import the asset factories.
        from synthpipe.factory import build_synthpipe_defs

        return build_synthpipe_defs(self.to_config())
