"""Runs that meet a broken outside world: an MLflow run left RUNNING by a killed run, an MLflow
server nobody listens on, a setting's environment variable that is not set. Each ends with a
message that names the setting and the fix, and leaves the published versions as they were.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.tracking import HTTP_REQUEST_BOUNDS
from tests.conftest import assert_unchanged, step_error, with_table, worker_database

pytestmark = pytest.mark.integration

FAST = {"synthesizer": "gaussian_copula", "num_rows": 300}
# PostgreSQL on 127.0.0.1 with trust authentication (see tests/integration/test_sources.py): it
# accepts any password, so a URL can carry one that must never show.
POSTGRES = f"postgresql+psycopg2://postgres:{{password}}@127.0.0.1:5432/{worker_database()}"


def _client(data_dir: Path) -> MlflowClient:
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _log_lines(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(run_id)]


def _event_log_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Everything the run's event log holds: messages, metadata, errors."""
    return "\n".join(str(entry) for entry in instance.all_logs(run_id))


def _run_errors(result: dg.ExecuteInProcessResult) -> str:
    """The message of every error the run recorded (resource set-up included), causes too."""
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return "\n".join(messages)


# --- a killed run's MLflow run -----------------------------------------------------------------


def test_mlflow_runs_left_running_are_killed_when_the_table_runs_again(run_refresh, base_config, data_dir, instance):
    # Setup: a finished night, then MLflow runs left RUNNING as a killed process leaves them:
    # one of that finished Dagster run, one of a run this instance never knew, one of another table
    config = with_table(base_config, **FAST)
    night = run_refresh(config)
    assert night.success, step_error(night)
    client = _client(data_dir)
    experiment = client.get_experiment_by_name("synthpipe-test").experiment_id
    left = {
        "finished": client.create_run(experiment, tags={keys.TABLE: "adult", keys.DAGSTER_RUN_ID: night.run_id}).info.run_id,
        "unknown": client.create_run(experiment, tags={keys.TABLE: "adult", keys.DAGSTER_RUN_ID: "no-such-run"}).info.run_id,
        "other table": client.create_run(experiment, tags={keys.TABLE: "census", keys.DAGSTER_RUN_ID: night.run_id}).info.run_id,
    }

    # Run
    result = run_refresh(config)

    # Assert: this table's abandoned runs are KILLED, saying why; the other table's is not touched
    assert result.success, step_error(result)
    finished, unknown, other = (client.get_run(left[name]) for name in ("finished", "unknown", "other table"))
    assert finished.info.status == "KILLED" and unknown.info.status == "KILLED"
    assert finished.data.tags["synthpipe/ended_because"] == (
        f"its Dagster run {night.run_id} is SUCCESS; ended when Dagster run {result.run_id} started"
    )
    assert "no-such-run is unknown to this Dagster instance" in unknown.data.tags["synthpipe/ended_because"]
    assert other.info.status == "RUNNING"
    [fitted] = result.asset_materializations_for_node("adult__synthesizer")
    assert client.get_run(fitted.metadata[keys.MLFLOW_RUN_ID].value).info.status == "FINISHED"
    warnings = [line for line in _log_lines(instance, result.run_id) if "was still RUNNING" in line]
    assert len(warnings) == 2


# --- an MLflow server nobody listens on --------------------------------------------------------


@pytest.fixture
def mlflow_http_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MLFLOW_HTTP_REQUEST_* in the environment, as on a fresh machine: synthpipe's bounds
    apply. Each is set first so that monkeypatch restores the state this test found."""
    for name in HTTP_REQUEST_BOUNDS:
        monkeypatch.setenv(name, "0")
        monkeypatch.delenv(name)


def test_unreachable_mlflow_fails_after_logged_attempts(run_refresh, base_config, store, published_before, instance, mlflow_http_defaults):
    # Setup: nothing listens on port 9
    config = dict(with_table(base_config, **FAST), mlflow={"tracking_uri": "http://127.0.0.1:9"})

    # Run
    result = run_refresh(config)

    # Assert: the error names the setting and the fix; one warning per attempt in the run log
    assert not result.success
    message = step_error(result)
    assert "MLflow experiment lookup failed after 3 attempts against 'http://127.0.0.1:9'" in message
    assert "Check `mlflow.tracking_uri` (or the environment variable it names) and that the store is reachable" in message
    attempts = [line for line in _log_lines(instance, result.run_id) if line.startswith("MLflow experiment lookup against")]
    assert [re.search(r"\(attempt (\d) of 3\)", line).group(1) for line in attempts] == ["1", "2", "3"]
    assert [line.rsplit("; ", 1)[1] for line in attempts] == ["retrying in 0.5 s", "retrying in 1 s", "giving up"]
    assert all(line.endswith("Connection refused; " + line.rsplit("; ", 1)[1]) for line in attempts)
    assert result.asset_materializations_for_node("adult__published") == []
    assert_unchanged(store, published_before)


# --- settings read from the environment ---------------------------------------------------------


def _env_config(base_config: dict[str, Any], setting: str, variable: str) -> dict[str, Any]:
    config = with_table(base_config, **FAST)
    if setting == "source.url":
        config["source"] = {"kind": "sql", "url": {"env": variable}}
    else:
        config["mlflow"] = {**config["mlflow"], "tracking_uri": {"env": variable}}
    return config


@pytest.mark.parametrize("setting", ["source.url", "mlflow.tracking_uri"])
def test_an_unset_variable_names_the_setting_and_the_fix(run_refresh, base_config, store, published_before, monkeypatch, setting):
    # Setup
    variable = f"SYNTHPIPE_TEST_{setting.replace('.', '_').upper()}"
    monkeypatch.delenv(variable, raising=False)
    config = _env_config(base_config, setting, variable)

    # Run
    result = run_refresh(config)

    # Assert: refused when the run started, before any step, and nothing was published
    assert not result.success
    message = _run_errors(result)
    assert "Settings read from the environment are missing; nothing ran (1 problem):" in message
    assert (
        f"`{setting}` is read from the environment variable {variable!r}, which is not set where this run executes. "
        f"Set it for the process that runs Dagster (export {variable}=...) and run again, or give `{setting}` a literal value."
    ) in message
    assert not any(event.is_step_start for event in result.all_events)
    assert_unchanged(store, published_before)


@pytest.fixture
def postgres_adult(adult_slice: pd.DataFrame) -> Iterator[str]:
    """The Adult slice in a fresh table of the local PostgreSQL; dropped afterwards."""
    engine = sa.create_engine(POSTGRES.format(password=""))
    table = f"adult_{uuid.uuid4().hex[:8]}"
    try:
        adult_slice.to_sql(table, engine, index=False, chunksize=500)
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432: {error.orig}. Start it as tests/integration/test_sources.py says.")
    yield table
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
    engine.dispose()


def test_secrets_from_the_environment_stay_out_of_logs_metadata_and_mlflow(
    run_refresh, base_config, data_dir, instance, monkeypatch, postgres_adult
):
    # Setup: the source URL carries a password, the tracking URI comes from the environment too
    password = f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv("SYNTHPIPE_TEST_SOURCE_URL", POSTGRES.format(password=password))
    monkeypatch.setenv("SYNTHPIPE_TEST_TRACKING_URI", f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    config = _env_config(base_config, "source.url", "SYNTHPIPE_TEST_SOURCE_URL")
    config["mlflow"]["tracking_uri"] = {"env": "SYNTHPIPE_TEST_TRACKING_URI"}
    config["tables"][0]["source_table"] = postgres_adult

    # Run
    result = run_refresh(config)

    # Assert: the run read both variables, and the password is nowhere it wrote
    assert result.success, step_error(result)
    assert password not in _event_log_text(instance, result.run_id)
    [fitted] = result.asset_materializations_for_node("adult__synthesizer")
    run = _client(data_dir).get_run(fitted.metadata[keys.MLFLOW_RUN_ID].value)
    assert password not in repr(run.data.params) + repr(run.data.tags)
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    assert password not in repr(version)
