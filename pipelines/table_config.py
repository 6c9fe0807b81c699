"""A single table's configuration: what is read, how it is fitted and sampled, and its gates.

`TableConfig` is one entry under `tables`; a table with `sequence` set is sequential (its rows
belong to entities and are ordered). Semantic checks across settings are
`synthpipe.validation`'s; the names of the backends are the registry's
(`synthpipe.resources.backends`), which a unit test keeps in step with the defaults here.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, model_validator

from synthpipe.config_base import Strict, settings_hash
from synthpipe.extras import argn_engine_available
from synthpipe.shared_config import ColumnOverride, Evaluated, WithSuites
from synthpipe.steering_config import FairnessConfig, RebalanceConfig, SampleCondition

__all__ = [
    "PrivacyConfig",
    "AUTO",
    "DEFAULT_AUTO_CANDIDATES",
    "DEFAULT_EVALUATION_ROWS",
    "DEFAULT_FIT_ROWS",
    "DEFAULT_SEQUENCE_SYNTHESIZER",
    "DEFAULT_SYNTHESIZER",
    "SequenceConfig",
    "TableConfig",
    "default_auto_candidates",
]

DEFAULT_SYNTHESIZER = "gaussian_copula"
DEFAULT_SEQUENCE_SYNTHESIZER = "par"
# A synthesizer name that serves both kinds of table names its sequence backend here.
SEQUENCE_BACKENDS = {"argn": "argn_sequence"}
# `synthesizer: auto` is a strategy over single-table backends, not a backend of its own.
AUTO = "auto"
DEFAULT_AUTO_CANDIDATES = ("gaussian_copula", "argn", "tvae", "ctgan", "copula_gan")
# ... and for a sequential table
DEFAULT_SEQUENCE_AUTO_CANDIDATES = ("par", "argn")
# Chosen with `make bench` (bench/scale.py): see the README's benchmark section.
DEFAULT_FIT_ROWS = 50_000
DEFAULT_EVALUATION_ROWS = 20_000
# `privacy.value_epsilon` left unset: this share of `epsilon`, at most `MAX_DEFAULT_VALUE_EPSILON`
# (the engine's own default is 1 of 10).
DEFAULT_VALUE_EPSILON_SHARE = 0.1
MAX_DEFAULT_VALUE_EPSILON = 1.0

_SAMPLING_SETTINGS = frozenset(
    {"refresh", "num_rows", "conditions", "rebalance", "fairness", "synthesize_columns", "impute", "num_sequences", "seed", "sample_chunk_rows", "sample_workers", "model_name", "train_on"}
)
_GATE_SETTINGS = frozenset(
    {"quality_threshold", "max_exact_copy_share", "max_value_leak_share", "max_dcr_closer_share", "min_utility_ratio", "gate_severity", "target", "evaluation_rows",
     "attack_rows", "max_singling_out_risk", "max_linkability_risk", "max_inference_risk"}
)

# Optional settings that fingerprints leave out while unset (see `TableConfig._unset_late_settings`).
_LATE_SETTINGS = ("privacy",)


def default_auto_candidates() -> list[str]:
    """gaussian_copula, argn (when the `argn` extra is installed), tvae, ctgan, copula_gan."""
    return [name for name in DEFAULT_AUTO_CANDIDATES if name != "argn" or argn_engine_available()]


class PrivacyConfig(Strict):
    """Differential privacy for a single table's fit: TabularARGN trains with DP-SGD (Opacus) and
    finds its value ranges and categories from noisy histograms, so together they spend at most
    about `epsilon` (with probability `delta` of the guarantee failing); the ε and δ spent are
    recorded with every version. See docs/synthesizers.md, 'Differential privacy'."""

    epsilon: float = Field(
        description="The fit's whole privacy budget ε, above 0 (lower is more private; 1 to 10 is usual). The value-range "
        "and category analysis spends `value_epsilon` of it before training; DP-SGD training spends the rest and stops at "
        "the first epoch end past it, keeping the best epoch within it, so what is spent (recorded) can pass it by one epoch's share.",
        examples=[2.0],
    )
    delta: float = Field(
        default=1e-5,
        description="Probability δ that the guarantee does not hold, between 0 and 1; keep it well below one over the "
        "number of training rows.",
        examples=[1e-6],
    )
    value_epsilon: float | None = Field(
        default=None,
        description="The part of `epsilon` spent finding each column's value range and categories with noise before "
        "training (rare categories and extreme values are left out by it), below `epsilon`. Default: a tenth of "
        "`epsilon`, at most 1.",
        examples=[0.5],
    )
    noise_multiplier: float = Field(
        default=1.5,
        description="DP-SGD's noise: the Gaussian noise's standard deviation over `max_grad_norm`, above 0. More noise "
        "spends ε more slowly per epoch, so more epochs fit the budget, but each learns less.",
        examples=[1.0],
    )
    max_grad_norm: float = Field(
        default=1.0,
        description="DP-SGD's bound on each training row's gradient norm (how far one row can move the model in a step), above 0.",
        examples=[0.5],
    )

    @property
    def value_budget(self) -> float:
        """The ε spent on value ranges and categories: `value_epsilon`, else a tenth of `epsilon` (at most 1)."""
        if self.value_epsilon is not None:
            return self.value_epsilon
        return min(DEFAULT_VALUE_EPSILON_SHARE * self.epsilon, MAX_DEFAULT_VALUE_EPSILON)

    def describe(self) -> str:
        return f"ε {self.epsilon:g} (value ranges and categories {self.value_budget:g}), δ {self.delta:g}"


class SequenceConfig(Strict):
    """Makes a table sequential: rows belong to an entity and are ordered (synthesized with PAR)."""

    entity_key: str = Field(description="Column that identifies the entity a row belongs to.", examples=["tailnum"])
    order_by: str = Field(description="Column that orders the rows within an entity.", examples=["time_hour"])
    context_columns: list[str] = Field(
        default_factory=list,
        description="Columns constant within an entity (its attributes), modelled once per sequence.",
        examples=[["carrier"]],
    )


class TableConfig(WithSuites, Evaluated):
    """One source table that gets a synthetic twin."""

    name: str = Field(
        description="Table name in synthpipe: asset keys, MLflow names and the snapshot folder.",
        examples=["adult"],
    )
    source_table: str | None = Field(
        default=None,
        description="Table name in the source, when it differs from `name` (quoted as an identifier, never pasted "
        "into SQL).",
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
        "extra), auto (the best of `auto_candidates`), or, for sequences, par or argn (TabularARGN's sequential "
        "model). Default: gaussian_copula, or par when `sequence` is set.",
        examples=["gaussian_copula"],
    )
    auto_candidates: list[str] = Field(
        default_factory=default_auto_candidates,
        description="With `synthesizer: auto`: the synthesizers tried, in order, until `auto_budget_seconds` is spent. "
        "Default: gaussian_copula, argn (when the `argn` extra is installed), tvae, ctgan, copula_gan; for a sequential "
        "table par, argn.",
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
        description="Keyword arguments for the synthesizer's constructor; unknown ones are named with the valid list.",
        examples=[{"default_distribution": "truncnorm"}],
    )
    privacy: PrivacyConfig | None = Field(
        default=None,
        description="Differential privacy: fit with DP-SGD and noisy value ranges within a budget ε, recorded with every "
        "version (MLflow and the Delta commit). Needs a synthesizer with a guarantee (argn; with `auto`, only such "
        "candidates are tried); single tables only.",
        examples=[{"epsilon": 2.0, "delta": 1e-05}],
    )
    columns: dict[str, ColumnOverride] = Field(
        default_factory=dict,
        description="Per-column overrides of the detected SDV metadata (`sdtype` plus SDV's own keys).",
        examples=[{"education-num": {"sdtype": "categorical"}}],
    )
    exclude_columns: list[str] = Field(
        default_factory=list,
        description="Source columns left out of the synthetic twin (e.g. binary columns no synthesizer models).",
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
        description="Synthetic rows to sample per refresh. Default: as many as the source table has.",
        examples=[50000],
    )
    conditions: list[SampleCondition] = Field(
        default_factory=list,
        description="Sample these rows instead of `num_rows`, each condition with fixed values for some columns. A value the "
        "source does not hold (or holds in fewer than `rare_value_min_count` rows) is refused with the values it holds.",
        examples=[[{"values": {"sex": "Female"}, "rows": 5000}, {"values": {"sex": "Male", "income": ">50K"}, "rows": 1000}]],
    )
    rebalance: RebalanceConfig | None = Field(
        default=None,
        description="Sample a rare class up (or a common one down) to a chosen share of the rows, each class's other "
        "columns conditioned on it; the version records the real and the synthetic shares (check `rebalance`).",
        examples=[{"column": "default", "shares": {"Yes": 0.3}}],
    )
    fairness: FairnessConfig | None = Field(
        default=None,
        description="Sample a twin whose `target` rate is equal across the `sensitive` groups (statistical parity); the "
        "parity gap of the real rows and of the twin are recorded (gate `fairness`).",
        examples=[{"target": "income", "sensitive": "sex"}],
    )
    synthesize_columns: list[str] = Field(
        default_factory=list,
        description="A partially synthetic table: every training row is kept with its real values, and only these "
        "(sensitive) columns are generated, given the row's other values. It still holds real values: see "
        "docs/synthesizers.md, 'Partially synthetic and hybrid tables'.",
        examples=[["income", "capital-gain"]],
    )
    impute: list[str] = Field(
        default_factory=list,
        description="A hybrid table: the training rows with the missing values of these columns filled with values "
        "drawn given the row's known values; a boolean column `<column>__imputed` marks each generated cell.",
        examples=[["sex", "body_mass_g"]],
    )
    seed: int | None = Field(
        default=None,
        description="Sampling seed. Default: a new seed every run, recorded with the version.",
        examples=[42],
    )
    quality_threshold: float = Field(
        default=0.7,
        description="Minimum SDMetrics quality score, between 0 and 1 (gate `quality`); below it nothing is published.",
        examples=[0.75],
    )
    target: str | None = Field(
        default=None,
        description="Column a downstream model predicts. Enables the `utility` gate (train on synthetic, test on "
        "real) and the `<name>/downstream` training asset.",
        examples=["income"],
    )
    train_on: list[Literal["real", "synthetic", "real+synthetic"]] = Field(
        default_factory=lambda: ["synthetic"],
        description="With `target`: what the `<name>/downstream` asset trains its models on, one model and one MLflow "
        "run per entry, all scored on the same real holdout rows: `real` (the sampled real training rows), "
        "`synthetic` (the published version) or `real+synthetic` (both together: the real rows augmented).",
        examples=[["real", "synthetic", "real+synthetic"]],
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
    attack_rows: int = Field(
        default=2000,
        description="Singling-out, linkability and inference attacks (anonymeter, with held-out rows as the control) run on "
        "seeded samples of this many training and holdout rows against the whole evaluation sample (`evaluation_rows`), which bounds their time "
        "on large tables; 0 skips them. Measured whenever anonymeter is installed (`make install` installs it).",
        examples=[5000],
    )
    max_singling_out_risk: float | None = Field(
        default=None,
        description="Optional gate `singling_out`: most the singling-out risk may be; it fails only when the risk's 95% "
        "interval lies above it. Unset: measured and reported only.",
        examples=[0.05],
    )
    max_linkability_risk: float | None = Field(
        default=None,
        description="Optional gate `linkability`: most the linkability risk may be, decided on its 95% interval. Unset: "
        "measured and reported only.",
        examples=[0.05],
    )
    max_inference_risk: float | None = Field(
        default=None,
        description="Optional gate `inference`: most the attribute-inference risk (the riskiest secret column) may be, "
        "decided on its 95% interval. Unset: measured and reported only.",
        examples=[0.1],
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

        The value-leak gate of a table with `privacy` blocks like any other: on a small table the
        engine's noisy category counts can keep rare real values (0.73 of `native-country` after
        two DP epochs on 960 Adult rows), and a rare real value is never published unless the
        table says so (`gate_severity: {value_leaks: warn}`).
        """
        if gate not in self.gate_severity and gate == "dcr" and self.sequence is not None:
            return "warn"
        return super().severity(gate)

    @property
    def generated_columns(self) -> list[str]:
        """Columns whose synthetic values are new by design (the entity key, personal columns):
        checks expect only their type and presence, and no model learns from them.
        """
        return [*([self.sequence.entity_key] if self.sequence else []), *self.pii]

    @property
    def steered(self) -> bool:
        """Whether the twin is sampled to a plan (`conditions`, `rebalance`, `fairness`) rather
        than mirroring the source's proportions."""
        return bool(self.conditions) or self.rebalance is not None or self.fairness is not None

    @property
    def kept_real(self) -> bool:
        """Whether the table publishes real rows with some cells generated (`synthesize_columns`,
        `impute`) rather than a fully synthetic twin."""
        return bool(self.synthesize_columns or self.impute)

    @property
    def workers(self) -> int:
        """Sampling processes: `sample_workers`, else the machine's cores (at most 8)."""
        return self.sample_workers or min(os.cpu_count() or 1, 8)

    @model_validator(mode="before")
    @classmethod
    def _sequence_candidates(cls, raw: Any) -> Any:
        """`auto` on a sequential table tries the sequence synthesizers unless told otherwise."""
        if isinstance(raw, dict) and raw.get("sequence") is not None and raw.get("synthesizer") == AUTO and "auto_candidates" not in raw:
            return {**raw, "auto_candidates": [n for n in DEFAULT_SEQUENCE_AUTO_CANDIDATES if n != "argn" or argn_engine_available()]}
        return raw

    def candidate_backend(self, name: str) -> str:
        """The registry name of an `auto` candidate (`argn` on a sequential table is `argn_sequence`)."""
        return SEQUENCE_BACKENDS.get(name, name) if self.sequence is not None else name

    @property
    def backend(self) -> str:
        """The synthesizer that runs: the configured one, else the default for the table's kind."""
        if self.sequence is not None:
            chosen = self.synthesizer or DEFAULT_SEQUENCE_SYNTHESIZER
            return chosen if chosen == AUTO else SEQUENCE_BACKENDS.get(chosen, chosen)
        return self.synthesizer or DEFAULT_SYNTHESIZER

    @property
    def registered_model_name(self) -> str:
        return self.model_name or f"synthpipe-{self.name}"

    @property
    def _unset_late_settings(self) -> frozenset[str]:
        """Settings added after fingerprints were first recorded, left out of them while unset, so
        that upgrading synthpipe neither refits every registered model nor refreshes every table."""
        return frozenset(name for name in _LATE_SETTINGS if getattr(self, name) is None)

    @property
    def config_fingerprint(self) -> str:
        """Hash of every setting that shapes the published table (`refresh` aside): a change
        makes the change sensor refresh an `on_change` table.
        """
        suites = [suite.fingerprint for suite in self._suites]
        return settings_hash({**self.model_dump(mode="json", exclude={"refresh"} | self._unset_late_settings), "suites": suites})

    @property
    def fit_fingerprint(self) -> str:
        """Hash of the settings that shape the fitted model. Sampling and gate settings are left
        out, so changing them reuses the model; with `auto`, whose choice depends on the gates,
        only the sampling settings are.
        """
        # Suites are in `config_fingerprint`; only their enforced rules shape the model.
        left_out = _SAMPLING_SETTINGS | {"expectation_suites"} | (frozenset() if self.backend == AUTO else _GATE_SETTINGS) | self._unset_late_settings
        rules = [suite.rules_fingerprint for suite in self._suites if suite.rules_fingerprint]
        return settings_hash({**self.model_dump(mode="json", exclude=left_out), **({"rules": rules} if rules else {})})
