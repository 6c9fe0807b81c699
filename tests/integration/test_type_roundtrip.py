"""Schema in = schema out: one real refresh per source kind (Parquet, DuckDB, PostgreSQL) of a
table with one column per Arrow type that source produces; the published Delta version keeps
every column's type (as Delta stores it), its range and its nulls.

The corpus is a shape-of-input corpus: invented values in each type, beside two real-data-like
numeric columns (a skewed amount, an age).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import DuckDBSource
from synthpipe.resources.sql_source import SqlSource

from tests.conftest import worker_database

pytestmark = pytest.mark.integration

ROWS = 300
POSTGRES_URL = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{worker_database()}"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
BERLIN = "Europe/Berlin"


def _expected(source: pa.DataType) -> pa.DataType:
    """What Delta stores for each source type, written out independently of synthpipe.resources.types."""
    if pa.types.is_dictionary(source):
        return _expected(source.value_type)
    if pa.types.is_timestamp(source):
        return pa.timestamp("us", tz="UTC") if source.tz else pa.timestamp("us")
    table = {
        pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64(), pa.uint64(): pa.decimal128(20, 0),
        pa.float16(): pa.float32(), pa.large_string(): pa.string(), pa.null(): pa.string(), pa.date64(): pa.date32(),
    }
    return table.get(source, source)


def _spread(rng: np.random.Generator, low: int, high: int) -> np.ndarray:
    """Integers across a type's range that repeat (unique ones would be detected as an ID)."""
    return rng.choice(np.linspace(low, high, 60, dtype=np.float64).round(), ROWS)


def _corpus() -> pa.Table:
    rng = np.random.default_rng(11)
    nulls = rng.random(ROWS) < 0.1
    days = rng.integers(0, (dt.date(2198, 12, 31) - dt.date(1900, 1, 1)).days, ROWS)
    seconds = rng.integers(0, 3 * 365 * 86400, ROWS)
    base = np.datetime64("2024-01-01T00:00:00", "us")
    stamps = base + seconds.astype("timedelta64[s]").astype("timedelta64[us]")
    amount = np.round(rng.lognormal(9, 1.2, ROWS), 4)
    categories = np.array(["north", "south", "east", "west"])
    return pa.table({
        "amount": pa.array([f"{v:.4f}" for v in amount]).cast(pa.decimal128(18, 4)),
        "age": pa.array(np.clip(rng.normal(41, 13, ROWS), 17, 90).astype("int64")),
        "tiny": pa.array(rng.integers(-128, 128, ROWS).astype("int8")),
        "small": pa.array(_spread(rng, -30_000, 30_000).astype("int16")),
        "medium": pa.array(_spread(rng, -2_000_000_000, 2_000_000_000).astype("int32")),
        "large": pa.array(_spread(rng, -(10**15), 10**15).astype("int64")),
        "count_with_nulls": pa.array(rng.integers(0, 50, ROWS), mask=nulls, type=pa.int64()),
        "unsigned_tiny": pa.array(rng.integers(0, 256, ROWS).astype("uint8")),
        "unsigned_small": pa.array(_spread(rng, 0, 65_535).astype("uint16")),
        "unsigned_medium": pa.array(_spread(rng, 0, 2**32 - 1).astype("uint32")),
        "unsigned_large": pa.array(_spread(rng, 0, 2**40).astype("uint64")),
        "ratio32": pa.array(rng.random(ROWS).astype("float32")),
        "ratio64": pa.array(rng.normal(0, 1e6, ROWS)),
        "half": pa.array(rng.random(ROWS).astype("float16")),
        "flag": pa.array(rng.random(ROWS) < 0.4),
        "flag_with_nulls": pa.array(rng.random(ROWS) < 0.4, mask=nulls, type=pa.bool_()),
        "region": pa.array(categories[rng.integers(0, 4, ROWS)]),
        "region_large": pa.array(categories[rng.integers(0, 4, ROWS)], type=pa.large_string()),
        "region_dictionary": pa.array(categories[rng.integers(0, 4, ROWS)]).dictionary_encode(),
        "note_empty": pa.nulls(ROWS, pa.string()),
        "born": pa.array(np.datetime64("1900-01-01") + days.astype("timedelta64[D]"), type=pa.date32()),
        "at_utc": pa.array(stamps, type=pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        "at_berlin": pa.array(stamps, type=pa.timestamp("us")).cast(pa.timestamp("us", tz=BERLIN)),
        "at_naive": pa.array(stamps, type=pa.timestamp("us")),
        "at_nanos": pa.array(stamps, type=pa.timestamp("us")).cast(pa.timestamp("ns")),
    })


def _parquet(folder: Path) -> tuple[dict[str, Any], pa.Table]:
    exports = folder / "exports"
    exports.mkdir(parents=True)
    corpus = _corpus()
    pq.write_table(corpus, exports / "types.parquet")
    source = {"kind": "parquet", "path": "exports"}
    return source, pq.read_table(exports / "types.parquet")


def _duckdb(folder: Path) -> tuple[dict[str, Any], pa.Table]:
    (folder / "sources").mkdir(parents=True)
    database = folder / "sources" / "types.duckdb"
    corpus = _corpus().drop_columns(["half"])  # DuckDB has no 16-bit float
    with duckdb.connect(str(database)) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("corpus", corpus)
        connection.execute(
            "CREATE TABLE types AS SELECT *, "
            "TIMESTAMP '2024-01-01' + to_seconds(CAST(tiny AS BIGINT) * 86400 + 3600) AS made_at, "
            "CAST(TIMESTAMP '2024-01-01' + to_seconds(CAST(small AS BIGINT) * 60) AS TIMESTAMPTZ) AS made_at_tz, "
            "CAST(DATE '1900-01-01' + CAST(unsigned_small AS INTEGER) AS DATE) AS made_on, "
            "CAST(NULL AS VARCHAR) AS empty_text, "
            "CAST(amount AS DECIMAL(9,2)) AS price, "
            "CAST(region AS ENUM('north', 'south', 'east', 'west')) AS region_enum, "
            "CAST(CAST(tiny AS BIGINT) * 1000003 AS HUGEINT) AS huge "
            "FROM corpus"
        )
    source = {"kind": "duckdb", "database": "sources/types.duckdb"}
    return source, DuckDBSource(database=str(database)).read_table("types")


def _postgres(folder: Path, table: str) -> tuple[dict[str, Any], pa.Table]:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        engine.connect().close()
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error.orig}. Start it: {START_POSTGRES}")
    corpus = _corpus().to_pydict()
    rows = [
        {
            "amount": corpus["amount"][i], "age": corpus["age"][i], "small": corpus["small"][i], "medium": corpus["medium"][i],
            "large": corpus["large"][i], "count_with_nulls": corpus["count_with_nulls"][i], "ratio32": corpus["ratio32"][i],
            "ratio64": corpus["ratio64"][i], "flag": corpus["flag"][i], "flag_with_nulls": corpus["flag_with_nulls"][i],
            "region": corpus["region"][i], "note_empty": None, "born": corpus["born"][i], "at_naive": corpus["at_naive"][i],
            "at_utc": corpus["at_utc"][i],
        }
        for i in range(ROWS)
    ]
    with engine.begin() as connection:
        connection.execute(sa.text(
            f'CREATE TABLE "{table}" (amount NUMERIC(18,4), age INTEGER, small SMALLINT, medium INTEGER, large BIGINT, '
            "count_with_nulls BIGINT, ratio32 REAL, ratio64 DOUBLE PRECISION, flag BOOLEAN, flag_with_nulls BOOLEAN, "
            "region TEXT, note_empty VARCHAR(40), born DATE, at_naive TIMESTAMP, at_utc TIMESTAMPTZ)"
        ))
        connection.execute(sa.table(table, *(sa.column(c) for c in rows[0])).insert(), rows)
    engine.dispose()
    return {"kind": "sql", "url": POSTGRES_URL}, SqlSource(url=POSTGRES_URL).read_table(table)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[pa.Table, pa.Table]]]:
    """Source kind -> (the source's Arrow table, the published Delta version), one refresh each."""
    postgres_table = f"types_{uuid.uuid4().hex[:8]}"
    results = {}
    with dg.instance_for_test() as instance:
        for kind in ("parquet", "duckdb", "postgresql"):
            folder = tmp_path_factory.mktemp(kind) / "synthpipe"
            if kind == "parquet":
                source, arrow = _parquet(folder)
            elif kind == "duckdb":
                source, arrow = _duckdb(folder)
            else:
                source, arrow = _postgres(folder, postgres_table)
            table = {
                "name": "types", "source_table": postgres_table if kind == "postgresql" else "types",
                "synthesizer": "gaussian_copula", "quality_threshold": 0.1, "seed": 5,
                "gate_severity": {"dcr": "warn", "exact_copies": "warn", "value_leaks": "warn"},
            }
            config = {"data_dir": str(folder), "source": source, "mlflow": {"experiment": "types"}, "tables": [table]}
            result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, raise_on_error=False)
            failures = [
                f"{kind} {e.event_specific_data.check_name}: "
                + "; ".join(f"{k}={getattr(v, 'value', v)}" for k, v in e.event_specific_data.metadata.items())
                for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
            ] + [str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure]
            assert result.success, "\n".join(failures)
            results[kind] = (arrow, DeltaSnapshotStore(root=str(folder / "snapshots")).read_arrow("types"))
    yield results
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP TABLE IF EXISTS "{postgres_table}"'))
    engine.dispose()


CASES = [
    (kind, column)
    for kind, columns in {
        "parquet": [f.name for f in _corpus().schema],
        "duckdb": [f.name for f in _corpus().schema if f.name != "half"]
        + ["made_at", "made_at_tz", "made_on", "empty_text", "price", "region_enum", "huge"],
        "postgresql": ["amount", "age", "small", "medium", "large", "count_with_nulls", "ratio32", "ratio64", "flag",
                       "flag_with_nulls", "region", "note_empty", "born", "at_naive", "at_utc"],
    }.items()
    for column in columns
]


def _comparable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return column.cast(kind.value_type)
    if pa.types.is_timestamp(kind):
        return column.cast(pa.timestamp(kind.unit, tz="UTC" if kind.tz else None)).cast(pa.timestamp("us", tz="UTC" if kind.tz else None))
    if pa.types.is_float16(kind):
        return column.cast(pa.float32())
    return column


@pytest.mark.parametrize(("kind", "column"), CASES, ids=[f"{k}-{c}" for k, c in CASES])
def test_published_column_keeps_the_source_type_range_and_nulls(refreshed, kind, column):
    # Setup
    source, published = refreshed[kind]
    source_column, published_column = source.column(column), published.column(column)

    # Run: nothing; one refresh per kind ran in the fixture

    # Assert: type as Delta stores it
    assert published_column.type == _expected(source.schema.field(column).type), (
        f"{kind} {column}: source {source.schema.field(column).type} published as {published_column.type}"
    )
    # Assert: nulls kept, all-empty stays all-empty
    assert (published_column.null_count > 0) == (source_column.null_count > 0)
    assert (published_column.null_count == len(published_column)) == (source_column.null_count == len(source_column))
    if source_column.null_count == len(source_column):
        return
    # Assert: values within the source's range (text within its values)
    real, twin = _comparable(source_column), _comparable(published_column)
    if pa.types.is_string(twin.type) or pa.types.is_large_string(twin.type) or pa.types.is_boolean(twin.type):
        assert set(pc.unique(twin).to_pylist()) - {None} <= set(pc.unique(real).to_pylist())
        return
    low, high = pc.min_max(real).values()
    twin_low, twin_high = pc.min_max(twin.cast(real.type) if real.type != twin.type else twin).values()
    assert low.as_py() <= twin_low.as_py() and twin_high.as_py() <= high.as_py(), (
        f"{kind} {column}: twin range {twin_low} .. {twin_high} outside source {low} .. {high}"
    )
