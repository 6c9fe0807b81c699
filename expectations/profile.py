"""Derives an expectation suite from the profile of the real training rows.

The suite is a list of plain `ExpectationSpec` records (pure data, no Great Expectations
import), so it can be shown in metadata, logged to MLflow and unit-tested; `runner` turns it
into a GX suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthpipe.contracts import ExpectationSpec
from synthpipe.families import column_family

__all__ = ["ColumnProfile", "ExpectationSpec", "TableProfile", "derive_suite", "profile_table"]

# Categories are listed as a value set only when there are few enough to read.
MAX_CATEGORIES = 200
# Synthetic null fractions may drift this much (absolute) from the source's before failing.
NULL_FRACTION_TOLERANCE = 0.05

_TYPE_FAMILIES = {
    "integer": ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"],
    # An integer column with nulls is read as float; synthetic floats are fine for it too.
    "float": ["float16", "float32", "float64", "Float32", "Float64"],
    "boolean": ["bool", "boolean", "object"],
    "datetime": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    "string": ["object", "str", "string", "category"],
}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    family: str
    null_fraction: float
    minimum: Any = None
    maximum: Any = None
    categories: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class TableProfile:
    columns: tuple[ColumnProfile, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _python(value: Any) -> Any:
    """numpy/pandas scalars to plain Python, so specs serialise to JSON and YAML."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def profile_table(data: pd.DataFrame) -> TableProfile:
    """Profiles each column: type family, null fraction, range or category set."""
    columns = []
    for name in data.columns:
        series = data[name]
        family = column_family(series)
        present = series.dropna()
        profile: dict[str, Any] = {"name": name, "family": family, "null_fraction": float(series.isna().mean())}
        if family in ("integer", "float", "datetime") and len(present):
            profile["minimum"] = _python(present.min())
            profile["maximum"] = _python(present.max())
        elif family in ("string", "boolean"):
            values = present.unique()
            if len(values) <= MAX_CATEGORIES:
                profile["categories"] = tuple(sorted((_python(v) for v in values), key=str))
        columns.append(ColumnProfile(**profile))
    return TableProfile(columns=tuple(columns))


def merge_profiles(parts: Sequence[tuple[TableProfile, int]]) -> TableProfile:
    """The profile of a table from the profiles of its parts (each with its row count)."""
    parts = [(profile, rows) for profile, rows in parts if rows]
    if not parts:
        raise ValueError("no rows to profile")
    total = sum(rows for _, rows in parts)
    columns = []
    for index, first in enumerate(parts[0][0].columns):
        pieces = [(profile.columns[index], rows) for profile, rows in parts]
        merged: dict[str, Any] = {
            "name": first.name,
            "family": first.family,
            "null_fraction": sum(c.null_fraction * rows for c, rows in pieces) / total,
        }
        bounded = [c for c, _ in pieces if c.minimum is not None]
        if bounded:
            merged["minimum"] = min(c.minimum for c in bounded)
            merged["maximum"] = max(c.maximum for c in bounded)
        if first.family in ("string", "boolean"):
            if all(c.categories is not None or c.null_fraction == 1.0 for c, _ in pieces):
                values = {v for c, _ in pieces for v in (c.categories or ())}
                if len(values) <= MAX_CATEGORIES:
                    merged["categories"] = tuple(sorted(values, key=str))
        columns.append(ColumnProfile(**merged))
    return TableProfile(columns=tuple(columns))


def _column_specs(column: ColumnProfile) -> list[ExpectationSpec]:
    specs = []
    types = _TYPE_FAMILIES["float"] + _TYPE_FAMILIES["integer"] if column.family == "float" else _TYPE_FAMILIES[column.family]
    specs.append(ExpectationSpec("expect_column_values_to_be_in_type_list", {"column": column.name, "type_list": types}))
    if column.null_fraction == 0.0:
        specs.append(ExpectationSpec("expect_column_values_to_not_be_null", {"column": column.name}))
    elif column.null_fraction < 1.0:
        mostly = round(max(0.0, 1.0 - column.null_fraction - NULL_FRACTION_TOLERANCE), 4)
        if mostly > 0:
            specs.append(
                ExpectationSpec("expect_column_values_to_not_be_null", {"column": column.name, "mostly": mostly})
            )
    if column.minimum is not None:
        specs.append(
            ExpectationSpec(
                "expect_column_values_to_be_between",
                {"column": column.name, "min_value": column.minimum, "max_value": column.maximum},
            )
        )
    if column.categories is not None:
        specs.append(
            ExpectationSpec(
                "expect_column_values_to_be_in_set", {"column": column.name, "value_set": list(column.categories)}
            )
        )
    return specs


def derive_suite(
    profile: TableProfile,
    expected_rows: int | None,
    key_columns: Sequence[str] = (),
    lenient_ranges: Sequence[str] = (),
    severity: str = "error",
) -> list[ExpectationSpec]:
    """The suite a faithful synthetic twin must pass: same columns in order, row count (when it
    is known in advance), types, null fractions, numeric and date ranges and category sets of the
    real training rows. Key columns (ids) get new synthetic values, so only their type and
    presence are expected. The ranges of `lenient_ranges` columns are reported with severity
    `warn` instead of blocking (a sequence's order column: PAR extends time past the last real
    timestamp). `severity: warn` reports every failure without blocking (`gate_severity:
    {expectations: warn}`).
    """
    specs = [ExpectationSpec("expect_table_columns_to_match_ordered_list", {"column_list": profile.column_names})]
    if expected_rows is not None:
        specs.append(ExpectationSpec("expect_table_row_count_to_equal", {"value": expected_rows}))
    for column in profile.columns:
        if column.name in key_columns:
            column = ColumnProfile(column.name, column.family, column.null_fraction)
        column_specs = _column_specs(column)
        if column.name in lenient_ranges:
            column_specs = [
                ExpectationSpec(s.type, s.kwargs, "warn") if s.type == "expect_column_values_to_be_between" else s
                for s in column_specs
            ]
        specs += column_specs
    return specs if severity == "error" else [ExpectationSpec(s.type, s.kwargs, severity, s.meta) for s in specs]
