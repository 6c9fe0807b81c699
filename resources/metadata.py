"""SDV metadata for one table: detected, then made honest.

- Types no synthesizer models are refused by column (`check_modelable`).
- SDV's name-based guesses of personal data are undone (`undo_personal_guesses`): only the
  columns `pii` declares are replaced with Faker values (`set_pii`).
- ID columns get a regex of their own shape (`synthpipe.resources.id_formats`); sequences get their key
  and index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.types as pat

from synthpipe.errors import SynthesizerError, UnsupportedColumnError, closest
from synthpipe.families import column_family
from synthpipe.resources.id_formats import learn_id_regex

__all__ = ["MODELLED_SDTYPES", "check_modelable", "detect_metadata", "modelled_sdtype", "set_pii", "undo_personal_guesses"]


def _unsupported_reason(dtype: pa.DataType) -> str | None:
    """None for a type synthpipe models (`synthpipe.resources.types` maps it to Delta), else its name.
    Extension types (DuckDB's and Parquet's UUID) are refused whatever their storage type; of
    the temporal types only dates and timestamps are modelled (times, durations and intervals
    are refused)."""
    if isinstance(dtype, pa.ExtensionType):
        return str(dtype)
    supported = (
        pat.is_integer(dtype)
        or pat.is_floating(dtype)
        or pat.is_boolean(dtype)
        or pat.is_string(dtype)
        or pat.is_large_string(dtype)
        or pat.is_string_view(dtype)
        or pat.is_decimal(dtype)
        or pat.is_date(dtype)
        or pat.is_timestamp(dtype)
        or (pat.is_dictionary(dtype) and _unsupported_reason(dtype.value_type) is None)
        or pat.is_null(dtype)
    )
    return None if supported else str(dtype)


def check_modelable(table: str, schema: pa.Schema) -> None:
    """Raises `UnsupportedColumnError` naming every column whose type no synthesizer can model."""
    bad = [(field.name, reason) for field in schema if (reason := _unsupported_reason(field.type))]
    if bad:
        listed = ", ".join(f"{name!r} ({reason})" for name, reason in bad)
        names = ", ".join(repr(name) for name, _ in bad)
        raise UnsupportedColumnError(
            f"Table {table!r} has columns no synthesizer can model: {listed}. Supported: numbers, booleans, "
            f"text, dates and timestamps. Leave them out with `exclude_columns: [{names}]`, or convert them "
            "in the source (a view that casts them to text or numbers)."
        )


def detect_metadata(
    table: str,
    data: pd.DataFrame,
    overrides: Mapping[str, Mapping[str, Any]],
    sequence: tuple[str, str] | None = None,
    pii: Mapping[str, str] | None = None,
    guessed: list[str] | None = None,
) -> Any:
    """Detects SDV metadata for one table, applies the per-column overrides and, for a
    sequential table, sets the (entity key, order column) pair as sequence key and index.
    Columns SDV guessed personal from their names are learned as their real type instead
    (`undo_personal_guesses`) and appended to `guessed` when it is given.
    """
    from sdv.metadata import Metadata

    unknown = sorted(set(overrides) - set(data.columns))
    if unknown:
        hints = "".join(closest(column, data.columns) for column in unknown)
        raise SynthesizerError(
            f"Table {table!r}: `columns` overrides name columns that are not in the source: {unknown}.{hints} "
            f"Columns: {', '.join(data.columns)}."
        )
    metadata = Metadata.detect_from_dataframes({table: data})
    undone = undo_personal_guesses(metadata, table, data, keep=set(overrides) | set(pii or {}))
    if guessed is not None:
        guessed.extend(undone)
    for column, override in overrides.items():
        values = dict(override)
        sdtype = values.pop("sdtype")
        if sdtype != "id" and metadata.tables[table].primary_key == column:  # declared not to be a key
            metadata.remove_primary_key(table)
        try:
            metadata.update_column(column_name=column, sdtype=sdtype, table_name=table, **values)
        except Exception as error:  # SDV raises several types for bad column metadata
            raise SynthesizerError(f"Table {table!r}, column {column!r}: override {dict(override)} rejected by SDV: {error}") from None
    _set_id_formats(metadata, table, data, set(overrides))
    for column, kind in (pii or {}).items():
        set_pii(metadata, table, data, column, kind)
    if sequence is not None:
        _set_sequence(metadata, table, data, *sequence)
    metadata.validate()
    return metadata


MODELLED_SDTYPES = ("numerical", "categorical", "boolean", "datetime", "id")


def modelled_sdtype(values: pd.Series) -> str:
    """The sdtype a column is learned as from its pandas type alone (never from its name)."""
    family = column_family(values)
    return {"integer": "numerical", "float": "numerical", "string": "categorical"}.get(family, family)


def undo_personal_guesses(metadata: Any, table: str, data: pd.DataFrame, keep: set[str]) -> list[str]:
    """SDV guesses personal columns from their names (`city`, `state`, `first name`) and would
    replace their values with Faker's. synthpipe replaces only what `pii` declares: every
    guessed column not in `keep` is learned as its real type instead. Returns the guessed
    columns, which the source step reports as looking personal.
    """
    guessed = []
    for column, spec in list(metadata.tables[table].columns.items()):
        if column in keep or spec.get("sdtype") in MODELLED_SDTYPES:
            continue
        guessed.append(column)
        if metadata.tables[table].primary_key == column:  # a key must be an ID or personal: not any more
            metadata.remove_primary_key(table)
        metadata.update_column(column_name=column, sdtype=modelled_sdtype(data[column]), table_name=table)
    return guessed


def _set_id_formats(metadata: Any, table: str, data: pd.DataFrame, overridden: set[str]) -> None:
    """Gives every detected ID column a regex format of its own shape. Without one, SDV makes a
    primary key's values with Faker, one row at a time: half the sampling time of a table with
    an ID measured here. Integers keep their digit count (no leading zero); strings their
    positional shape (`synthpipe.resources.id_formats`: `17-293535` gives `[0-9]{2}-[0-9]{6}`), or their
    length when the values share no shape.
    """
    columns = metadata.tables[table].columns
    for column, spec in columns.items():
        if spec.get("sdtype") != "id" or "regex_format" in spec:
            continue
        values = data[column].dropna()
        if pd.api.types.is_integer_dtype(values):
            digits = max(len(str(int(values.abs().max()))) if len(values) else 1, 1)
            # room for more IDs than the source has, within the column's integer type
            widest = len(str(np.iinfo(getattr(values.dtype, "numpy_dtype", values.dtype)).max)) - 1
            digits = min(max(digits + 1, 6), 18, widest)
            regex = f"[1-9][0-9]{{{digits - 1}}}"
        elif pd.api.types.is_string_dtype(values) or values.dtype == object:
            length = int(values.astype(str).str.len().max()) if len(values) else 8
            regex = learn_id_regex(values) or f"[A-Z0-9]{{{min(max(length, 1), 40)}}}"
        else:
            continue
        metadata.update_column(column_name=column, table_name=table, sdtype="id", regex_format=regex)


def set_pii(metadata: Any, table: str, data: pd.DataFrame, column: str, kind: str) -> None:
    """Marks a column personal: SDV generates it fresh with Faker and never learns its values."""
    if column not in data.columns:
        raise SynthesizerError(
            f"Table {table!r}: `pii` names column {column!r}, which the source does not have.{closest(column, data.columns)}"
        )
    try:
        metadata.update_column(column_name=column, sdtype=kind, pii=True, table_name=table)
    except Exception as error:  # SDV raises several types for an unknown sdtype
        raise SynthesizerError(
            f"Table {table!r}, column {column!r}: `pii` kind {kind!r} was rejected by SDV ({error}). Use a Faker "
            "provider such as name, email, phone_number, address, company or ssn."
        ) from None


def _set_sequence(metadata: Any, table: str, data: pd.DataFrame, entity_key: str, order_by: str) -> None:
    missing = [c for c in (entity_key, order_by) if c not in data.columns]
    if missing:
        raise SynthesizerError(
            f"Table {table!r}: `sequence` names columns the source does not have: {missing}. Columns: {', '.join(data.columns)}."
        )
    if metadata.tables[table].primary_key == entity_key:
        metadata.remove_primary_key(table)
    metadata.update_column(column_name=entity_key, sdtype="id", table_name=table)
    metadata.set_sequence_key(column_name=entity_key, table_name=table)
    metadata.set_sequence_index(column_name=order_by, table_name=table)
