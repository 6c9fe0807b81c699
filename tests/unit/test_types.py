"""synthpipe.resources.types: the source type -> model frame -> Delta type mapping, value by value."""

from __future__ import annotations

import datetime as dt
import decimal
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synthpipe.assets.split import publishable_schema
from synthpipe.errors import UnsupportedColumnError
from synthpipe.resources.metadata import _unsupported_reason
from synthpipe.resources.types import delta_type, to_model_frame, to_source_arrow

pytestmark = pytest.mark.unit

DELTA_TYPES = [
    (pa.int8(), pa.int8()),
    (pa.int16(), pa.int16()),
    (pa.int32(), pa.int32()),
    (pa.int64(), pa.int64()),
    (pa.uint8(), pa.int16()),
    (pa.uint16(), pa.int32()),
    (pa.uint32(), pa.int64()),
    (pa.uint64(), pa.decimal128(20, 0)),
    (pa.float16(), pa.float32()),
    (pa.float32(), pa.float32()),
    (pa.float64(), pa.float64()),
    (pa.bool_(), pa.bool_()),
    (pa.string(), pa.string()),
    (pa.large_string(), pa.string()),
    (pa.string_view(), pa.string()),
    (pa.dictionary(pa.int32(), pa.string()), pa.string()),
    (pa.null(), pa.string()),
    (pa.decimal128(18, 4), pa.decimal128(18, 4)),
    (pa.decimal256(38, 2), pa.decimal128(38, 2)),
    (pa.decimal256(50, 2), pa.float64()),
    (pa.date32(), pa.date32()),
    (pa.date64(), pa.date32()),
    (pa.timestamp("s"), pa.timestamp("us")),
    (pa.timestamp("ns"), pa.timestamp("us")),
    (pa.timestamp("us", tz="UTC"), pa.timestamp("us", tz="UTC")),
    (pa.timestamp("ms", tz="Europe/Berlin"), pa.timestamp("us", tz="UTC")),
]


@pytest.mark.parametrize(("source", "published"), DELTA_TYPES, ids=[str(s) for s, _ in DELTA_TYPES])
def test_delta_type_of_each_source_type(source, published):
    # Setup / Run
    mapped = delta_type(source)

    # Assert
    assert mapped == published


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Berlin"])
def test_timestamps_are_modelled_in_nanoseconds_and_come_back_as_the_same_instant(unit, tz):
    # Setup: 2024-06-01 12:00 UTC in every unit and zone
    moment = dt.datetime(2024, 6, 1, 12, tzinfo=dt.timezone.utc)
    stored = moment if tz else moment.replace(tzinfo=None)
    table = pa.table({"at": pa.array([stored, None], type=pa.timestamp(unit, tz=tz))})

    # Run
    frame = to_model_frame(table)
    back = to_source_arrow(frame, table.schema)

    # Assert: the model sees UTC wall time in ns, never 1970; Delta gets the same instant in us
    assert str(frame["at"].dtype) == "datetime64[ns]"
    assert frame["at"][0] == pd.Timestamp("2024-06-01 12:00")
    assert back.schema.field("at").type == pa.timestamp("us", tz="UTC" if tz else None)
    assert back.column("at").to_pylist() == [stored if tz is None else moment, None]


def test_dates_are_modelled_as_datetimes_and_come_back_as_dates():
    # Setup
    table = pa.table({"born": pa.array([dt.date(1900, 1, 1), dt.date(2198, 12, 31), None])})

    # Run
    frame = to_model_frame(table)
    sampled = frame.assign(born=frame["born"] + pd.Timedelta(hours=13))  # a model's time of day is dropped
    back = to_source_arrow(sampled, table.schema)

    # Assert
    assert str(frame["born"].dtype) == "datetime64[ns]"
    assert back.column("born").to_pylist() == [dt.date(1900, 1, 1), dt.date(2198, 12, 31), None]


def test_dates_outside_what_the_model_holds_are_refused_with_the_column_and_the_fix():
    # Setup
    table = pa.table({"founded": pa.array([dt.date(1066, 10, 14)])})

    # Run / Assert
    with pytest.raises(UnsupportedColumnError, match=re.escape("Column 'founded' (date32[day]) holds values from 1066-10-14")):
        to_model_frame(table)


def test_sampled_values_are_rounded_and_clipped_to_the_source_types():
    # Setup: a model's floats for a decimal, integer widths, unsigned ones and a boolean with nulls
    schema = pa.schema([
        ("price", pa.decimal128(6, 2)), ("tiny", pa.int8()), ("byte", pa.uint8()), ("flag", pa.bool_()), ("ratio", pa.float32()),
    ])
    sampled = pd.DataFrame({
        "price": [12.3456, 99999.999, np.nan],
        "tiny": [3.6, 300.0, np.nan],
        "byte": [255.0, -4.0, 17.2],
        "flag": pd.Series([True, np.nan, False], dtype=object),
        "ratio": [0.5, 1.25, np.nan],
    })

    # Run
    back = to_source_arrow(sampled, schema)

    # Assert
    assert back.schema == pa.schema([
        ("price", pa.decimal128(6, 2)), ("tiny", pa.int8()), ("byte", pa.int16()), ("flag", pa.bool_()), ("ratio", pa.float32()),
    ])
    assert back.column("price").to_pylist() == [decimal.Decimal("12.35"), decimal.Decimal("9999.99"), None]
    assert back.column("tiny").to_pylist() == [4, 127, None]
    assert back.column("byte").to_pylist() == [255, 0, 17]
    assert back.column("flag").to_pylist() == [True, None, False]


@pytest.mark.parametrize("source", [pa.string(), pa.int32(), pa.decimal128(18, 4), pa.date32(), pa.timestamp("us", tz="UTC"), pa.null()])
def test_a_column_with_only_nulls_keeps_its_type(source):
    # Setup: SDV samples an all-empty column as objects or NaN
    schema = pa.schema([("empty", source)])
    sampled = pd.DataFrame({"empty": [np.nan, None]}, dtype=object)

    # Run
    back = to_source_arrow(sampled, schema)

    # Assert
    assert back.schema.field("empty").type == delta_type(source)
    assert back.column("empty").null_count == 2


def test_text_and_dictionary_columns_are_modelled_as_values():
    # Setup
    table = pa.table({"region": pa.array(["north", "south", None]).dictionary_encode(), "note": pa.array(["a", "b", "c"], pa.large_string())})

    # Run
    frame = to_model_frame(table)
    back = to_source_arrow(frame, table.schema)

    # Assert
    assert frame["region"].tolist()[:2] == ["north", "south"]
    assert back.schema == pa.schema([("region", pa.string()), ("note", pa.string())])


def test_columns_differing_only_in_case_are_refused_before_anything_is_fitted():
    # Setup
    schema = pa.schema([("Amount", pa.int64()), ("amount", pa.int64()), ("age", pa.int64())])

    # Run / Assert
    with pytest.raises(UnsupportedColumnError, match=re.escape("Columns 'Amount' and 'amount' differ only in case")):
        publishable_schema(schema)


@pytest.mark.parametrize(
    ("dtype", "refused"),
    [
        (pa.month_day_nano_interval(), True),
        (pa.uuid(), True),
        (pa.time64("us"), True),
        (pa.duration("us"), True),
        (pa.binary(), True),
        (pa.list_(pa.int8()), True),
        (pa.struct([("a", pa.int8())]), True),
        (pa.string_view(), False),
        (pa.date64(), False),
        (pa.float16(), False),
        (pa.dictionary(pa.int8(), pa.string()), False),
    ],
    ids=str,
)
def test_types_synthpipe_cannot_model_are_refused_at_the_source(dtype, refused):
    # Setup / Run
    reason = _unsupported_reason(dtype)

    # Assert
    assert (reason is not None) == refused
