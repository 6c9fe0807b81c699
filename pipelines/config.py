"""The configuration model: what a user declares for each table, validated as a whole.

The same models back the YAML component (`synthpipe.SynthpipeComponent`) and the
code-first factory (`synthpipe.factory.build_synthpipe_defs`). `load_config` turns any accepted
input (a mapping, a YAML path or a model) into one `SynthpipeConfig`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from synthpipe.expectations.suites import Rule, UserSuite
from synthpipe.errors import closest

__all__ = [
    "DEFAULT_SYNTHESIZER",
    "EnvValue",
    "MlflowConfig",
    "ScheduleConfig",
    "SourceConfig",
    "SynthpipeConfig",
    "TableConfig",
    "expectations_dir",
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


def _default_candidates() -> list[str]:
    from synthpipe.resources.argn import engine_available

    return ["gaussian_copula", *(["argn"] if engine_available() else []), "tvae", "ctgan", "copula_gan"]


# Validation of a whole configuration lives in its own module; it needs every model above, so it
# is imported last and re-exported here, where callers have always found it.
from synthpipe.validation import expectations_dir, load_config  # noqa: E402
