"""Data contracts as plain records: expectations, business rules and the suites that hold them.

These are the records a table's configuration carries (`TableConfig.suites`,
`TableConfig.enforced_rules`) and the stages act on, with no Great Expectations, SDV or numpy
import at module level, so the configuration layer can hold them. Reading and validating suite
files is `synthpipe.expectations.suites`; deriving a suite from a profile is
`synthpipe.expectations.profile`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "RULE_KINDS",
    "SEVERITIES",
    "SIDES",
    "ExpectationSpec",
    "Rule",
    "UserExpectation",
    "UserSuite",
    "digest",
    "plain",
]

RULE_KINDS = ("fixed_combinations", "inequality", "range")
SIDES = ("source", "synthetic")
SEVERITIES = ("error", "warn")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: its GX type name (snake case), its arguments and its severity."""

    type: str
    kwargs: dict[str, Any]
    severity: str = "error"
    meta: dict[str, Any] = field(default_factory=dict)  # shown in Data Docs (a rule's wording, a description)

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    @property
    def columns(self) -> list[str]:
        """The columns whose values the expectation checks (`column`, `column_A`/`column_B`).
        Table-level lists (`column_list`, `column_set`) are what they check, not columns they read."""
        return [self.kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(self.kwargs.get(k), str)]


@dataclass(frozen=True)
class UserExpectation:
    """One expectation of a suite file, with where it was written."""

    spec: ExpectationSpec
    where: str  # "adult.yaml, expectations[2] (line 14)"
    run_on: frozenset[str]

    @property
    def columns(self) -> list[str]:
        return self.spec.columns


@dataclass(frozen=True)
class Rule:
    """A business rule: an SDV constraint for fitting and sampling, GX expectations for checking.

    `fixed_combinations`: only combinations of the columns' values seen in the fitted rows occur
    (SDV `FixedCombinations`; checked per pair of columns with
    `expect_column_pair_values_to_be_in_set`). `inequality`: `high` is never below `low`
    (`Inequality`; `expect_column_pair_values_a_to_be_greater_than_b`). `range`: `low` <=
    `middle` <= `high` (`Range`; two pair expectations). With `enforce: false` the rule is checked
    and not enforced (for a synthesizer that cannot take SDV constraints).
    """

    kind: str
    params: Mapping[str, Any]
    where: str
    enforce: bool = True

    @property
    def columns(self) -> list[str]:
        if self.kind == "fixed_combinations":
            return list(self.params["columns"])
        if self.kind == "inequality":
            return [self.params["low"], self.params["high"]]
        return [self.params["low"], self.params["middle"], self.params["high"]]

    @property
    def strict(self) -> bool:
        return bool(self.params.get("strict", self.kind == "range"))

    def describe(self) -> str:
        if self.kind == "fixed_combinations":
            return f"fixed combinations of {', '.join(self.columns)}"
        sign = "<" if self.strict else "<="
        return f" {sign} ".join(self.columns[: 2 if self.kind == "inequality" else 3])

    def allowed_combinations(self, fitted_rows: pd.DataFrame) -> frozenset[tuple[Any, ...]]:
        """A fixed combination's allowed value tuples: those of the fitted rows."""
        return frozenset(tuple(plain(v) for v in row) for row in fitted_rows[self.columns].dropna().itertuples(index=False))

    def holds(self, rows: pd.DataFrame, allowed: frozenset[tuple[Any, ...]] = frozenset()) -> np.ndarray:
        """Per row, whether the rule holds (a row with a missing value in the rule's columns
        passes, as its GX expectations ignore it); `allowed` from `allowed_combinations`."""
        import numpy as np

        frame = rows[self.columns]
        missing = frame.isna().any(axis=1).to_numpy()
        if self.kind == "fixed_combinations":
            present = [tuple(plain(v) for v in row) in allowed for row in frame.itertuples(index=False)]
            return missing | np.array(present, dtype=bool)
        above = np.greater if self.strict else np.greater_equal
        pairs = list(zip(self.columns, self.columns[1:]))
        held = np.ones(len(frame), dtype=bool)
        for low, high in pairs:
            held &= np.asarray(above(frame[high].to_numpy(), frame[low].to_numpy()), dtype=bool)
        return missing | held

    def sdv_constraint(self, table_name: str | None = None) -> Any:
        """The SDV constraint; `table_name` for a table of a multi-table (HMA) model."""
        from sdv import cag

        if self.kind == "fixed_combinations":
            return cag.FixedCombinations(column_names=self.columns, table_name=table_name)
        if self.kind == "inequality":
            return cag.Inequality(
                low_column_name=self.params["low"], high_column_name=self.params["high"], strict_boundaries=self.strict, table_name=table_name
            )
        low, middle, high = self.columns
        return cag.Range(
            low_column_name=low, middle_column_name=middle, high_column_name=high, strict_boundaries=self.strict, table_name=table_name
        )

    def expectations(self, fitted_rows: pd.DataFrame | None = None, severity: str = "error") -> list[ExpectationSpec]:
        """The GX expectations that prove the rule. A fixed combination needs the fitted rows
        (its allowed pairs); on the source, where they would prove nothing, pass None."""
        meta = {"rule": self.describe()}
        if self.kind == "fixed_combinations":
            if fitted_rows is None:
                return []
            specs = []
            for a, b in combinations(self.columns, 2):
                pairs = fitted_rows[[a, b]].dropna().drop_duplicates()
                value_pairs = sorted((plain(x), plain(y)) for x, y in pairs.itertuples(index=False))
                kwargs = {"column_A": a, "column_B": b, "value_pairs_set": value_pairs, "ignore_row_if": "either_value_is_missing"}
                specs.append(ExpectationSpec("expect_column_pair_values_to_be_in_set", kwargs, severity, meta))
            return specs
        pairs = [(self.columns[0], self.columns[1])] + ([(self.columns[1], self.columns[2])] if self.kind == "range" else [])
        return [
            ExpectationSpec(
                "expect_column_pair_values_a_to_be_greater_than_b",
                {"column_A": high, "column_B": low, "or_equal": not self.strict, "ignore_row_if": "either_value_is_missing"},
                severity,
                meta,
            )
            for low, high in pairs
        ]


@dataclass(frozen=True)
class UserSuite:
    """One suite file: its expectations, its rules, and where they run."""

    name: str
    path: str
    expectations: tuple[UserExpectation, ...] = ()
    rules: tuple[Rule, ...] = ()
    fingerprint: str = ""

    @property
    def guards(self) -> bool:
        """Whether the suite runs on the source (as a blocking guard) before fitting."""
        return any("source" in e.run_on for e in self.expectations) or any(r.kind != "fixed_combinations" for r in self.rules)

    @property
    def checks_synthetic(self) -> bool:
        return any("synthetic" in e.run_on for e in self.expectations) or bool(self.rules)

    @property
    def enforced_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.enforce]

    @property
    def rules_fingerprint(self) -> str:
        return digest([[r.kind, dict(r.params), r.enforce] for r in self.enforced_rules]) if self.enforced_rules else ""

    def source_specs(self) -> list[tuple[ExpectationSpec, str]]:
        """Expectations run on the source, each with where it was written. A failed rule here
        means the source itself breaks it: the model could not be fitted with the constraint."""
        specs = [(e.spec, e.where) for e in self.expectations if "source" in e.run_on]
        return specs + [(s, r.where) for r in self.rules for s in r.expectations(None)]

    def synthetic_specs(self, fitted_rows: pd.DataFrame) -> list[tuple[ExpectationSpec, str]]:
        specs = [(e.spec, e.where) for e in self.expectations if "synthetic" in e.run_on]
        return specs + [(s, r.where) for r in self.rules for s in r.expectations(fitted_rows)]


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (so value sets compare and serialise alike)."""
    return value.item() if hasattr(value, "item") else value


def digest(value: Any) -> str:
    """A short, stable hash of a JSON-serialisable value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
