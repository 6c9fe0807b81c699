"""Steering: a twin sampled to a plan instead of the source's proportions.

`conditions` name the plan outright; `rebalance` and `fairness` derive one from the real training
rows, as conditions: one cell per class (rebalancing) or per sensitive group and target class
(statistical parity), each sampled conditioned on its values, so every other column keeps its
real conditional distribution. The plan a version was sampled under is recorded with it
(`synthpipe/conditions`), which is all `synthpipe reproduce` needs.

This module is pure: plans, shares, parity gaps and the steered reference the quality of a
steered twin is measured against.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.config import FairnessConfig, RebalanceConfig, SampleCondition, TableConfig
from synthpipe.errors import SynthesizerError, closest

__all__ = [
    "Parity",
    "Tally",
    "steering_setting",
    "class_shares",
    "parity_gap",
    "sampling_plan",
    "split_rows",
    "fairness_by_engine",
    "steered_columns",
    "steered_reference",
]

# A target with more distinct values than this has no classes whose rates could be compared.
MAX_TARGET_CLASSES = 20


def split_rows(total: int, weights: Mapping[Hashable, float]) -> dict[Hashable, int]:
    """`total` rows shared in proportion to `weights` (largest remainder), adding up exactly.

    Examples:
        >>> split_rows(10, {"a": 0.24, "b": 0.76})
        {'a': 2, 'b': 8}
    """
    scale = sum(weights.values())
    exact = {key: total * weight / scale for key, weight in weights.items()}
    rows = {key: int(np.floor(value)) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: exact[key] - rows[key], reverse=True)
    for key in by_remainder[: total - sum(rows.values())]:
        rows[key] += 1
    return rows


def class_shares(frame: pd.DataFrame | pd.Series, column: str | None = None) -> dict[str, float]:
    """Each class's share of the non-empty values, by class name."""
    values = (frame[column] if column is not None else frame).dropna()
    counts = values.value_counts()
    return {str(value): float(count) / max(len(values), 1) for value, count in counts.items()}


def _real_value(real: pd.Series, name: str, where: str) -> Any:
    """The source value a configured class name stands for (YAML keys are text; a column may hold numbers)."""
    values = list(real.dropna().unique())
    for value in values:
        if value == name or str(value) == str(name):
            return value.item() if isinstance(value, np.generic) else value
    listed = ", ".join(repr(v) for v in values[:10]) + (", ..." if len(values) > 10 else "")
    raise SynthesizerError(f"{where}: {name!r} is not a class of {real.name!r}, which holds {listed}.{closest(str(name), [str(v) for v in values])}")


def _common(real: pd.Series, min_count: int) -> pd.Series:
    """The counts of the values seen in at least `min_count` rows (rare values are never emitted)."""
    counts = real.value_counts()
    return counts[counts >= min_count]


def _rebalance_plan(table: TableConfig, rebalance: RebalanceConfig, real: pd.DataFrame, num_rows: int) -> list[SampleCondition]:
    where = f"Table {table.name!r}: `rebalance` ({rebalance.describe()})"
    column = _column(real, rebalance.column, where, "rebalance.column")
    requested = {_real_value(column, name, where): share for name, share in rebalance.shares.items()}
    others = _common(column, table.rare_value_min_count).drop(list(requested), errors="ignore")
    rest = 1.0 - sum(requested.values())
    if rest > 1e-9 and others.empty:
        raise SynthesizerError(f"{where}: the shares add up to {1 - rest:.4g} and {column.name!r} has no other common class to fill the rest; make them add up to 1.")
    weights = {**requested, **({value: rest * count / others.sum() for value, count in others.items()} if rest > 1e-9 else {})}
    rows = split_rows(num_rows, weights)
    return [SampleCondition(values={column.name: _plain(value)}, rows=count) for value, count in rows.items() if count > 0]


def _fairness_plan(table: TableConfig, fairness: FairnessConfig, real: pd.DataFrame, num_rows: int) -> list[SampleCondition]:
    where = f"Table {table.name!r}: `fairness` ({fairness.target} across {fairness.sensitive})"
    target = _column(real, fairness.target, where, "fairness.target")
    sensitive = _column(real, fairness.sensitive, where, "fairness.sensitive")
    if target.nunique() > MAX_TARGET_CLASSES:
        raise SynthesizerError(
            f"{where}: {target.name!r} has {target.nunique()} distinct values; statistical parity compares the rates of a "
            f"target's classes (at most {MAX_TARGET_CLASSES}). Choose a categorical target or bin it in the source query."
        )
    both = real[[fairness.sensitive, fairness.target]].dropna()
    groups = _common(both[fairness.sensitive], table.rare_value_min_count)
    classes = _common(both[fairness.target], table.rare_value_min_count)
    rates = classes / classes.sum()
    cells = {(g, c): share * rate for g, share in (groups / groups.sum()).items() for c, rate in rates.items()}
    rows = split_rows(num_rows, cells)
    return [
        SampleCondition(values={fairness.sensitive: _plain(g), fairness.target: _plain(c)}, rows=count) for (g, c), count in rows.items() if count > 0
    ]


def _column(real: pd.DataFrame, name: str, where: str, setting: str) -> pd.Series:
    if name not in real.columns:
        raise SynthesizerError(f"{where}: `{setting}` {name!r} is not a column of the source.{closest(name, list(real.columns))}")
    return real[name]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value the plan (JSON in the commit) records."""
    return value.item() if isinstance(value, np.generic) else value


def sampling_plan(table: TableConfig, real: pd.DataFrame, num_rows: int) -> list[SampleCondition]:
    """The conditions the table samples under: `conditions` as they are, else those that
    `rebalance` or `fairness` derive from the real training rows; empty when it mirrors the source."""
    if table.conditions:
        return list(table.conditions)
    if table.rebalance is not None:
        return _rebalance_plan(table, table.rebalance, real, num_rows)
    if table.fairness is not None:
        return _fairness_plan(table, table.fairness, real, num_rows)
    return []


def fairness_by_engine(table: TableConfig, own_mode: bool) -> bool:
    """Whether `fairness` is met by the backend's own fairness mode (`own_mode`: it declares one)
    rather than by conditional sampling: `method: engine`, or `auto` on such a backend."""
    return table.fairness is not None and own_mode and table.fairness.method != "conditions"


def steered_columns(table: TableConfig) -> list[str]:
    """The columns whose proportions the plan sets (their derived expectations may drift)."""
    if table.rebalance is not None:
        return [table.rebalance.column]
    if table.fairness is not None:
        return [table.fairness.sensitive, table.fairness.target]
    return list(dict.fromkeys(c for condition in table.conditions for c in condition.values))


@dataclass(frozen=True)
class Parity:
    """Statistical parity of `target` across `sensitive`: each group's rate of each class; the
    gap is the largest difference between two groups' rates of one class."""

    target: str
    sensitive: str
    rates: dict[str, dict[str, float]]  # group -> class -> rate

    @property
    def gap(self) -> float:
        classes = {c for rates in self.rates.values() for c in rates}
        spreads = [max(r.get(c, 0.0) for r in self.rates.values()) - min(r.get(c, 0.0) for r in self.rates.values()) for c in classes]
        return float(max(spreads, default=0.0))

    def table(self) -> str:
        """The rates as a markdown table, one row per group."""
        classes = sorted({c for rates in self.rates.values() for c in rates})
        rows = [f"| {self.sensitive} | " + " | ".join(f"{self.target} = {c}" for c in classes) + " |", "|---|" + "---|" * len(classes)]
        rows += [f"| {g} | " + " | ".join(f"{r.get(c, 0.0):.3f}" for c in classes) + " |" for g, r in sorted(self.rates.items())]
        return "\n".join(rows)


def parity_gap(counts: pd.DataFrame | pd.Series, target: str, sensitive: str, min_count: int = 1) -> Parity:
    """Parity of `target` across `sensitive` from rows (a frame) or from counts (a series indexed
    by (sensitive, target)); groups with fewer than `min_count` rows are left out as noise."""
    if isinstance(counts, pd.DataFrame):
        counts = counts[[sensitive, target]].dropna().value_counts()
    rates = {}
    for group, within in counts.groupby(level=0):
        total = within.sum()
        if total >= min_count:
            rates[str(group)] = {str(c): float(n) / total for (_, c), n in within.items()}
    return Parity(target, sensitive, rates)


def steered_reference(real: pd.DataFrame, plan: Sequence[SampleCondition], seed: int) -> pd.DataFrame:
    """The real rows drawn to the plan's proportions (with replacement, seeded): what a steered
    twin should resemble. A cell no real row matches exactly (a number inside the range) takes
    its share from all rows."""
    if not plan:
        return real
    total, rng, parts = sum(c.rows for c in plan), np.random.default_rng(seed), []
    for condition in plan:
        mask = np.ones(len(real), dtype=bool)
        for column, value in condition.values.items():
            mask &= (real[column] == value).to_numpy()
        pool = real[mask] if mask.any() else real
        size = max(1, round(len(real) * condition.rows / total))
        parts.append(pool.iloc[rng.integers(0, len(pool), size)])
    return pd.concat(parts, ignore_index=True)


def steering_setting(table: TableConfig) -> str | None:
    """The setting that made the plan: `conditions`, `rebalance` or `fairness`."""
    return next((name for name in ("conditions", "rebalance", "fairness") if getattr(table, name)), None)


class Tally:
    """Counts the steered columns' values over every sampled chunk as it passes, so the shares
    and the parity gap a version records are those of all its rows, not of a sample."""

    def __init__(self, columns: Sequence[str]):
        self.columns = list(columns)
        self.counts: pd.Series = pd.Series(dtype="int64")

    def count(self, chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in chunks:
            if self.columns:
                counts = chunk[self.columns].dropna().value_counts()
                self.counts = counts if self.counts.empty else self.counts.add(counts, fill_value=0).astype("int64")
            yield chunk
