"""`conditions`: rows sampled with fixed values for some columns. What a condition may ask for is
decided against the real training rows before anything is sampled: a column the table has, a
value the source holds in at least `rare_value_min_count` rows (rare values are kept out of every
model, so no synthetic row may carry one), a number within the source's range, and a
combination of values that enough real rows share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from synthpipe.config import SampleCondition, TableConfig
from synthpipe.errors import SynthesizerError, closest

__all__ = ["refuse_impossible_conditions"]

_SHOWN = 10


def _value_problem(column: str, value: Any, real: pd.Series, spec: Mapping[str, Any], min_count: int) -> str | None:
    sdtype = spec.get("sdtype")
    if sdtype == "id" or spec.get("pii"):
        return f"{column!r} is a key or a personal column, whose values are generated, never learned"
    if sdtype in ("numerical", "datetime"):
        present = real.dropna()
        low, high = present.min(), present.max()
        try:
            inside = low <= type(low)(value) if sdtype == "numerical" else low <= pd.Timestamp(value)
            inside = inside and ((type(high)(value) if sdtype == "numerical" else pd.Timestamp(value)) <= high)
        except (TypeError, ValueError):
            return f"{value!r} is not a value of {sdtype} column {column!r}"
        return None if inside else f"{value!r} is outside {column!r}'s range in the source, {low} to {high}"
    counts = real.value_counts()
    held = counts.get(value, 0)
    if held == 0:
        listed = ", ".join(repr(v) for v in counts.index[:_SHOWN]) + (", ..." if len(counts) > _SHOWN else "")
        return f"{value!r} is not a value of {column!r}, which holds {listed}.{closest(str(value), [str(v) for v in counts.index])}"
    if held < min_count:
        return (
            f"{value!r} of {column!r} is in {held} source rows, fewer than `rare_value_min_count` ({min_count}): rare values are "
            "kept out of the model, so no synthetic row carries one"
        )
    return None


def refuse_impossible_conditions(
    table: TableConfig, plan: Sequence[SampleCondition], real: pd.DataFrame, columns: Mapping[str, Mapping[str, Any]], setting: str = "conditions"
) -> None:
    """Raises, naming the condition, the column, the value and what the source holds, when a
    condition of the plan cannot be met; returns when every one can. `setting` names what made
    the plan (`conditions`, or `rebalance` and `fairness`, whose conditions are derived)."""
    problems = []
    for index, condition in enumerate(plan, start=1):
        where = f"`conditions[{index}]` ({condition.describe()})" if setting == "conditions" else f"`{setting}` cell {condition.describe()}"
        missing = [c for c in condition.values if c not in real.columns]
        if missing:
            hints = "".join(closest(c, list(real.columns)) for c in missing)
            problems.append(f"{where}: the table has no column {missing}.{hints}")
            continue
        found = [p for c, v in condition.values.items() if (p := _value_problem(c, v, real[c], columns.get(c, {}), table.rare_value_min_count))]
        if found:
            problems += [f"{where}: {p}" for p in found]
            continue
        exact = [c for c in condition.values if columns.get(c, {}).get("sdtype") not in ("numerical", "datetime")]
        if len(exact) > 1:
            share = real[exact].eq(pd.Series({c: condition.values[c] for c in exact})).all(axis=1).sum()
            if share < table.rare_value_min_count:
                problems.append(
                    f"{where}: {share} source rows have this combination, fewer than `rare_value_min_count` "
                    f"({table.rare_value_min_count}); a twin would describe those few people"
                )
    if problems:
        raise SynthesizerError(
            f"Table {table.name!r}: {len(problems)} of its conditions cannot be met; nothing was sampled or published:\n  - "
            + "\n  - ".join(problems)
            + (f"\nFix `{setting}` with values the source holds." if setting == "conditions" else f"\nChange `{setting}` or lower `rare_value_min_count`.")
        )
