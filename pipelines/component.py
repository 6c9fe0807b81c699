"""The YAML component: declare tables in `defs.yaml`, get the whole nightly refresh.

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
      tables:
        - name: adult
          synthesizer: gaussian_copula
          quality_threshold: 0.75
          holdout_fraction: 0.2
          columns:
            educational-num: {sdtype: categorical}
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from synthpipe.config import (
    GroupConfig,
    MlflowConfig,
    RetentionConfig,
    ScheduleConfig,
    SourceConfig,
    SynthpipeConfig,
    TableConfig,
)
from synthpipe.factory import build_synthpipe_defs
from synthpipe.validation import load_config

__all__ = ["SynthpipeComponent"]


class SynthpipeComponent(dg.Component, dg.Model, dg.Resolvable):
    """Synthetic twins of source tables, refreshed nightly: source, synthesizer, synthetic
    candidate with blocking checks, and a published Delta Lake version per table.
    """

    data_dir: str | None = Field(
        default=None,
        description="Project data folder; default $SYNTHPIPE_HOME, else `.synthpipe` in the working directory.",
        examples=[".synthpipe"],
    )
    source: SourceConfig = Field(description="Where the source tables live.", examples=[{"kind": "duckdb", "database": "sources/adult.duckdb"}])
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig, description="MLflow tracking and registry.", examples=[{"experiment": "synthpipe"}])
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="Nightly schedule.", examples=[{"cron": "0 2 * * *", "timezone": "UTC"}])
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="Retention of published versions (applied weekly by the maintenance job).",
        examples=[{"keep_last": 30, "pins": {"adult": {"paper-2026": 3}}}],
    )
    expectations_dir: str | None = Field(
        default=None,
        description="Folder the tables' `expectation_suites` are read from. Default: synthpipe's `expectations/` folder.",
        examples=["expectations"],
    )
    tables: list[TableConfig] = Field(
        default_factory=list, description="Single tables to synthesize.", examples=[[{"name": "adult", "quality_threshold": 0.75}]]
    )
    groups: list[GroupConfig] = Field(
        default_factory=list,
        description="Groups of related tables synthesized together (HMA).",
        examples=[[{"name": "nycflights", "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
                    "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]}]],
    )

    def to_config(self) -> SynthpipeConfig:
        """The configuration model, field for field (a test keeps the two field sets equal)."""
        return load_config(SynthpipeConfig(**{name: getattr(self, name) for name in SynthpipeConfig.model_fields}))

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_synthpipe_defs(self.to_config())
