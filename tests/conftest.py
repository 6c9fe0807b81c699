"""Shared fixtures: a slice of the real Adult table in a real DuckDB file, and a helper that runs
the real refresh job in a temporary data folder with a real Dagster instance.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

# Under pytest-xdist each worker gets its share of the cores for torch's and BLAS's threads
# (read when they are first imported, after this): two processes each spreading over every
# core thrash, and a DP fit took six times as long as alone.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)  # under taskset, its cores
    _share = str(max(1, _cores // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_variable, _share)

from synthpipe.demo_data import load_adult, write_duckdb_table  # noqa: E402 - after the thread shares
from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore

def worker_database() -> str:
    """The database this test process uses on the PostgreSQL and MariaDB servers: `test`, or
    `test_<worker>` for each pytest-xdist worker (`_worker_databases` creates it), so tests
    running at once never share a table."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"test_{worker}" if worker else "test"


@pytest.fixture(scope="session", autouse=True)
def _worker_databases() -> None:
    """Creates this xdist worker's databases where the servers run; where one does not, the
    tests that need it fail with the command that starts it."""
    name = worker_database()
    if name == "test":
        return
    try:
        import psycopg2

        connection = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
    except Exception:  # noqa: BLE001 - reported by the tests that need PostgreSQL
        pass
    try:
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", connect_timeout=3)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
        connection.close()
    except Exception:  # noqa: BLE001 - reported by the tests that need MariaDB
        pass


# The longest modules, longest first, from a parallel run's `--durations` (docs/development.md).
# `make test` hands whole modules to the xdist workers in collection order
# (`--no-loadscope-reorder`); started first, the long ones no longer run alone at the end while
# the other worker idles. A module missing here keeps its place after them.
LONGEST_FIRST = (
    "test_demo.py", "test_fleet.py", "test_bad_inputs.py", "test_ui.py", "test_argn.py", "test_privacy_dp.py",
    "test_auto.py", "test_change_detection.py", "test_groups.py", "test_nightly_refresh.py", "test_sources.py",
    "test_type_roundtrip.py", "test_contracts.py", "test_privacy_gates.py", "test_argn_groups.py", "test_sequences.py",
    "test_isolation.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


# Small enough to keep each refresh to a few seconds on two cores, large enough for SDMetrics.
SLICE_ROWS = 1_200


@pytest.fixture(scope="session")
def adult_slice() -> pd.DataFrame:
    return load_adult(rows=SLICE_ROWS, seed=7)


@pytest.fixture(scope="session")
def _mlflow_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with MLflow's schema, created once per test process: creating
    one runs MLflow's migrations (about 1.4 s on two cores), which every test would otherwise
    repeat for the same empty store."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("mlflow-schema")
    SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri())
    return folder / "mlflow.db"


@pytest.fixture
def data_dir(tmp_path: Path, _mlflow_schema: Path) -> Path:
    """A fresh data folder whose MLflow store (the default `mlflow/mlflow.db`) is a copy of the
    empty migrated store: no experiment, run or model in it yet."""
    folder = tmp_path / "synthpipe"
    (folder / "mlflow").mkdir(parents=True)
    shutil.copyfile(_mlflow_schema, folder / "mlflow" / "mlflow.db")
    return folder


@pytest.fixture
def source_db(data_dir: Path, adult_slice: pd.DataFrame) -> Path:
    database = data_dir / "sources" / "adult.duckdb"
    write_duckdb_table(database, "adult", adult_slice)
    return database


@pytest.fixture
def base_config(data_dir: Path, source_db: Path) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": "sources/adult.duckdb"},
        "mlflow": {"experiment": "synthpipe-test"},
        "tables": [{"name": "adult", "quality_threshold": 0.6}],
    }


def served_file(link: str, data_dir: Path) -> Path:
    """The file under the data folder that a link to `synthpipe serve` (the default
    `links.files_url`) opens."""
    from urllib.parse import unquote, urlsplit

    from synthpipe.config import LinksConfig

    base = LinksConfig().files_url
    assert base and link.startswith(base + "/"), f"{link} is not a link to synthpipe serve at {base}"
    return data_dir / unquote(urlsplit(link).path).lstrip("/")


def with_table(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `config` whose first table has `changes` applied."""
    changed = copy.deepcopy(config)
    changed["tables"][0].update(changes)
    return changed


@pytest.fixture
def instance(request: pytest.FixtureRequest) -> Iterator[dg.DagsterInstance]:
    """Dagster's in-memory instance, as `dg.materialize` uses: real runs, events,
    materializations and check evaluations, kept in the test's process. Its SQLite instance
    (created per test, an insert per event) cost 0.4-0.6 s of each refresh; a test that shares
    the instance with another process or the daemon is marked `dagster_on_disk` and gets it."""
    if request.node.get_closest_marker("dagster_on_disk"):
        with dg.instance_for_test() as test_instance:
            yield test_instance
        return
    test_instance = dg.DagsterInstance.ephemeral()
    try:
        yield test_instance
    finally:
        test_instance.dispose()


RunRefresh = Callable[[dict[str, Any]], dg.ExecuteInProcessResult]


@pytest.fixture
def run_refresh(instance: dg.DagsterInstance) -> RunRefresh:
    def run(config: dict[str, Any]) -> dg.ExecuteInProcessResult:
        # The attack risks (anonymeter, several seconds a table) run where a test sets `attack_rows`;
        # the tests about attacks do, the others leave them out.
        config = copy.deepcopy(config)
        for table in config.get("tables", []):
            table.setdefault("attack_rows", 0)
        definitions = build_synthpipe_defs(config)
        job = definitions.resolve_job_def(REFRESH_JOB)
        return job.execute_in_process(instance=instance, raise_on_error=False)

    return run


def step_error(result: dg.ExecuteInProcessResult) -> str:
    """The messages of every failed step, causes included."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None:
                messages.append(error.message)
                error = error.cause
    return "\n".join(messages)


@pytest.fixture
def store(data_dir: Path) -> DeltaSnapshotStore:
    return DeltaSnapshotStore(root=str(data_dir / "snapshots"))


@pytest.fixture
def published_before(store: DeltaSnapshotStore, adult_slice: pd.DataFrame) -> pd.DataFrame:
    """A version published by an earlier night, which a failed run must leave untouched."""
    earlier = adult_slice.head(100)
    store.publish("adult", earlier, {"synthpipe/seed": 1})
    return earlier


def assert_unchanged(store: DeltaSnapshotStore, earlier: pd.DataFrame) -> None:
    """The version published before a failed run is still the only one, unchanged."""
    assert store.latest_version("adult") == 0
    assert len(store.history("adult")) == 1
    pd.testing.assert_frame_equal(store.read("adult"), earlier, check_dtype=False)
