"""The configuration model: what a user declares for each table, validated as a whole.

The same models back the YAML component (`synthpipe.SynthpipeComponent`, whose fields are
`SynthpipeConfig`'s) and the code-first factory (`synthpipe.factory.build_synthpipe_defs`).
`synthpipe.validation.load_config` turns any accepted input (a mapping, a YAML path or a model)
into one validated `SynthpipeConfig`.

This module and the ones it re-exports from (`config_base`, `shared_config`, `table_config`,
`group_config`, `contracts`, `extras`) are the bottom layer: they import no synthpipe module but
`synthpipe.errors`, so everything else can import them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from synthpipe.config_base import DATA_DIR_ENV, EnvValue, Strict, resolve_data_dir
from synthpipe.execution_config import ExecutionConfig
from synthpipe.generated_config import GeneratedConfig, SimulationConfig
from synthpipe.group_config import ForeignKeyConfig, GroupConfig, GroupTableConfig, GroupTarget
from synthpipe.shared_config import ColumnOverride
from synthpipe.steering_config import FairnessConfig, RebalanceConfig, SampleCondition
from synthpipe.table_config import DEFAULT_SYNTHESIZER, PrivacyConfig, SequenceConfig, TableConfig

__all__ = [
    "DEFAULT_SYNTHESIZER",
    "ColumnOverride",
    "EnvValue",
    "ExecutionConfig",
    "ForeignKeyConfig",
    "GroupConfig",
    "GroupTableConfig",
    "GeneratedConfig",
    "GroupTarget",
    "SimulationConfig",
    "LinksConfig",
    "MlflowConfig",
    "RetentionConfig",
    "ScheduleConfig",
    "FairnessConfig",
    "PrivacyConfig",
    "RebalanceConfig",
    "SampleCondition",
    "SequenceConfig",
    "SourceConfig",
    "SynthpipeConfig",
    "TableConfig",
    "resolve_data_dir",
]


class SourceConfig(Strict):
    """Where the source tables live. Set the one location setting its `kind` needs."""

    kind: Literal["duckdb", "sql", "parquet", "csv"] = Field(
        default="duckdb",
        description="`duckdb` (a DuckDB file), `sql` (any SQLAlchemy URL: PostgreSQL, MySQL/MariaDB, "
        "SQLite, warehouses), `parquet` or `csv` (a folder or object-store URL of files).",
        examples=["sql"],
    )
    database: str | EnvValue | None = Field(
        default=None,
        description=(
            "kind duckdb: the database file. A relative path is resolved against the data folder "
            f"(`data_dir`, or ${DATA_DIR_ENV}); `{{env: NAME}}` reads it from a variable."
        ),
        examples=["sources/adult.duckdb"],
    )
    url: str | EnvValue | None = Field(
        default=None,
        description="kind sql: SQLAlchemy URL. One with a password belongs in an environment variable: {env: NAME}.",
        examples=[{"env": "SOURCE_DATABASE_URL"}, "sqlite:////srv/data/crm.db"],
    )
    db_schema: str | None = Field(
        default=None, description="kind sql: the database schema of the tables.", examples=["public"]
    )
    path: str | EnvValue | None = Field(
        default=None,
        description="kind parquet/csv: folder or URL (s3://, gs://) holding `<table>.<format>`; relative paths "
        "are resolved against the data folder.",
        examples=["exports/", "s3://lake/exports"],
    )


class MlflowConfig(Strict):
    """Where models and scores are logged and registered."""

    tracking_uri: str | EnvValue | None = Field(
        default=None,
        description=(
            "MLflow tracking URI (also used as the registry URI). Default: a SQLite store "
            "`mlflow/mlflow.db` with artifacts in `mlflow/artifacts` inside the data folder."
        ),
        examples=["sqlite:////srv/mlflow/mlflow.db", {"env": "MLFLOW_TRACKING_URI"}],
    )
    experiment: str | EnvValue = Field(
        default="synthpipe",
        description="MLflow experiment that receives one run per table per Dagster run.",
        examples=["synthpipe"],
    )


class ScheduleConfig(Strict):
    """When the nightly refresh runs."""

    cron: str = Field(
        default="0 2 * * *",
        description="Cron expression of the nightly refresh, read in `timezone` (`0 2 * * *` is 02:00 daily).",
        examples=["0 2 * * *"],
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone the cron expression is read in (e.g. `UTC`, `Europe/Berlin`).",
        examples=["Europe/Berlin"],
    )
    enabled: bool = Field(
        default=True,
        description="Whether the schedule (and the change sensor) start in the running state.",
        examples=[True],
    )
    change_check_seconds: int = Field(
        default=900,
        description="Seconds between the change sensor's probes of the `refresh: on_change` tables' sources "
        "(at least 30).",
        examples=[900],
    )


class RetentionConfig(Strict):
    """How many published versions keep their data, and which old ones are kept by name."""

    keep_last: int = Field(
        default=30,
        description="Newest published versions of each table that keep their data; older, unpinned versions "
        "are vacuumed by the maintenance job (at least 1).",
        examples=[30],
    )
    pins: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per table (`<group>/<table>` for group members), named versions that are never removed.",
        examples=[{"adult": {"paper-2026": 3}}],
    )
    cron: str = Field(
        default="0 4 * * 0",
        description="Cron expression of when the maintenance job applies retention (`0 4 * * 0` is Sundays at 04:00).",
        examples=["0 4 * * 0"],
    )


class LinksConfig(Strict):
    """Where the links on assets and checks point, so that they open from the Dagster UI."""

    files_url: str | None = Field(
        default="http://127.0.0.1:3100",
        description=(
            "Address of `synthpipe serve` (started by `make ui` and `make dagster-ui`), which serves the data "
            "folder's reports and Data Docs over HTTP; links to them point there. null records file:// paths, "
            "which a browser does not open from a web page."
        ),
        examples=["http://127.0.0.1:3100", "https://synthpipe-docs.internal"],
    )
    mlflow_url: str | None = Field(
        default=None,
        description=(
            "Address of the MLflow UI, for links to runs and model versions. Default: the tracking URI when "
            "it is http(s), else http://127.0.0.1:5000 (`make mlflow-ui`)."
        ),
        examples=["http://127.0.0.1:5000", "https://mlflow.internal"],
    )


class SynthpipeConfig(Strict):
    """Everything the nightly refresh needs: source, MLflow, schedule and tables."""

    data_dir: str | None = Field(
        default=None,
        description=(
            f"Project data folder (snapshots, MLflow default store, staging). Default: ${DATA_DIR_ENV}, "
            "else `.synthpipe` in the working directory."
        ),
        examples=[".synthpipe"],
    )
    source: SourceConfig = Field(
        default_factory=SourceConfig,
        description="Where the source tables live: a DuckDB file, a SQL database, or Parquet/CSV files. Needed by "
        "`tables` and `groups`; generated sets and simulations read none.",
        examples=[{"kind": "duckdb", "database": "sources/adult.duckdb"}],
    )
    mlflow: MlflowConfig = Field(
        default_factory=MlflowConfig,
        description="MLflow tracking and registry: where every model and score is logged.",
        examples=[{"experiment": "synthpipe"}],
    )
    links: LinksConfig = Field(
        default_factory=LinksConfig,
        description="Addresses of the report server and the MLflow UI that the links on assets point to.",
        examples=[{"files_url": "http://127.0.0.1:3100", "mlflow_url": "http://127.0.0.1:5000"}],
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig,
        description="When the nightly refresh (and the change sensor) run.",
        examples=[{"cron": "0 2 * * *", "timezone": "UTC"}],
    )
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
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig,
        description="Where the steps of a refresh run: in one process (the default), one process per step, or on "
        "Celery workers (the production profile).",
        examples=[{"executor": "celery", "broker": {"env": "SYNTHPIPE_BROKER_URL"}, "source_pool_limit": 2}],
    )
    tables: list[TableConfig] = Field(
        default_factory=list,
        description="Single tables to synthesize, each with a twin of its own; a table with `sequence` is sequential.",
        examples=[[{"name": "adult", "quality_threshold": 0.75}]],
    )
    groups: list[GroupConfig] = Field(
        default_factory=list,
        description="Groups of related tables synthesized together by one relational model (HMA), published as one set.",
        examples=[
            [
                {
                    "name": "nycflights",
                    "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
                    "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}],
                }
            ]
        ],
    )
    generated: list[GeneratedConfig] = Field(
        default_factory=list,
        description="Sets of tables generated without a source, from declared distributions, categories, keys, formulas "
        "and rules (or drawn from a learned twin), published together.",
        examples=[
            [
                {
                    "name": "bank",
                    "tables": [
                        {"name": "customers", "num_rows": 1000, "columns": {"customer_id": {"sequence": {"start": 1}}, "age": {"distribution": "norm", "params": {"loc": 40, "scale": 12}}}},
                    ],
                }
            ]
        ],
    )
    simulations: list[SimulationConfig] = Field(
        default_factory=list,
        description="Agent-based simulations (Mesa models) whose collected tables are published each night.",
        examples=[[{"name": "transfers", "model": "synthpipe.simulations.transfers:TransferModel", "steps": 48}]],
    )
