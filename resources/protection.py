"""Rare-value protection: what no backend may learn, and so never emit.

A value seen in fewer than `min_count` training rows of a column identifies the few people who
hold it. Before any backend fits, such values are taken out of the rows it learns from:

- categories (and booleans, and text) that are rare are replaced by a draw from the column's
  common values, in proportion to how often each occurs (TabularARGN's "sample" replacement);
- numbers and dates are clipped to the `min_count`-th smallest and largest value, so an
  extreme (the one salary of a million) is never reproduced at the edge of the range.

Nulls are no value and stay. Columns generated fresh (declared personal columns, IDs) are not
learned, so they are left alone. The `value_leaks` gate measures the result on the candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MIN_COUNT",
    "LEARNED_CATEGORY_SDTYPES",
    "LEARNED_RANGE_SDTYPES",
    "ProtectionReport",
    "protect_rare_values",
    "protect_tables",
    "rare_share",
    "rare_values",
]

DEFAULT_MIN_COUNT = 5
LEARNED_CATEGORY_SDTYPES = ("categorical", "boolean")
LEARNED_RANGE_SDTYPES = ("numerical", "datetime")


@dataclass(frozen=True)
class ProtectionReport:
    """Per column, how many training values were replaced (categories) or clipped (ranges)."""

    replaced: dict[str, int]
    clipped: dict[str, int]

    def describe(self) -> str:
        replaced = ", ".join(f"{c!r}: {n} replaced" for c, n in self.replaced.items() if n)
        clipped = ", ".join(f"{c!r}: {n} clipped" for c, n in self.clipped.items() if n)
        return "; ".join(part for part in (replaced, clipped) if part) or "none"


def rare_values(values: pd.Series, min_count: int) -> set[Any]:
    """The values of `values` seen in fewer than `min_count` rows (nulls are no value)."""
    counts = values.dropna().value_counts()
    return set(counts.index[counts < min_count])


def rare_share(values: pd.Series, min_count: int) -> float:
    """The share of non-null rows whose value is rare."""
    present = values.dropna()
    if present.empty:
        return 0.0
    counts = present.map(present.value_counts())
    return float((counts < min_count).mean())


def protect_rare_values(
    data: pd.DataFrame,
    sdtypes: Mapping[str, str],
    min_count: int = DEFAULT_MIN_COUNT,
    seed: int = 0,
    rules: Sequence[Any] = (),
) -> tuple[pd.DataFrame, ProtectionReport]:
    """`data` with every rare value out of reach of the model that learns from it.

    Args:
        data: The rows a backend is about to fit.
        sdtypes: Column name to SDV sdtype; only learned sdtypes (categories, booleans, numbers,
            dates) are protected.
        min_count: A value seen in fewer rows than this is rare.
        seed: Seeds the draw of replacement categories, so a refit on the same rows is the same.
        rules: Business rules (`synthpipe.expectations.suites.Rule`) the rows obey and must still obey:
            the columns of a `fixed_combinations` rule are protected together (a rare
            combination is replaced by a drawn common one); after clipping, the columns of an
            `inequality` or `range` rule are put back in order within each row.

    Returns:
        The protected copy (the input is not changed) and what was replaced or clipped.
    """
    rng = np.random.default_rng(seed)
    protected = data.copy()
    replaced: dict[str, int] = {}
    clipped: dict[str, int] = {}
    if min_count <= 1:
        return protected, ProtectionReport(replaced, clipped)
    joint = set()
    for rule in rules:
        if rule.kind == "fixed_combinations" and all(c in protected.columns for c in rule.columns):
            hits = _replace_rare_combinations(protected, list(rule.columns), min_count, rng)
            replaced.update({c: replaced.get(c, 0) + hits for c in rule.columns})
            joint.update(rule.columns)
    for column, sdtype in sdtypes.items():
        if column not in protected.columns or column in joint:
            continue
        values = protected[column]
        if sdtype in LEARNED_CATEGORY_SDTYPES:
            protected[column], replaced[column] = _replace_rare(values, min_count, rng)
        elif sdtype in LEARNED_RANGE_SDTYPES:
            protected[column], clipped[column] = _clip_extremes(values, min_count)
    for rule in rules:
        if rule.kind in ("inequality", "range") and any(clipped.get(c) for c in rule.columns):
            _restore_order(protected, list(rule.columns))
    return protected, ProtectionReport(replaced, clipped)


def _replace_rare_combinations(data: pd.DataFrame, columns: list[str], min_count: int, rng: np.random.Generator) -> int:
    """Replaces, in place, the rows whose combination of `columns` is rare by a drawn common one."""
    keys = pd.Series(list(zip(*(data[c].astype(object).where(data[c].notna(), None) for c in columns))), index=data.index)
    counts = keys.value_counts()
    common = counts[counts >= min_count]
    is_rare = keys.map(counts) < min_count
    hits = int(is_rare.sum())
    if not hits or common.empty:
        return 0
    draws = rng.choice(np.arange(len(common)), size=hits, p=(common / common.sum()).to_numpy())
    chosen = [common.index[i] for i in draws]
    for position, column in enumerate(columns):
        values = data[column].astype(object).copy()
        values[is_rare] = [combo[position] for combo in chosen]
        data[column] = values.astype(data[column].dtype) if data[column].dtype != object else values
    return hits


def _restore_order(data: pd.DataFrame, columns: list[str]) -> None:
    """Sorts each complete row's `columns` (low <= ... <= high), in place, after clipping."""
    complete = data[columns].notna().all(axis=1)
    if complete.any():
        ordered = np.sort(data.loc[complete, columns].to_numpy(), axis=1)
        for position, column in enumerate(columns):
            data.loc[complete, column] = ordered[:, position]


def _replace_rare(values: pd.Series, min_count: int, rng: np.random.Generator) -> tuple[pd.Series, int]:
    counts = values.dropna().value_counts()
    common = counts[counts >= min_count]
    is_rare = values.notna() & values.isin(set(counts.index[counts < min_count]))
    hits = int(is_rare.sum())
    if not hits:
        return values, 0
    if common.empty:
        # Every value is rare: nothing common to draw from. Text like this is refused at the
        # source step; anything else is left as it is, and the `value_leaks` gate blocks it.
        return values, 0
    draws = rng.choice(np.arange(len(common)), size=hits, p=(common / common.sum()).to_numpy())
    out = values.astype(object).copy()
    out[is_rare] = common.index.to_numpy()[draws]
    return out.astype(values.dtype) if values.dtype != object else out, hits


def _clip_extremes(values: pd.Series, min_count: int) -> tuple[pd.Series, int]:
    present = values.dropna()
    if len(present) < 2 * min_count:
        return values, 0
    ordered = np.sort(present.to_numpy())
    low, high = ordered[min_count - 1], ordered[len(ordered) - min_count]
    outside = values.notna() & ((values < low) | (values > high))
    hits = int(outside.sum())
    return (values.clip(low, high) if hits else values), hits


def protect_tables(
    tables: Mapping[str, pd.DataFrame],
    metadata: Any,
    min_count: int = DEFAULT_MIN_COUNT,
    seed: int = 0,
    rules: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """`protect_rare_values` for every table of a multi-table `metadata` (keys are IDs: untouched),
    with each table's business rules."""
    protected = {}
    for offset, (name, frame) in enumerate(tables.items()):
        columns = metadata.tables[name].columns
        sdtypes = {c: spec.get("sdtype", "") for c, spec in columns.items()}
        protected[name], _ = protect_rare_values(frame, sdtypes, min_count, seed + offset, (rules or {}).get(name, ()))
    return protected
