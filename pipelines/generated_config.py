"""Tables without a source: generated from declarations (`generated:`) or simulated by an
agent-based model (`simulations:`).

A *generated set* declares one or more tables column by column (a `scipy.stats` distribution,
weighted categories, a Faker provider, a key sequence, a formula of other columns, or a column
drawn from a published twin), with rules every row must meet, correlations between numeric
columns (a Gaussian copula over the declared marginals) and parent -> child relationships
(children per parent drawn from a distribution). A *simulation* runs a Mesa model and publishes
its data collector's tables. Both are generated each night with a recorded seed, checked,
published as Delta versions and logged to MLflow like every other table. Semantic checks (that
a distribution exists, that its parameters are valid, that some row can meet every rule) are
`synthpipe.generated_validation`'s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr

from synthpipe.config_base import Strict, settings_hash
from synthpipe.contracts import UserSuite
from synthpipe.shared_config import WithSuites

__all__ = [
    "ColumnSpec",
    "CorrelationConfig",
    "CountConfig",
    "GeneratedConfig",
    "GeneratedRule",
    "GeneratedTableConfig",
    "ParentConfig",
    "SequenceSpec",
    "SimulationConfig",
    "TwinColumn",
]

GENERATOR = "generator"
SIMULATOR = "mesa"
# The tables a Mesa data collector always has; any other name is one of its `tables`.
MODEL_TABLE = "model"
AGENTS_TABLE = "agents"


class SequenceSpec(Strict):
    """A key: consecutive integers, or strings when `format` is set."""

    start: int = Field(default=1, description="The first key value.", examples=[1000])
    step: int = Field(default=1, description="Difference between consecutive values (not 0).", examples=[1])
    format: str | None = Field(
        default=None, description="Python format of a string key, with `{}` for the number.", examples=["C{:06d}"]
    )


class TwinColumn(Strict):
    """A column drawn from a published twin: each row takes a row of the twin's latest version,
    so several columns naming one twin keep its rows' joint values."""

    table: str = Field(description="A table under `tables:` (learned each night in the same run, before this set).", examples=["adult"])
    column: str = Field(description="The twin's column.", examples=["age"])


class ColumnSpec(Strict):
    """How one column is generated: exactly one of `distribution`, `categories`, `faker`,
    `sequence`, `formula` or `twin`."""

    distribution: str | None = Field(
        default=None,
        description="A `scipy.stats` distribution name (`norm`, `lognorm`, `gamma`, `poisson`, ...), with `params`. "
        "Discrete distributions give integers.",
        examples=["lognorm"],
    )
    params: dict[str, float] = Field(
        default_factory=dict,
        description="The distribution's parameters as `scipy.stats` names them, `loc` and `scale` included.",
        examples=[{"s": 0.8, "scale": 250.0}],
    )
    categories: dict[str | int | bool, float] | None = Field(
        default=None,
        description="Values and their weights (any positive numbers; shares are the weights over their sum).",
        examples=[{"retail": 0.7, "business": 0.3}],
    )
    faker: str | None = Field(
        default=None,
        description="A Faker provider (`name`, `email`, `iban`, `city`, ...): made-up values, never real ones.",
        examples=["iban"],
    )
    locale: str = Field(default="en_US", description="Faker locale of a `faker` column.", examples=["de_DE"])
    sequence: SequenceSpec | None = Field(
        default=None, description="A key: unique consecutive values.", examples=[{"start": 1, "format": "C{:06d}"}]
    )
    formula: str | None = Field(
        default=None,
        description="A pandas expression of the table's other columns (`DataFrame.eval`), computed after them.",
        examples=["balance * 0.01"],
    )
    twin: TwinColumn | None = Field(
        default=None, description="Drawn from a published twin's rows.", examples=[{"table": "adult", "column": "age"}]
    )
    round: int | None = Field(
        default=None,
        description="Decimals to round a `distribution` or `formula` column to; 0 makes integers.",
        examples=[2],
    )
    null_share: float = Field(default=0.0, description="Share of rows left empty, between 0 and 1.", examples=[0.05])

    def source(self) -> str:
        """Which of the exclusive settings is set (validation makes it exactly one)."""
        set_ = [name for name in ("distribution", "categories", "faker", "sequence", "formula", "twin") if getattr(self, name) is not None]
        return set_[0] if set_ else ""


class CountConfig(Strict):
    """How many children each parent row has: a discrete distribution (or a continuous one,
    rounded down), never below 0."""

    distribution: str = Field(description="A `scipy.stats` distribution name.", examples=["poisson"])
    params: dict[str, float] = Field(
        default_factory=dict, description="The distribution's parameters as `scipy.stats` names them.", examples=[{"mu": 3.0}]
    )


class ParentConfig(Strict):
    """A child table's parent in the same set: each parent row gets `count` children, whose
    `column` holds the parent's `key`."""

    table: str = Field(description="The parent table (declared before this one).", examples=["customers"])
    key: str = Field(description="The parent's key column (a `sequence` or `faker` column).", examples=["customer_id"])
    column: str | None = Field(default=None, description="The child's foreign key column; default: `key`.", examples=["owner_id"])
    count: CountConfig = Field(description="Children per parent row.", examples=[{"distribution": "poisson", "params": {"mu": 2}}])

    @property
    def child_column(self) -> str:
        return self.column or self.key


class CorrelationConfig(Strict):
    """Rank correlation between two numeric `distribution` columns, through a Gaussian copula:
    each keeps its declared distribution."""

    columns: tuple[str, str] = Field(description="Two `distribution` columns of the table.", examples=[["age", "income"]])
    rho: float = Field(
        description="Correlation of the copula's normal scores, between -1 and 1 (exclusive); the Spearman rank "
        "correlation of the columns is 6/pi * asin(rho/2).",
        examples=[0.6],
    )


class GeneratedRule(Strict):
    """A rule every generated row meets (rows that break one are drawn again), checked on every
    row by Great Expectations: exactly one of the four."""

    inequality: dict[str, Any] | None = Field(
        default=None,
        description="`{low, high, strict}`: `high` is never below `low` (as in data contracts).",
        examples=[{"low": "opened", "high": "closed"}],
    )
    range: dict[str, Any] | None = Field(
        default=None,
        description="`{low, middle, high, strict}`: `low` <= `middle` <= `high` (strict by default).",
        examples=[{"low": "min_balance", "middle": "balance", "high": "limit"}],
    )
    fixed_combinations: dict[str, Any] | None = Field(
        default=None,
        description="`{columns, combinations}`: only the listed combinations of the columns' values occur.",
        examples=[{"columns": ["country", "currency"], "combinations": [["DE", "EUR"], ["US", "USD"]]}],
    )
    conditional: dict[str, Any] | None = Field(
        default=None,
        description="`{when: {column: value}, column, categories}`: where every `when` value matches, `column` "
        "is drawn from these weighted `categories` instead of its own.",
        examples=[{"when": {"segment": "business"}, "column": "product", "categories": {"loan": 0.6, "checking": 0.4}}],
    )

    def kind(self) -> str:
        set_ = [name for name in ("inequality", "range", "fixed_combinations", "conditional") if getattr(self, name) is not None]
        return set_[0] if set_ else ""

    def body(self) -> dict[str, Any]:
        return getattr(self, self.kind()) or {}


class GeneratedTableConfig(WithSuites):
    """One generated table."""

    name: str = Field(description="Table name (asset key part `<set>/<name>`, Delta folder).", examples=["customers"])
    num_rows: int | None = Field(
        default=None, description="Rows each night; a child table's come from its parent's `count`.", examples=[10000]
    )
    parent: ParentConfig | None = Field(
        default=None,
        description="The parent table this one's rows belong to.",
        examples=[{"table": "customers", "key": "customer_id", "count": {"distribution": "poisson", "params": {"mu": 2}}}],
    )
    columns: dict[str, ColumnSpec] = Field(
        description="Each column and how it is generated, in order.",
        examples=[{"customer_id": {"sequence": {"start": 1}}, "age": {"distribution": "norm", "params": {"loc": 40, "scale": 12}}}],
    )
    correlations: list[CorrelationConfig] = Field(
        default_factory=list, description="Rank correlations between numeric columns.", examples=[[{"columns": ["age", "income"], "rho": 0.5}]]
    )
    rules: list[GeneratedRule] = Field(
        default_factory=list,
        description="Rules every row meets.",
        examples=[[{"inequality": {"low": "opened", "high": "closed"}}]],
    )
    expectation_suites: list[str] = Field(
        default_factory=list,
        description="User suite files (as for source tables) run on every generated row.",
        examples=[["accounts.yaml"]],
    )


class GeneratedConfig(Strict):
    """A set of generated tables, published together (all or none)."""

    name: str = Field(description="The set's name (asset group, MLflow run and model).", examples=["bank"])
    tables: list[GeneratedTableConfig] = Field(description="The tables, parents before their children.", examples=[[{"name": "customers", "num_rows": 1000, "columns": {"customer_id": {"sequence": {}}}}]])
    seed: int | None = Field(
        default=None,
        description="Seed of every night's draw; default: a new one each night, recorded with the version (what "
        "`synthpipe reproduce` replays).",
        examples=[7],
    )
    significance: float = Field(
        default=0.001,
        description="Level of the goodness-of-fit tests (Kolmogorov-Smirnov, chi-squared): a declared "
        "distribution fails its check when p is below it. A correct generator still fails one test in "
        "1/significance.",
        examples=[0.01],
    )
    quality_threshold: float = Field(
        default=0.9,
        description="Least mean fit of the generated columns to their declarations (1 - KS statistic, 1 - total "
        "variation distance; gate `fit`).",
        examples=[0.95],
    )
    gate_severity: dict[Literal["fit", "distributions", "correlations", "rules", "keys"], Literal["error", "warn"]] = Field(
        default_factory=dict,
        description="Per check (`fit`, `distributions`, `correlations`, `rules`, `keys`), `error` (blocks publication; "
        "the default) or `warn`.",
        examples=[{"distributions": "warn"}],
    )
    max_rejected_share: float = Field(
        default=0.5,
        description="Most rows that may break a rule and be drawn again, as a share; more means the rules cut deep "
        "into the declared distributions, and the run stops.",
        examples=[0.2],
    )
    model_name: str | None = Field(default=None, description="Registered MLflow model name; default `synthpipe-<name>`.", examples=["synthpipe-bank"])

    @property
    def registered_model_name(self) -> str:
        return self.model_name or f"synthpipe-{self.name}"

    @property
    def backend(self) -> str:
        return GENERATOR

    @property
    def twins(self) -> list[str]:
        """The learned tables whose published twins this set draws from."""
        return list(dict.fromkeys(c.twin.table for t in self.tables for c in t.columns.values() if c.twin is not None))

    @property
    def fingerprint(self) -> str:
        """What a registered generator was made from: every setting that changes the rows."""
        return settings_hash(self.model_dump(mode="json", exclude={"seed", "gate_severity", "quality_threshold", "significance", "model_name"}))

    def severity(self, gate: str) -> str:
        return self.gate_severity.get(gate, "error")  # type: ignore[call-overload]

    def table(self, name: str) -> GeneratedTableConfig:
        return next(t for t in self.tables if t.name == name)


class SimulationConfig(Strict):
    """An agent-based simulation: a Mesa model run for `steps` steps with a recorded seed, its
    data collector's tables published together."""

    name: str = Field(description="The simulation's name (asset group, MLflow run and model).", examples=["transfers"])
    model: str = Field(
        description="The Mesa model class, `module:Class` (importable where the refresh runs). Its constructor takes "
        "`parameters` as keywords and `rng` (the seed); it has a `datacollector`.",
        examples=["synthpipe.simulations.transfers:TransferModel"],
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the model's constructor.", examples=[{"accounts": 500, "fraud_share": 0.02}]
    )
    steps: int = Field(description="Steps run each night (at least 1).", examples=[48])
    seed: int | None = Field(default=None, description="Seed of the run; default: a new one each night, recorded.", examples=[7])
    tables: list[str] = Field(
        default_factory=list,
        description="The data collector's tables to publish: `model` (model reporters, one row per step), `agents` "
        "(agent reporters, one row per agent and step) or a name of its `tables`. Default: `model` and `agents`.",
        examples=[["transactions", "model"]],
    )
    expectation_suites: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per published table, user suite files (its data contract) run on every row; a failed one blocks.",
        examples=[{"transactions": ["transfers.yaml"]}],
    )
    model_name: str | None = Field(default=None, description="Registered MLflow model name; default `synthpipe-<name>`.", examples=["synthpipe-transfers"])

    # The parsed `expectation_suites` per table, attached by `synthpipe.validation.load_config`.
    _suites: dict[str, tuple[UserSuite, ...]] = PrivateAttr(default_factory=dict)

    def suites_of(self, table: str) -> tuple[UserSuite, ...]:
        return self._suites.get(table, ())

    @property
    def registered_model_name(self) -> str:
        return self.model_name or f"synthpipe-{self.name}"

    @property
    def backend(self) -> str:
        return SIMULATOR

    @property
    def published_tables(self) -> list[str]:
        return list(self.tables) or [MODEL_TABLE, AGENTS_TABLE]

    @property
    def quality_threshold(self) -> float:
        """A simulation's score is the share of its contract's expectations met; all of them must be."""
        return 1.0

    @property
    def fingerprint(self) -> str:
        return settings_hash(self.model_dump(mode="json", include={"model", "parameters", "steps", "tables"}))
