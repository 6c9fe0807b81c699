"""Every source kind on real servers and files: DuckDB, SQLite, PostgreSQL, MariaDB, Parquet, CSV.

PostgreSQL and MariaDB run on 127.0.0.1 (PostgreSQL: trust authentication, database `test`;
MariaDB: root with an empty password, database `test`). A test that cannot reach one fails with
the command that starts it: CI must not skip them silently.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from synthpipe.errors import SourceError, SourceTableNotFoundError
from synthpipe.factory import build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sql_source import SqlSource

from tests.conftest import worker_database

pytestmark = pytest.mark.integration

POSTGRES_URL = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{worker_database()}"
MARIADB_URL = f"mysql+pymysql://root:@127.0.0.1:3306/{worker_database()}"
_START = {
    "postgresql": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "mysql": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}
ODD_NAME = 'adult "raw"; DROP TABLE x; --'


def _engine_or_fail(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        backend = engine.url.get_backend_name()
        pytest.fail(f"{backend} is not reachable at {engine.url.render_as_string()}: {error.orig}. Start it: {_START[backend]}")
    return engine


@pytest.fixture
def sql_table(adult_slice: pd.DataFrame) -> Iterator[Callable[[str, str], str]]:
    """Loads the Adult slice into a real database under a fresh table name; drops it afterwards."""
    created: list[tuple[sa.Engine, str]] = []

    def load(url: str, name: str | None = None) -> str:
        engine = _engine_or_fail(url)
        table = name or f"adult_{uuid.uuid4().hex[:8]}"
        adult_slice.to_sql(table, engine, index=False, if_exists="replace", chunksize=500)
        created.append((engine, table))
        return table

    yield load
    for engine, table in created:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {engine.dialect.identifier_preparer.quote(table)}"))
        engine.dispose()


def _source_only(config: dict[str, Any], instance: dg.DagsterInstance) -> dict[str, Any]:
    """Materializes only source/<t> and returns its metadata."""
    definitions = build_synthpipe_defs(config)
    result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(["adult", "source"])]
    )
    [event] = result.asset_materializations_for_node("adult__source")
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}


def _config(data_dir: Path, source: dict[str, Any], **table: Any) -> dict[str, Any]:
    return {"data_dir": str(data_dir), "source": source, "tables": [{"name": "adult", **table}]}


@pytest.mark.parametrize("kind", ["duckdb", "sqlite", "postgresql", "mariadb", "parquet", "csv"])
def test_the_same_pipeline_runs_on_each_source_kind(kind, data_dir, source_db, adult_slice, sql_table, run_refresh):
    # Setup: the same real rows in each kind of source
    table_name = "adult"
    if kind == "duckdb":
        source = {"kind": "duckdb", "database": "sources/adult.duckdb"}
    elif kind == "sqlite":
        url = f"sqlite:///{data_dir / 'sources' / 'adult.sqlite'}"
        table_name = sql_table(url)
        source = {"kind": "sql", "url": url}
    elif kind == "postgresql":
        table_name = sql_table(POSTGRES_URL)
        source = {"kind": "sql", "url": POSTGRES_URL}
    elif kind == "mariadb":
        table_name = sql_table(MARIADB_URL)
        source = {"kind": "sql", "url": MARIADB_URL}
    else:
        folder = data_dir / "exports"
        folder.mkdir(parents=True)
        if kind == "parquet":
            pq.write_table(pa.Table.from_pandas(adult_slice, preserve_index=False), folder / "adult.parquet")
        else:
            adult_slice.to_csv(folder / "adult.csv", index=False)
        source = {"kind": kind, "path": "exports"}

    # Run: the whole nightly refresh, source to published
    result = run_refresh(_config(data_dir, source, source_table=table_name, quality_threshold=0.6))

    # Assert
    assert result.success
    [event] = result.asset_materializations_for_node("adult__source")
    metadata = {key: getattr(value, "value", value) for key, value in event.metadata.items()}
    assert metadata["dagster/row_count"] == len(adult_slice)
    assert [c.name for c in metadata["dagster/column_schema"].columns] == list(adult_slice.columns)
    published = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read("adult")
    assert len(published) == len(adult_slice) and list(published.columns) == list(adult_slice.columns)


def test_query_and_row_limit_are_pushed_to_postgres(data_dir, sql_table, adult_slice, instance):
    # Setup
    table = sql_table(POSTGRES_URL)
    query = f'SELECT * FROM "{table}" WHERE age >= 40'

    # Run
    queried = _source_only(_config(data_dir, {"kind": "sql", "url": POSTGRES_URL}, query=query), instance)
    capped = _source_only(_config(data_dir, {"kind": "sql", "url": POSTGRES_URL}, source_table=table, row_limit=300), instance)

    # Assert
    assert queried["dagster/row_count"] == int((adult_slice["age"] >= 40).sum())
    assert capped["dagster/row_count"] == 300
    assert capped["synthpipe/row_limit"] == 300


@pytest.mark.parametrize("url", [POSTGRES_URL, MARIADB_URL, "sqlite:///{dir}/odd.sqlite"], ids=["postgresql", "mariadb", "sqlite"])
def test_odd_table_names_are_quoted_not_executed(url, data_dir, sql_table, adult_slice):
    # Setup: a name with quotes, spaces and a semicolon, next to a table it must not touch
    url = url.format(dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    odd = sql_table(url, ODD_NAME)
    bystander = sql_table(url)

    # Run
    arrow = SqlSource(url=url).read_table(odd)

    # Assert
    assert arrow.num_rows == len(adult_slice)
    assert bystander in sa.inspect(sa.create_engine(url)).get_table_names()


def test_missing_table_lists_the_tables_there(sql_table):
    table = sql_table(POSTGRES_URL)
    with pytest.raises(SourceTableNotFoundError) as raised:
        SqlSource(url=POSTGRES_URL).read_table(table + "x")
    message = str(raised.value)
    assert f"Source table '{table}x' was not found" in message and f"Did you mean '{table}'?" in message


def test_wrong_password_names_the_server_not_the_password():
    # MariaDB checks passwords (PostgreSQL here trusts every local connection)
    _engine_or_fail(MARIADB_URL)
    with pytest.raises(SourceError) as raised:
        SqlSource(url=f"mysql+pymysql://root:N0t-the-password@127.0.0.1:3306/{worker_database()}").read_table("adult")
    message = str(raised.value)
    assert f"Cannot connect to the source database 'mysql+pymysql://root:***@127.0.0.1:3306/{worker_database()}'" in message
    assert "Access denied" in message and "Check `source.url`" in message
    assert "N0t-the-password" not in message


def test_unreachable_database_fails_fast_and_clearly():
    with pytest.raises(SourceError, match=r"Cannot connect to the source database 'postgresql\+psycopg2://u:\*\*\*@127\.0\.0\.1:9/x'"):
        SqlSource(url="postgresql+psycopg2://u:secret@127.0.0.1:9/x", connect_timeout_s=2).read_table("adult")


def test_missing_driver_says_what_to_install():
    with pytest.raises(SourceError, match=re.escape("Install it: pip install 'synthpipe[postgres]'")):
        SqlSource(url="postgresql+notadriver://u@h/db").read_table("adult")


def test_missing_file_lists_the_files_there(data_dir, adult_slice, instance):
    folder = data_dir / "exports"
    folder.mkdir(parents=True)
    adult_slice.to_csv(folder / "adult.csv", index=False)
    from synthpipe.resources.file_source import FileSource

    with pytest.raises(SourceTableNotFoundError, match=r"Source table 'adults' was not found .* Did you mean 'adult'\?"):
        FileSource(path=str(folder), format="csv").read_table("adults")


@pytest.mark.slow
def test_nightly_refresh_from_postgres_with_credentials_from_the_environment(
    run_refresh, data_dir, sql_table, adult_slice, monkeypatch
):
    # Setup: the URL (with a password PostgreSQL's trust authentication ignores) comes from the environment
    table = sql_table(POSTGRES_URL)
    monkeypatch.setenv("SYNTHPIPE_TEST_PG_URL", f"postgresql+psycopg2://postgres:pg-s3cret@127.0.0.1:5432/{worker_database()}")
    config = _config(
        data_dir, {"kind": "sql", "url": {"env": "SYNTHPIPE_TEST_PG_URL"}}, source_table=table, quality_threshold=0.5, fit_rows=600
    )

    # Run
    result = run_refresh(config)

    # Assert
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    assert int(version["rows"]) == len(adult_slice) and version["fit_rows"] == "600"
    logged = "\n".join(str(event) for event in result.all_events)
    assert "pg-s3cret" not in logged
    from mlflow import MlflowClient

    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    run = MlflowClient(tracking_uri=uri).get_run(version["mlflow_run_id"])
    assert not any("pg-s3cret" in str(v) for v in [*run.data.params.values(), *run.data.tags.values()])


def test_object_store_urls_go_through_arrow_filesystems():
    # Setup: an s3:// URL (credentials in it) whose endpoint is a closed local port: nothing leaves the machine
    from synthpipe.resources.file_source import FileSource

    source = FileSource(
        path="s3://AKIAEXAMPLE:s3cr3t@synthpipe-bucket/exports?region=us-east-1&endpoint_override=127.0.0.1:9&scheme=http",
        format="parquet",
    )

    # Run
    filesystem, root = source._filesystem()
    with pytest.raises(SourceError) as raised:
        source.read_table("adult")

    # Assert
    assert type(filesystem).__name__ == "S3FileSystem" and root == "synthpipe-bucket/exports"
    message = str(raised.value)
    assert "Table 'adult': cannot reach parquet folder 's3://***@synthpipe-bucket/exports" in message
    assert "s3cr3t" not in message


def test_batches_whose_values_read_as_different_types_are_unified(tmp_path):
    # Setup: a SQLite table (types come from the values) read two rows at a time, so one
    # batch holds only empty cells of `score` and one only whole numbers of `ratio`
    database = tmp_path / "batches.sqlite"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (score, ratio)"))
        connection.execute(sa.text("INSERT INTO t VALUES (NULL, 1), (NULL, 2), (3, 2.5), (4, NULL), (5, 3)"))
    engine.dispose()

    # Run
    arrow = SqlSource(url=f"sqlite:///{database}", batch_rows=2).read_table("t")

    # Assert: one type per column, the wider one, every value kept
    assert arrow.schema.field("score").type == pa.int64() and arrow.column("score").to_pylist() == [None, None, 3, 4, 5]
    assert arrow.schema.field("ratio").type == pa.float64() and arrow.column("ratio").to_pylist() == [1.0, 2.0, 2.5, None, 3.0]
