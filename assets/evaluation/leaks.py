"""The `value_leaks` measure: rare real values that reach the candidate through one column.

`exact_copies` and `dcr` compare whole rows, so a twin whose every name is real passes them as
long as the other columns differ. This measure looks at each column alone: the share of a
column's synthetic values that are rare real values (seen in fewer than `min_count` of the rows
the model learned from). Measured on learned categories, booleans and text; not on numbers and
dates (a number inside the range may equal a real one by chance; their extremes are clipped at
fit time), nor on declared personal columns and IDs, which are generated, not learned.
Metadata lists the worst columns with counts, never the values themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthpipe.resources.protection import LEARNED_CATEGORY_SDTYPES, rare_values

__all__ = ["LeakResult", "combine_leaks", "evaluate_value_leaks"]

WORST_SHOWN = 5


@dataclass(frozen=True)
class ColumnLeak:
    column: str
    share: float
    rows: int  # synthetic rows holding a rare real value
    distinct: int  # distinct rare real values among them


@dataclass(frozen=True)
class LeakResult:
    share: float  # the worst column's share
    columns: list[ColumnLeak] = field(default_factory=list)  # worst first, columns with leaks only
    measured: int = 0

    def table(self) -> str:
        if not self.columns:
            return "none"
        rows = [f"| `{c.column}` | {c.share:.4f} | {c.rows} | {c.distinct} |" for c in self.columns[:WORST_SHOWN]]
        return "\n".join(["| column | share | rows | distinct rare values |", "|---|---|---|---|", *rows])

    def describe(self) -> str:
        return ", ".join(f"{c.column!r} ({c.rows} rows, {c.distinct} distinct rare values)" for c in self.columns[:WORST_SHOWN])


def evaluate_value_leaks(
    synthetic: pd.DataFrame, learned: pd.DataFrame, columns: Mapping[str, Mapping[str, Any]], min_count: int
) -> LeakResult:
    """Per measured column, the share of non-null synthetic values that are rare in `learned`.

    Args:
        synthetic: The candidate's evaluation rows.
        learned: The real rows the model was fitted on.
        columns: SDV column metadata (`sdtype` per column).
        min_count: A value seen in fewer learned rows than this is rare.
    """
    leaks, measured = [], 0
    for column, spec in columns.items():
        if spec.get("sdtype") not in LEARNED_CATEGORY_SDTYPES or column not in synthetic.columns or column not in learned.columns:
            continue
        measured += 1
        rare = rare_values(learned[column], min_count)
        present = synthetic[column].dropna()
        if not rare or present.empty:
            continue
        hits = present[present.isin(rare)]
        if len(hits):
            leaks.append(ColumnLeak(column, len(hits) / len(present), len(hits), int(hits.nunique())))
    leaks.sort(key=lambda c: -c.share)
    return LeakResult(leaks[0].share if leaks else 0.0, leaks, measured)


def combine_leaks(per_table: Mapping[str, LeakResult]) -> LeakResult:
    """The leaks of a group's tables as one result; columns are named `<table>.<column>`."""
    columns = [
        ColumnLeak(f"{table}.{c.column}", c.share, c.rows, c.distinct) for table, result in per_table.items() for c in result.columns
    ]
    columns.sort(key=lambda c: -c.share)
    return LeakResult(columns[0].share if columns else 0.0, columns, sum(r.measured for r in per_table.values()))
