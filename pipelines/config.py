"""The configuration model: what a user declares for each table, validated as a whole.

The same models back the YAML component (`pipelines.component.SynthpipeComponent`) and the
code-first factory (`pipelines.factory.build_synthpipe_defs`). `load_config` turns any accepted
input (a mapping, a YAML path or a model) into one `SynthpipeConfig`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from expectations.suites import Rule, SuiteError, UserSuite, load_suite
from pipelines.errors import ConfigError, closest

__all__ = [
    "DEFAULT_SYNTHESIZER",
    "EnvValue",
    "MlflowConfig",
    "ScheduleConfig",
    "SourceConfig",
    "SynthpipeConfig",
    "TableConfig",
    "load_config",
    "resolve_data_dir",
]

DEFAULT_SYNTHESIZER = "gaussian_copula"
# Chosen with `make bench` (bench/scale.py): see the README's benchmark section.
DEFAULT_FIT_ROWS = 50_000
DEFAULT_EVALUATION_ROWS = 20_000
DATA_DIR_ENV = "SYNTHPIPE_HOME"
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="wrap")
    @classmethod
    def _known_settings(cls, data: Any, handler: Any) -> Any:
        """Rejects unknown keys with the closest valid name, and still reports the model's other
        problems in the same message, wherever the model is loaded from (our loader, or Dagster's
        YAML component loader, which adds the file and line).
        """
        if not isinstance(data, Mapping) or cls.model_config.get("extra") != "forbid":
            return handler(data)
        known = list(cls.model_fields)
        unknown = [str(key) for key in data if key not in known]
        if not unknown:
            return handler(data)
        message = " ".join(f"unknown setting {key!r}.{closest(key, known)}" for key in unknown)
        message += f" Known settings here: {', '.join(known)}."
        try:
            handler({key: value for key, value in data.items() if key in known})
        except ValidationError as error:
            others = "; ".join(f"`{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in error.errors())
            message += f" Also: {others}."
        raise ValueError(message)


class EnvValue(_Strict):
    """A value read from an environment variable when the run starts (a Dagster `EnvVar`).

    Use it for connection strings and tracking URIs that carry credentials: the value never
    appears in the definitions, the UI, logs or MLflow.
    """

    env: str = Field(description="Name of the environment variable.", examples=["MLFLOW_TRACKING_URI"])


class SourceConfig(_Strict):
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

    def problems(self) -> list[str]:
        needed = {"duckdb": "database", "sql": "url", "parquet": "path", "csv": "path"}[self.kind]
        examples = {
            "database": "sources/adult.duckdb",
            "url": "{env: SOURCE_DATABASE_URL} or postgresql+psycopg2://reader@db:5432/prod",
            "path": "exports/ or s3://lake/exports",
        }
        problems = []
        if getattr(self, needed) is None:
            problems.append(f"source: kind {self.kind!r} needs `{needed}`, e.g. {examples[needed]}.")
        for other in {"database", "url", "path"} - {needed}:
            if getattr(self, other) is not None:
                problems.append(f"source: `{other}` does not apply to kind {self.kind!r}; it reads `{needed}`. Remove `{other}`.")
        if self.db_schema is not None and self.kind != "sql":
            problems.append(f"source: `db_schema` applies to kind 'sql' only, not {self.kind!r}.")
        return problems


class MlflowConfig(_Strict):
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


class ScheduleConfig(_Strict):
    """When the nightly refresh runs."""

    cron: str = Field(
        default="0 2 * * *",
        description="Cron expression of the refresh schedule.",
        examples=["0 2 * * *"],
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone the cron expression is read in.",
        examples=["Europe/Berlin"],
    )
    enabled: bool = Field(
        default=True,
        description="Whether the schedule (and the change sensor) start in the running state.",
        examples=[True],
    )
    change_check_seconds: int = Field(
        default=900,
        description="How often the change sensor probes the `refresh: on_change` tables' sources.",
        examples=[900],
    )


class ColumnOverride(_Strict):
    """Overrides SDV's detected metadata for one column."""

    model_config = ConfigDict(extra="allow", frozen=True)

    sdtype: Literal["numerical", "categorical", "boolean", "datetime", "id"] = Field(
        description="SDV semantic type; further keys (e.g. `datetime_format`) go to SDV as is.",
        examples=["categorical"],
    )


class SequenceConfig(_Strict):
    """Makes a table sequential: rows belong to an entity and are ordered (synthesized with PAR)."""

    entity_key: str = Field(description="Column that identifies the entity a row belongs to.", examples=["tailnum"])
    order_by: str = Field(description="Column that orders the rows within an entity.", examples=["time_hour"])
    context_columns: list[str] = Field(
        default_factory=list,
        description="Columns constant within an entity (its attributes), modelled once per sequence.",
        examples=[["carrier"]],
    )


class _Evaluated(_Strict):
    """Holdout and gate settings shared by single tables and relational groups."""

    holdout_fraction: float = Field(
        default=0.2,
        description="Share of real rows held out for evaluation only (never fitted, never published).",
        examples=[0.2],
    )
    split_seed: int = Field(
        default=0,
        description="Seed of the train/holdout split, so the split is stable across nights.",
        examples=[0],
    )
    min_utility_ratio: float = Field(
        default=0.8,
        description="Least share of the real data's holdout score a model trained on the synthetic rows must "
        "reach (gate `utility`, with `target` set).",
        examples=[0.9],
    )
    max_exact_copy_share: float = Field(
        default=0.01,
        description="Most synthetic rows that may equal a training row, as a share (gate `exact_copies`).",
        examples=[0.0],
    )
    max_dcr_closer_share: float = Field(
        default=0.6,
        description="Most synthetic rows that may be closer (DCR) to training rows than to held-out rows, as a "
        "share (gate `dcr`); about 0.5 means the model did not memorise its training rows.",
        examples=[0.55],
    )
    rare_value_min_count: int = Field(
        default=5,
        description="A value seen in fewer than this many training rows of a column is rare: no backend learns "
        "it (rare categories are replaced by learned common ones before fitting, numbers and dates are clipped "
        "to the `rare_value_min_count`-th smallest and largest values) and the `value_leaks` gate blocks a "
        "candidate that emits one. Text columns where most values are rare are refused at the source step.",
        examples=[10],
    )
    max_value_leak_share: float = Field(
        default=0.0,
        description="Most synthetic values of any one column that may be rare real values (seen in fewer than "
        "`rare_value_min_count` training rows), as a share (gate `value_leaks`).",
        examples=[0.0],
    )
    gate_severity: dict[Literal["quality", "exact_copies", "dcr", "value_leaks", "utility"], Literal["error", "warn"]] = Field(
        default_factory=dict,
        description="Per gate, `error` (blocks publication; the default) or `warn` (reports only). The `dcr` "
        "gate of a sequential table defaults to `warn`.",
        examples=[{"dcr": "warn"}],
    )

    def severity(self, gate: str) -> str:
        return self.gate_severity.get(gate, "error")  # type: ignore[call-overload]


_SAMPLING_SETTINGS = frozenset(
    {"refresh", "num_rows", "num_sequences", "seed", "sample_chunk_rows", "sample_workers", "model_name"}
)
_GATE_SETTINGS = frozenset(
    {"quality_threshold", "max_exact_copy_share", "max_value_leak_share", "max_dcr_closer_share", "min_utility_ratio", "gate_severity", "target", "evaluation_rows"}
)


def _settings_hash(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _WithSuites(_Strict):
    """A table that can carry user expectation suites (`expectation_suites`)."""

    # The parsed `expectation_suites`, attached by `load_config`.
    _suites: tuple[UserSuite, ...] = PrivateAttr(default=())

    @property
    def suites(self) -> tuple[UserSuite, ...]:
        return self._suites

    @property
    def enforced_rules(self) -> list[Rule]:
        return [rule for suite in self._suites for rule in suite.enforced_rules]

    @property
    def metadata_overrides(self) -> dict[str, dict[str, Any]]:
        """`columns` overrides, plus `categorical` for the columns of an enforced fixed
        combination that `columns` does not set (SDV combines categories, not numbers)."""
        overrides = {column: override.model_dump() for column, override in getattr(self, "columns", {}).items()}
        for rule in self.enforced_rules:
            if rule.kind == "fixed_combinations":
                for column in rule.columns:
                    overrides.setdefault(column, {"sdtype": "categorical"})
        return overrides


class TableConfig(_WithSuites, _Evaluated):
    """One source table that gets a synthetic twin."""

    name: str = Field(
        description="Table name in synthpipe: asset keys, MLflow names and the snapshot folder.",
        examples=["adult"],
    )
    source_table: str | None = Field(
        default=None,
        description="Table name in the source, when it differs from `name`.",
        examples=["census.adult"],
    )
    query: str | None = Field(
        default=None,
        description="SQL that selects the rows instead of the whole table (sql and duckdb sources).",
        examples=["SELECT * FROM adult WHERE age >= 18"],
    )
    row_limit: int | None = Field(
        default=None,
        description="Read at most this many rows from the source (pushed down as LIMIT); recorded with the version.",
        examples=[1000000],
    )
    fit_rows: int | None = Field(
        default=DEFAULT_FIT_ROWS,
        description="Fit on a seeded sample of at most this many training rows (`split_seed`); recorded with the "
        "version. `null` fits on every training row.",
        examples=[200000],
    )
    synthesizer: str | None = Field(
        default=None,
        description="Synthesizer backend: gaussian_copula, ctgan, tvae, copula_gan, argn (TabularARGN, the `argn` "
        "extra), auto (the best of `auto_candidates`), or par for sequences. Default: gaussian_copula, or par when "
        "`sequence` is set.",
        examples=["gaussian_copula"],
    )
    auto_candidates: list[str] = Field(
        default_factory=lambda: _default_candidates(),
        description="With `synthesizer: auto`: the synthesizers tried, in order, until `auto_budget_seconds` is spent. "
        "Default: gaussian_copula, argn (when the `argn` extra is installed), tvae, ctgan, copula_gan.",
        examples=[["gaussian_copula", "tvae", "ctgan"]],
    )
    auto_budget_seconds: float = Field(
        default=1800.0,
        description="With `synthesizer: auto`: no new candidate starts after this many seconds of fitting and scoring; "
        "a candidate with a training-time budget of its own (argn's `max_training_time`) gets at most what is left.",
        examples=[600],
    )
    candidate_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="With `synthesizer: auto`: constructor arguments per candidate.",
        examples=[{"tvae": {"epochs": 100}, "argn": {"max_training_time": 4}}],
    )
    sequence: SequenceConfig | None = Field(
        default=None,
        description="Declares the table sequential (an entity key and an order column); fitted with PAR.",
        examples=[{"entity_key": "tailnum", "order_by": "time_hour"}],
    )
    num_sequences: int | None = Field(
        default=None,
        description="Sequential tables: entities to sample. Default: as many as the source has.",
        examples=[500],
    )
    synthesizer_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for the synthesizer's constructor.",
        examples=[{"default_distribution": "truncnorm"}],
    )
    columns: dict[str, ColumnOverride] = Field(
        default_factory=dict,
        description="Per-column overrides of the detected SDV metadata.",
        examples=[{"education-num": {"sdtype": "categorical"}}],
    )
    exclude_columns: list[str] = Field(
        default_factory=list,
        description="Source columns left out of the synthetic twin.",
        examples=[["ssn"]],
    )
    pii: dict[str, str] = Field(
        default_factory=dict,
        description="Personal columns, never learned: each maps to the kind of value generated fresh for it "
        "(a Faker provider SDV knows: name, email, phone_number, address, company, ...).",
        examples=[{"customer_name": "name", "contact": "email"}],
    )
    expectation_suites: list[str] = Field(
        default_factory=list,
        description="User expectation suites (YAML files, relative to `expectations_dir`): GX expectations run on "
        "the source as blocking guards and on the synthetic candidate as one check per suite, and business rules "
        "the synthesizer obeys. See README, 'Data contracts'.",
        examples=[["adult.yaml"]],
    )
    num_rows: int | None = Field(
        default=None,
        description="Synthetic rows to sample. Default: as many as the source table has.",
        examples=[50000],
    )
    seed: int | None = Field(
        default=None,
        description="Sampling seed. Default: a new seed every run, recorded with the version.",
        examples=[42],
    )
    quality_threshold: float = Field(
        default=0.7,
        description="Minimum SDMetrics quality score; below it nothing is published.",
        examples=[0.75],
    )
    target: str | None = Field(
        default=None,
        description="Column a downstream model predicts. Enables the `utility` gate (train on synthetic, test on "
        "real) and the `downstream/<name>` training asset.",
        examples=["income"],
    )
    sample_chunk_rows: int = Field(
        default=50_000,
        description="Rows sampled per chunk. Each chunk has its own seed derived from `seed` and is written to "
        "staging as it comes, so memory does not grow with `num_rows`; progress is logged after each.",
        examples=[50000],
    )
    sample_workers: int | None = Field(
        default=None,
        description="Processes sampling chunks at once. Default: the machine's cores (at most 8). Torch-based "
        "synthesizers sample in one process.",
        examples=[2],
    )
    evaluation_rows: int = Field(
        default=DEFAULT_EVALUATION_ROWS,
        description="Quality, privacy, utility and the expectation suite run on a seeded sample of this many "
        "synthetic rows (and as many training and holdout rows), so evaluation time stays bounded.",
        examples=[20000],
    )
    model_name: str | None = Field(
        default=None,
        description="Registered MLflow model name. Default: `synthpipe-<name>`.",
        examples=["synthpipe-adult"],
    )
    refresh: Literal["always", "on_change"] = Field(
        default="always",
        description="`always`: refreshed by the nightly schedule (the registered model is reused when the "
        "source and the fit settings are unchanged; only a new seed is sampled). `on_change`: refreshed by the "
        "change sensor only when the source's fingerprint or the table's configuration changed.",
        examples=["on_change"],
    )

    @property
    def source_name(self) -> str:
        return self.source_table or self.name

    def severity(self, gate: str) -> str:
        """The configured severity, else `error`; except the DCR gate of a sequential table, which
        warns: its holdout is whole entities, so with few entities the row-level comparison leans
        towards training rows without any memorising (0.67 measured with 6 held-out aircraft).
        """
        if gate == "dcr" and self.sequence is not None and gate not in self.gate_severity:
            return "warn"
        return super().severity(gate)

    @property
    def generated_columns(self) -> list[str]:
        """Columns whose synthetic values are new by design (the entity key, personal columns):
        checks expect only their type and presence, and no model learns from them.
        """
        return [*([self.sequence.entity_key] if self.sequence else []), *self.pii]

    @property
    def workers(self) -> int:
        """Sampling processes: `sample_workers`, else the machine's cores (at most 8)."""
        return self.sample_workers or min(os.cpu_count() or 1, 8)

    @property
    def backend(self) -> str:
        """The synthesizer that runs: the configured one, else the default for the table's kind."""
        return self.synthesizer or ("par" if self.sequence else DEFAULT_SYNTHESIZER)

    @property
    def registered_model_name(self) -> str:
        return self.model_name or f"synthpipe-{self.name}"

    @property
    def config_fingerprint(self) -> str:
        """Hash of every setting that shapes the published table (`refresh` aside): a change
        makes the change sensor refresh an `on_change` table.
        """
        suites = [suite.fingerprint for suite in self._suites]
        return _settings_hash({**self.model_dump(mode="json", exclude={"refresh"}), "suites": suites})

    @property
    def fit_fingerprint(self) -> str:
        """Hash of the settings that shape the fitted model. Sampling and gate settings are left
        out, so changing them reuses the model; with `auto`, whose choice depends on the gates,
        only the sampling settings are.
        """
        # Suites are in `config_fingerprint`; only their enforced rules shape the model.
        left_out = _SAMPLING_SETTINGS | {"expectation_suites"} | (frozenset() if self.backend == "auto" else _GATE_SETTINGS)
        rules = [suite.rules_fingerprint for suite in self._suites if suite.rules_fingerprint]
        return _settings_hash({**self.model_dump(mode="json", exclude=left_out), **({"rules": rules} if rules else {})})


class ForeignKeyConfig(_Strict):
    """One relationship of a table group: `child.child_key` points at `parent.parent_key`."""

    parent: str = Field(description="Parent table (a table of this group).", examples=["planes"])
    parent_key: str | list[str] = Field(description="Parent's primary key column.", examples=["tailnum"])
    child: str = Field(description="Child table (a table of this group).", examples=["flights"])
    child_key: str | list[str] = Field(description="Child's foreign key column.", examples=["tailnum"])

    def label(self) -> str:
        return f"{self.child}.{self.child_key} -> {self.parent}.{self.parent_key}"


class GroupTableConfig(_WithSuites):
    """One table of a relational group."""

    name: str = Field(description="Table name in synthpipe (asset key part, Delta folder).", examples=["flights"])
    source_table: str | None = Field(default=None, description="Table name in the source, when it differs.", examples=["raw_flights"])
    query: str | None = Field(default=None, description="SQL selecting the rows instead of the whole table.", examples=["SELECT * FROM flights WHERE month = 1"])
    row_limit: int | None = Field(default=None, description="Read at most this many rows.", examples=[5000])
    primary_key: str | list[str] | None = Field(default=None, description="Primary key column; default: detected by SDV.", examples=["tailnum"])
    exclude_columns: list[str] = Field(default_factory=list, description="Columns left out.", examples=[["speed"]])
    columns: dict[str, ColumnOverride] = Field(default_factory=dict, description="Per-column SDV metadata overrides.", examples=[{"engines": {"sdtype": "categorical"}}])
    pii: dict[str, str] = Field(
        default_factory=dict,
        description="Personal columns and the Faker provider that generates them fresh (never learned), as for single tables.",
        examples=[{"name": "company"}],
    )
    expectation_suites: list[str] = Field(
        default_factory=list,
        description="User expectation suites of this table (YAML files, relative to `expectations_dir`), as for single tables.",
        examples=[["flights.yaml"]],
    )

    @property
    def source_name(self) -> str:
        return self.source_table or self.name


class GroupTarget(_Strict):
    """The column a downstream model predicts, in one child table of a group."""

    table: str = Field(description="A child table of the group (it has a holdout).", examples=["flights"])
    column: str = Field(description="The column to predict.", examples=["arr_delay"])


class GroupConfig(_Evaluated):
    """Related tables synthesized together by one relational model (SDV's HMA), so that every
    foreign key of the synthetic set resolves. Published as one set: all tables or none.
    """

    name: str = Field(description="Group name: asset keys `<stage>/<name>`, Delta folder, MLflow model.", examples=["nycflights"])
    tables: list[GroupTableConfig] = Field(description="The tables of the group (at most 5 for HMA).")
    foreign_keys: list[ForeignKeyConfig] = Field(
        default_factory=list,
        description="Relationships. Default: detected by SDV (logged to MLflow so they can be copied here and edited).",
        examples=[[{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]],
    )
    orphans: Literal["error", "drop", "null"] = Field(
        default="error",
        description="Child rows whose foreign key has no parent: `error` stops the run, `drop` removes them, "
        "`null` empties their key. Counts are recorded either way.",
        examples=["drop"],
    )
    synthesizer: Literal["hma"] = Field(default="hma", description="Relational synthesizer.", examples=["hma"])
    synthesizer_params: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for the synthesizer.", examples=[{"verbose": False}])
    scale: float = Field(default=1.0, description="Synthetic size relative to the source (`sample_scale`).", examples=[1.0])
    seed: int | None = Field(default=None, description="Sampling seed; default a new one each run, recorded.", examples=[42])
    quality_threshold: float = Field(default=0.6, description="Minimum multi-table SDMetrics quality score.", examples=[0.7])
    target: GroupTarget | None = Field(
        default=None,
        description="Column a downstream model predicts, in a child table: enables the `utility` gate.",
        examples=[{"table": "flights", "column": "arr_delay"}],
    )
    model_name: str | None = Field(default=None, description="Registered MLflow model name; default `synthpipe-<name>`.", examples=["synthpipe-nycflights"])

    @property
    def registered_model_name(self) -> str:
        return self.model_name or f"synthpipe-{self.name}"

    @property
    def backend(self) -> str:
        return self.synthesizer


class RetentionConfig(_Strict):
    """How many published versions keep their data, and which old ones are kept by name."""

    keep_last: int = Field(default=30, description="Newest versions of each table that keep their data.", examples=[30])
    pins: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per table (`<group>/<table>` for group members), named versions that are never removed.",
        examples=[{"adult": {"paper-2026": 3}}],
    )
    cron: str = Field(default="0 4 * * 0", description="When the maintenance job applies retention.", examples=["0 4 * * 0"])


class SynthpipeConfig(_Strict):
    """Everything the nightly refresh needs: source, MLflow, schedule and tables."""

    data_dir: str | None = Field(
        default=None,
        description=(
            f"Project data folder (snapshots, MLflow default store, staging). Default: ${DATA_DIR_ENV}, "
            "else `.synthpipe` in the working directory."
        ),
        examples=[".synthpipe"],
    )
    source: SourceConfig = Field(description="Where the source tables live.")
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig, description="MLflow tracking and registry.")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="Nightly schedule.")
    retention: RetentionConfig = Field(default_factory=RetentionConfig, description="Retention of published versions.")
    expectations_dir: str | None = Field(
        default=None,
        description="Folder the tables' `expectation_suites` are read from. Default: synthpipe's `expectations/` folder.",
        examples=["expectations"],
    )
    tables: list[TableConfig] = Field(default_factory=list, description="Single tables to synthesize.")
    groups: list[GroupConfig] = Field(default_factory=list, description="Groups of related tables to synthesize together.")


def resolve_data_dir(data_dir: str | None) -> Path:
    """The data folder: the configured one, else $SYNTHPIPE_HOME, else `./.synthpipe`."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or ".synthpipe"
    return Path(chosen).expanduser().resolve()


def _table_problems(table: TableConfig, known_synthesizers: tuple[str, ...]) -> list[str]:
    where = f"table {table.name!r}"
    problems = []
    if not _NAME_PATTERN.match(table.name):
        problems.append(
            f"{where}: `name` must be letters, digits and underscores (it becomes an asset key); "
            f"got {table.name!r}. Keep the real name in `source_table`."
        )
    names = (*known_synthesizers, "auto")
    if table.backend not in names:
        problems.append(
            f"{where}: unknown `synthesizer` {table.backend!r}; choose one of "
            f"{', '.join(names)}.{closest(table.backend, names)}"
        )
    problems += _auto_problems(table, where, known_synthesizers)
    problems += _engine_problems(table, where)
    problems += _sequence_problems(table, where)
    problems += _evaluated_problems(table, where)
    if table.target is not None and table.target in table.exclude_columns + list(table.pii):
        problems.append(f"{where}: `target` {table.target!r} is excluded or personal; a model cannot learn to predict it.")
    if table.num_rows is not None and table.num_rows < 1:
        problems.append(f"{where}: `num_rows` must be at least 1; got {table.num_rows}. Omit it to match the source.")
    for setting in ("row_limit", "fit_rows"):
        value = getattr(table, setting)
        if value is not None and value < 1:
            problems.append(f"{where}: `{setting}` must be at least 1; got {value}. Omit it to use every row.")
    if table.sample_chunk_rows < 1:
        problems.append(f"{where}: `sample_chunk_rows` must be at least 1; got {table.sample_chunk_rows}.")
    if table.sample_workers is not None and table.sample_workers < 1:
        problems.append(f"{where}: `sample_workers` must be at least 1; got {table.sample_workers}. Omit it to use every core.")
    if table.evaluation_rows < 100:
        problems.append(f"{where}: `evaluation_rows` must be at least 100; got {table.evaluation_rows}. The default is {DEFAULT_EVALUATION_ROWS}.")
    overlap = sorted((set(table.columns) | set(table.pii)) & set(table.exclude_columns)) + sorted(set(table.columns) & set(table.pii))
    if overlap:
        problems.append(
            f"{where}: columns {overlap} are declared twice among `columns`, `pii` and `exclude_columns`; keep one."
        )
    return problems


def _evaluated_problems(settings: "_Evaluated", where: str) -> list[str]:
    problems = []
    if not 0.0 < settings.holdout_fraction < 1.0:
        problems.append(
            f"{where}: `holdout_fraction` must be between 0 and 1 (exclusive); got {settings.holdout_fraction}. "
            "0.2 holds out a fifth of the rows for evaluation."
        )
    for setting in ("quality_threshold", "max_exact_copy_share", "max_dcr_closer_share", "max_value_leak_share", "min_utility_ratio"):
        value = getattr(settings, setting)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{where}: `{setting}` must be between 0 and 1; got {value}.")
    if settings.rare_value_min_count < 1:
        problems.append(
            f"{where}: `rare_value_min_count` must be at least 1; got {settings.rare_value_min_count}. "
            "1 treats no value as rare (no protection); the default 5 keeps values seen in fewer than 5 rows out of the model."
        )
    return problems


def _default_candidates() -> list[str]:
    from resources.argn import engine_available

    return ["gaussian_copula", *(["argn"] if engine_available() else []), "tvae", "ctgan", "copula_gan"]


def _engine_problems(table: TableConfig, where: str) -> list[str]:
    """TabularARGN named without its extra installed: the fix is an install line."""
    wanted = table.auto_candidates if table.backend == "auto" else [table.backend]
    if "argn" not in wanted:
        return []
    from resources.argn import INSTALL_HINT, engine_available

    if engine_available():
        return []
    return [f"{where}: synthesizer 'argn' (TabularARGN) is not installed; {INSTALL_HINT}, or choose another synthesizer."]


def _auto_problems(table: TableConfig, where: str, known_synthesizers: tuple[str, ...]) -> list[str]:
    single = [n for n in known_synthesizers if n != "par"]
    problems = [
        f"{where}: `auto_candidates` names {name!r}, which `auto` cannot fit; choose from {', '.join(single)}.{closest(name, single)}"
        for name in table.auto_candidates
        if name not in single
    ]
    if table.backend == "auto" and not table.auto_candidates:
        problems.append(f"{where}: `synthesizer: auto` needs at least one of `auto_candidates`.")
    unknown = sorted(set(table.candidate_params) - set(table.auto_candidates))
    if unknown:
        problems.append(f"{where}: `candidate_params` for {unknown}, which are not in `auto_candidates` {table.auto_candidates}.")
    if table.auto_budget_seconds <= 0:
        problems.append(f"{where}: `auto_budget_seconds` must be above 0; got {table.auto_budget_seconds}.")
    if table.backend == "auto" and table.sequence is not None:
        problems.append(f"{where}: `auto` chooses among single-table synthesizers; a sequential table uses 'par'.")
    return problems


def _sequence_problems(table: TableConfig, where: str) -> list[str]:
    if table.sequence is None:
        problems = []
        if table.backend == "par":
            problems.append(f"{where}: synthesizer 'par' needs `sequence: {{entity_key: ..., order_by: ...}}`.")
        if table.num_sequences is not None:
            problems.append(f"{where}: `num_sequences` applies to sequential tables; use `num_rows`, or declare `sequence`.")
        return problems
    problems = []
    if table.backend != "par":
        problems.append(f"{where}: a sequential table is synthesized with 'par', not {table.backend!r}; remove `synthesizer`.")
    if table.num_rows is not None:
        problems.append(f"{where}: a sequential table samples whole sequences; use `num_sequences` instead of `num_rows`.")
    if table.fit_rows is not None and "fit_rows" in table.model_fields_set:
        problems.append(f"{where}: `fit_rows` would cut sequences apart; cap a sequential table with `row_limit` or a `query`.")
    if table.num_sequences is not None and table.num_sequences < 1:
        problems.append(f"{where}: `num_sequences` must be at least 1; got {table.num_sequences}.")
    keys = {table.sequence.entity_key, table.sequence.order_by}
    clash = sorted(keys & set(table.sequence.context_columns))
    if len(keys) < 2 or clash:
        problems.append(f"{where}: `sequence` needs distinct entity_key, order_by and context columns; got {table.sequence.model_dump()}.")
    return problems


def _duplicate_problems(names: list[str]) -> list[str]:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    return [f"table {name!r} is declared twice; table names must be unique." for name in duplicates]


def _problems_of_valid_tables(raw: Mapping[str, Any], known_synthesizers: tuple[str, ...]) -> list[str]:
    """When the configuration as a whole does not parse, still check each table that does, so
    one run of the loader lists every problem.
    """
    tables = raw.get("tables")
    if not isinstance(tables, list):
        return []
    names = [t.get("name") for t in tables if isinstance(t, Mapping) and isinstance(t.get("name"), str)]
    problems = _duplicate_problems(names)
    for entry in tables:
        if not isinstance(entry, Mapping):
            continue
        try:  # unknown keys are already reported; check what is left
            table = TableConfig.model_validate({k: v for k, v in entry.items() if k in TableConfig.model_fields})
        except ValidationError:
            continue  # already reported with its location
        problems += _table_problems(table, known_synthesizers)
    return problems


HMA_MAX_TABLES = 5
_HMA_OPTIONS = "split the group into smaller groups, drop a table from it, or synthesize some tables on their own under `tables`"


def _group_problems(group: GroupConfig) -> list[str]:
    where = f"group {group.name!r}"
    problems = []
    names = [t.name for t in group.tables]
    for name in [group.name, *names]:
        if not _NAME_PATTERN.match(name):
            problems.append(f"{where}: name {name!r} must be letters, digits and underscores (it becomes an asset key).")
    problems += [f"{where}: {p}" for p in _duplicate_problems(names)]
    if len(names) < 2:
        problems.append(f"{where}: a group needs at least two related tables; declare a single table under `tables`.")
    if len(names) > HMA_MAX_TABLES:
        problems.append(f"{where}: has {len(names)} tables; HMA models at most {HMA_MAX_TABLES}. Options: {_HMA_OPTIONS}.")
    for table in group.tables:
        if isinstance(table.primary_key, list) and len(table.primary_key) > 1:
            problems.append(f"{where}: table {table.name!r} has a composite primary key {table.primary_key}; {_COMPOSITE_FIX}")
    for fk in group.foreign_keys:
        for end in (fk.parent, fk.child):
            if end not in names:
                problems.append(f"{where}: foreign key {fk.label()} names table {end!r}, which is not in the group.{closest(end, names)}")
        if any(isinstance(k, list) and len(k) > 1 for k in (fk.parent_key, fk.child_key)):
            problems.append(f"{where}: foreign key {fk.label()} is composite; {_COMPOSITE_FIX}")
    depth = _depth(group)
    if depth is None:
        problems.append(f"{where}: its foreign keys form a cycle; relational synthesizers need a tree of parents and children.")
    elif depth > 1:
        problems.append(
            f"{where}: relationships are {depth} levels deep (a parent's child has children); HMA handles one level. Options: {_HMA_OPTIONS}."
        )
    if group.scale <= 0:
        problems.append(f"{where}: `scale` must be above 0; got {group.scale}. 1.0 keeps the source's size.")
    problems += _evaluated_problems(group, where)
    children = {fk.child for fk in group.foreign_keys}
    if group.target is not None and group.foreign_keys and group.target.table not in children:
        problems.append(
            f"{where}: `target.table` {group.target.table!r} must be a child table (only child tables have a holdout); "
            f"children here: {', '.join(sorted(children)) or '(none)'}."
        )
    return problems


_COMPOSITE_FIX = (
    "SDV's relational synthesizers need single-column keys. Add a surrogate key column (for example in a "
    "`query` that concatenates the columns) or leave the table out of the group."
)


def _depth(group: GroupConfig) -> int | None:
    """Longest chain of parent -> child edges, or None when the edges form a cycle."""
    children: dict[str, set[str]] = {}
    for fk in group.foreign_keys:
        if fk.parent != fk.child:
            children.setdefault(fk.parent, set()).add(fk.child)
        else:
            return None

    def longest(node: str, seen: frozenset[str]) -> int | None:
        best = 0
        for child in children.get(node, ()):
            if child in seen:
                return None
            below = longest(child, seen | {child})
            if below is None:
                return None
            best = max(best, below + 1)
        return best

    depths = [longest(t.name, frozenset({t.name})) for t in group.tables]
    return None if any(d is None for d in depths) else max(depths, default=0)


def _semantic_problems(config: SynthpipeConfig, known_synthesizers: tuple[str, ...]) -> list[str]:
    names = [table.name for table in config.tables] + [group.name for group in config.groups]
    problems = config.source.problems() + _duplicate_problems(names)
    if not names:
        problems.append("nothing to synthesize: declare at least one entry under `tables` or `groups`.")
    for group in config.groups:
        problems += _group_problems(group)
    if config.source.kind in ("parquet", "csv"):
        problems += [
            f"table {t.name!r}: `query` needs a sql or duckdb source; a {config.source.kind} source reads whole files."
            for t in config.tables
            if t.query is not None
        ]
    for table in config.tables:
        problems += _table_problems(table, known_synthesizers)
    try:
        zoneinfo.ZoneInfo(config.schedule.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"schedule: unknown `timezone` {config.schedule.timezone!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'."
        )
    from dagster._utils.schedules import is_valid_cron_string

    if config.retention.keep_last < 1:
        problems.append(f"retention: `keep_last` must be at least 1; got {config.retention.keep_last}.")
    if not is_valid_cron_string(config.retention.cron):
        problems.append(f"retention: `cron` {config.retention.cron!r} is not a valid cron expression; e.g. '0 4 * * 0' is Sundays at 04:00.")
    if config.schedule.change_check_seconds < 30:
        problems.append(
            f"schedule: `change_check_seconds` {config.schedule.change_check_seconds} is too short; probe the sources "
            "at most every 30 seconds (default 900)."
        )
    if not is_valid_cron_string(config.schedule.cron):
        problems.append(
            f"schedule: `cron` {config.schedule.cron!r} is not a valid cron expression; e.g. '0 2 * * *' is 02:00 daily."
        )
    return problems


def _location(loc: tuple[Any, ...], raw: Mapping[str, Any]) -> str:
    """Names a pydantic error location the way a user reads their YAML: table 'adult', field x."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] in ("tables", "groups") and isinstance(parts[1], int):
        entries = raw.get(parts[0]) or []
        index = parts[1]
        entry = entries[index] if index < len(entries) else None
        name = entry.get("name") if isinstance(entry, Mapping) else None
        kind = "table" if parts[0] == "tables" else "group"
        label = f"{kind} {name!r}" if name else f"{parts[0]}[{index}]"
        rest = ".".join(str(p) for p in parts[2:])
        return f"{label}: `{rest}`" if rest else label
    return "`" + ".".join(str(p) for p in parts) + "`"


def _pydantic_problems(error: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for item in error.errors():
        where = _location(item["loc"], raw)
        if item["type"] == "missing":
            problems.append(f"{where} is required but missing.")
        elif item["type"] == "value_error":
            problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{where}: {item['msg']} (got {item.get('input')!r}).")
    return problems


def load_config(
    value: SynthpipeConfig | Mapping[str, Any] | str | Path,
    known_synthesizers: tuple[str, ...] | None = None,
) -> SynthpipeConfig:
    """Turns a model, a mapping or a YAML file into one validated `SynthpipeConfig`.

    Every problem in the configuration is collected and raised once as a `ConfigError`.

    Args:
        value: A `SynthpipeConfig`, a mapping of the same shape, or a path to a YAML file.
        known_synthesizers: Valid synthesizer names; defaults to the backend registry.

    Examples:
        >>> cfg = load_config({"source": {"database": "a.duckdb"}, "tables": [{"name": "adult"}]})
        >>> cfg.tables[0].synthesizer
        'gaussian_copula'
    """
    if known_synthesizers is None:
        from resources.synthesizers import SYNTHESIZER_NAMES

        known_synthesizers = SYNTHESIZER_NAMES
    raw: Mapping[str, Any]
    if isinstance(value, SynthpipeConfig):
        config = value
    else:
        if isinstance(value, (str, Path)):
            raw = _read_yaml(Path(value))
        else:
            raw = value
        # Top-level typos are reported here so that they do not hide the tables' own problems.
        known = list(SynthpipeConfig.model_fields)
        problems = [
            f"`{key}` is not a known setting.{closest(str(key), known)} Known settings: {', '.join(known)}."
            for key in raw
            if key not in known
        ]
        raw = {key: value for key, value in raw.items() if key in known}
        try:
            config = SynthpipeConfig.model_validate(raw)
        except ValidationError as error:
            problems += _pydantic_problems(error, raw) + _problems_of_valid_tables(raw, known_synthesizers)
        if problems:
            raise ConfigError(problems)
    problems = _semantic_problems(config, known_synthesizers) + _attach_suites(config)
    if problems:
        raise ConfigError(problems)
    return config


def expectations_dir(config: SynthpipeConfig) -> Path:
    """Where relative `expectation_suites` paths are read from."""
    if config.expectations_dir is None:
        return Path(__file__).resolve().parent.parent / "expectations"
    return Path(config.expectations_dir).expanduser().resolve()


def _attach_suites(config: SynthpipeConfig) -> list[str]:
    """Reads each table's suite files (every problem, with file and entry) and attaches them."""
    problems: list[str] = []
    folder = expectations_dir(config)
    members = [(f"table {t.name!r}", t) for t in config.tables]
    members += [(f"group {g.name!r}, table {t.name!r}", t) for g in config.groups for t in g.tables]
    for where, table in members:
        if table._suites:  # already read: a validated config passed through `load_config` again
            continue
        suites = []
        for name in table.expectation_suites:
            path = Path(name).expanduser()
            try:
                suites.append(load_suite(path if path.is_absolute() else folder / path))
            except SuiteError as error:
                problems += [f"{where}: {problem}" for problem in error.problems]
        names = [suite.name for suite in suites]
        problems += [f"{where}: two suites are named {n!r}; give each file its own `suite` name." for n in sorted({n for n in names if names.count(n) > 1})]
        problems += _rule_problems(table, suites, where)
        table._suites = tuple(suites)
    return problems


def _rule_problems(table: _WithSuites, suites: list[UserSuite], where: str) -> list[str]:
    enforced = [rule for suite in suites for rule in suite.enforced_rules]
    if enforced and getattr(table, "sequence", None) is not None:
        return [f"{where}: rules are enforced by SDV's single-table constraints, not by PAR; set `enforce: false` on {enforced[0].where} to check it only."]
    return []


def _read_yaml(path: Path) -> Mapping[str, Any]:
    if not path.exists():
        raise ConfigError([f"configuration file {str(path)!r} does not exist; check the path."])
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {error}"]) from None
    if not isinstance(loaded, Mapping):
        raise ConfigError([f"{path}: expected a mapping with `source` and `tables`, got {type(loaded).__name__}."])
    return loaded
