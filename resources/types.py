"""Column types from source to model to Delta, and back: schema in = schema out.

A source's Arrow table is turned into the pandas frame the synthesizers model once
(`to_model_frame`), and every sampled chunk is cast back to the source's schema before it is
staged (`to_source_arrow`), mapped to what Delta Lake can store (`delta_type`). docs/types.md
lists every mapping.

Examples:
    >>> import pyarrow as pa
    >>> delta_type(pa.timestamp("ns", tz="Europe/Berlin"))
    TimestampType(timestamp[us, tz=UTC])
    >>> delta_type(pa.uint8())
    DataType(int16)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.types as pat

from synthpipe.errors import UnsupportedColumnError

__all__ = ["MAX_DELTA_DECIMAL_PRECISION", "case_clashes", "delta_schema", "delta_type", "to_model_frame", "to_source_arrow"]

# Delta's `decimal` holds at most 38 digits.
MAX_DELTA_DECIMAL_PRECISION = 38
# Delta has no unsigned integers: each one goes to the smallest signed type that holds all of its
# values (uint64 to DECIMAL(20,0): no signed 64-bit integer holds 2**64 - 1).
_UNSIGNED = {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.decimal128(20, 0)}
# The models see datetimes in nanoseconds: SDV's datetime transformer reads the integer of a
# datetime64 column as nanoseconds whatever its unit (a microsecond column came back in 1970).
MODEL_TIME_UNIT = "ns"


def delta_type(source: pa.DataType) -> pa.DataType:
    """The Arrow type the published Delta column has for a source column of type `source`.

    Args:
        source: The column's Arrow type as the source returned it.

    Returns:
        The same type where Delta stores it; otherwise the nearest type that keeps every value:
        timestamps in microseconds (tz-aware ones in UTC), dates as `date32`, text as `string`,
        unsigned integers widened, `float16` as `float32`, decimals over 38 digits as `float64`,
        and a column without a type (all empty) as `string`.
    """
    if pat.is_dictionary(source):
        return delta_type(source.value_type)
    if pat.is_string(source) or pat.is_large_string(source) or pat.is_string_view(source) or pat.is_null(source):
        return pa.string()
    if pat.is_unsigned_integer(source):
        return _UNSIGNED[source.bit_width]
    if pat.is_float16(source):
        return pa.float32()
    if pat.is_decimal(source):
        if source.precision > MAX_DELTA_DECIMAL_PRECISION:
            return pa.float64()
        return pa.decimal128(source.precision, source.scale)
    if pat.is_date(source):
        return pa.date32()
    if pat.is_timestamp(source):
        return pa.timestamp("us", tz="UTC" if source.tz else None)
    return source


def delta_schema(schema: pa.Schema) -> pa.Schema:
    """`delta_type` of every field of `schema`."""
    return pa.schema([pa.field(f.name, delta_type(f.type), nullable=True) for f in schema])


def case_clashes(names: Iterable[str]) -> list[list[str]]:
    """Groups of column names that differ only in case: Delta column names are case-insensitive,
    so such a table cannot be published (`Amount` and `amount` would be one column).
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.lower(), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


# --- source to model --------------------------------------------------------------------------


def to_model_frame(table: pa.Table) -> pd.DataFrame:
    """The pandas frame the synthesizers learn from, converted once from the source's Arrow table.

    Dictionary columns become their values, decimals `float64`, `float16` `float32`, dates and
    timestamps `datetime64[ns]` (tz-aware ones as UTC wall time, naive; `to_source_arrow` puts the
    zone back), text `object`. Integers and booleans convert as pandas does (with nulls: `float64`
    and `object`).

    Raises:
        UnsupportedColumnError: A date or timestamp lies outside what nanoseconds hold
            (1677-09-21 to 2262-04-11); the message names the column and the fix.
    """
    columns = [_model_column(name, table.column(name)) for name in table.column_names]
    return pa.table(columns, names=table.column_names).to_pandas()


def _model_column(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pat.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pat.is_large_string(kind) or pat.is_string_view(kind):
        return column.cast(pa.string())
    if pat.is_decimal(kind):
        return column.cast(pa.float64())
    if pat.is_float16(kind):
        return column.cast(pa.float32())
    if pat.is_date(kind) or pat.is_timestamp(kind):
        if pat.is_timestamp(kind) and kind.tz:
            column = column.cast(pa.timestamp(kind.unit))  # the stored values are UTC already
        try:
            return column.cast(pa.timestamp(MODEL_TIME_UNIT))
        except pa.ArrowInvalid:
            raise UnsupportedColumnError(
                f"Column {name!r} ({kind}) holds values from {_bounds(column)}, outside what synthpipe models "
                "(1677-09-21 to 2262-04-11). Leave it out with `exclude_columns`, or cast it in the source "
                "(a view or `query`) to text or to a date within that range."
            ) from None
    return column


def _bounds(column: pa.ChunkedArray) -> str:
    import pyarrow.compute as pc

    extremes = pc.min_max(column)
    return f"{extremes['min']} to {extremes['max']}"


# --- model to Delta -----------------------------------------------------------------------------


def to_source_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Casts sampled rows back to the source's schema, as Delta stores it (`delta_schema`).

    Integers are rounded and clipped to the source type's range, decimals rounded to their scale
    and clipped to their precision, booleans, dates and time zones restored, columns every value
    of which is empty keep their type.

    Args:
        frame: Sampled rows in the model's form (`to_model_frame`), one column per field.
        schema: The source's Arrow schema.

    Raises:
        UnsupportedColumnError: A column is missing from `frame`, or its values cannot take the
            source's type (a `pii` kind whose fake values are text for a numeric column).
    """
    missing = [f.name for f in schema if f.name not in frame.columns]
    if missing:
        raise UnsupportedColumnError(
            f"Sampled rows lack the source columns {missing}; columns sampled: {list(frame.columns)}. "
            "Sample the candidate again from a model fitted on this source."
        )
    arrays = []
    for field in schema:
        try:
            arrays.append(_source_column(frame[field.name], field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as error:
            example = frame[field.name].dropna().head(3).tolist()
            raise UnsupportedColumnError(
                f"Column {field.name!r}: sampled values such as {example} cannot be cast back to the source type "
                f"{field.type} ({str(error).splitlines()[0]}). If the column is declared in `pii`, pick a kind whose "
                "values have that type, or leave the column out with `exclude_columns`."
            ) from None
    return pa.Table.from_arrays(arrays, schema=delta_schema(schema))


def _source_column(values: pd.Series, source: pa.DataType) -> pa.Array:
    if pat.is_dictionary(source):
        source = source.value_type
    target = delta_type(source)
    if pat.is_null(source) or values.isna().all():
        return pa.nulls(len(values), target)
    if pat.is_integer(source):
        return _integers(values, source, target)
    if pat.is_decimal(source):
        return _decimals(values, source, target)
    if pat.is_floating(source):
        return pa.array(pd.to_numeric(values), from_pandas=True).cast(target, safe=False)
    if pat.is_boolean(source):
        return pa.array(values if pd.api.types.is_bool_dtype(values) else values.astype("boolean"), type=pa.bool_())
    if pat.is_date(source):
        return pa.array(pd.to_datetime(values).dt.floor("D"), from_pandas=True).cast(target)
    if pat.is_timestamp(source):
        stamps = pd.to_datetime(values)
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        naive = pa.array(stamps.dt.floor("us"), from_pandas=True).cast(pa.timestamp("us"))
        return naive.cast(target)  # a naive value read as UTC: the zone comes back, the instant stays
    if pa.types.is_string(target):
        present = values.notna()
        text = values.where(~present, values.astype(str)) if not pd.api.types.is_string_dtype(values) else values
        return pa.array(text, type=pa.string(), from_pandas=True)
    return pa.array(values, from_pandas=True).cast(target)


def _integers(values: pd.Series, source: pa.DataType, target: pa.DataType) -> pa.Array:
    info = np.iinfo(source.to_pandas_dtype())
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_extension_array_dtype(values):
        if info.min <= values.min() and values.max() <= info.max:  # already whole and in range: exact
            return pa.array(values.to_numpy()).cast(target)
    numbers = pd.to_numeric(values).astype("float64").round()
    clipped = numbers.clip(lower=float(info.min), upper=float(info.max))
    if source.bit_width == 64:  # float64 rounds 2**63 - 1 up to 2**63: keep the ends inside int64
        clipped = clipped.clip(upper=np.nextafter(float(info.max), 0.0))
    return pa.array(clipped, from_pandas=True).cast(target, safe=False)


def _decimals(values: pd.Series, source: pa.DataType, target: pa.DataType) -> pa.Array:
    numbers = pd.to_numeric(values).astype("float64")
    if pat.is_floating(target):
        return pa.array(numbers, from_pandas=True)
    largest = 10.0 ** (source.precision - source.scale) - 10.0 ** (-source.scale)
    rounded = numbers.round(source.scale).clip(lower=-largest, upper=largest)
    return pa.array(rounded, from_pandas=True).cast(target, safe=False)
