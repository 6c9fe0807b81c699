"""The production profile for real: Dagster on PostgreSQL, steps on Celery workers (separate
processes) over RabbitMQ, MLflow as a tracking server on PostgreSQL, sampling chunks as Celery
tasks, and a worker killed mid-step."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from synthpipe.fleet_local import LocalFleet, demo_fleet_config
from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.tracking import MlflowTracker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TABLES = ["adult", "credit", "penguins"]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    # `make test` starts both where they are installed (`make services`), as the other servers' tests expect them
    missing = [name for name, port in (("PostgreSQL", 5432), ("RabbitMQ", 5672)) if not _listening(port)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not running on 127.0.0.1: `make services` starts them where installed")
    folder = tmp_path_factory.mktemp("fleet")
    config = demo_fleet_config(folder / "data", adult_rows=2000)
    config["execution"] = {**config["execution"], "source_pool_limit": 1}  # one source read at a time, across the fleet
    # a slower fit for the kill test to land in: TVAE, bounded by epochs
    config["tables"].append({"name": "adult_tvae", "source_table": "adult", "synthesizer": "tvae", "synthesizer_params": {"epochs": 40},
                             "attack_rows": 0, "quality_threshold": 0.3, "gate_severity": {"dcr": "warn", "value_leaks": "warn"}})
    with LocalFleet(folder, config, name=f"synthpipe_fleet_test_{os.getpid()}", workers=2, chunk_workers=1, drop_databases=True) as running:
        saved = dict(os.environ)
        os.environ.update(running.env)
        try:
            yield running
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _worker_of_steps(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, Celery worker) of every step execution a worker reported, in order."""
    found = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.is_engine_event and "in celery worker" in (event.message or ""):
            metadata = event.engine_event_data.metadata
            found.append((event.step_key, metadata["Celery worker"].value))
    return found


def _spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each step's time on a worker: from the worker's first event of it to its success."""
    starts: dict[str, float] = {}
    spans = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.is_engine_event and "in celery worker" in (event.message or ""):
            starts.setdefault(event.step_key, record.timestamp)
        elif event.is_step_success:
            spans[event.step_key] = (starts[event.step_key], record.timestamp)
    return spans


def _overlap(spans: list[tuple[float, float]]) -> bool:
    ordered = sorted(spans)
    return any(later[0] < earlier[1] for earlier, later in zip(ordered, ordered[1:]))


def _versions(fleet: LocalFleet, table: str) -> list[dict]:
    return DeltaSnapshotStore(root=str(fleet.folder / "data" / "snapshots")).history(table)


def test_the_fleet_publishes_every_table_from_its_workers(fleet: LocalFleet):
    from synthpipe.fleet import run_refresh

    # Run
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        before = {t: len(_versions(fleet, t)) for t in TABLES}
        result = run_refresh(instance)
        steps = _worker_of_steps(instance, result.run_id)
        spans = _spans(instance, result.run_id)
        slots = instance.event_log_storage.get_concurrency_info("synthpipe-source")
        published = {t: instance.get_latest_materialization_event(dg.AssetKey([t, "published"])) for t in TABLES}
        logs = "\n".join(r.user_message or "" for r in instance.all_logs(result.run_id))

    # Assert: every step ran on a Celery worker, and both step workers took some
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    assert {key for key, _ in steps} >= {f"{t}__{stage}" for t in TABLES for stage in ("source", "synthesizer", "synthetic", "published")}
    assert len({worker.split("@")[0] for _, worker in steps}) == 2
    # the pool held source reads to one at a time while the workers ran other steps side by side
    assert slots.slot_count == 1
    assert not _overlap([span for key, span in spans.items() if key.endswith("__source")])
    assert _overlap(list(spans.values()))
    # one new version per table, its lineage in the PostgreSQL-backed instance
    tracker = MlflowTracker(tracking_uri=fleet.mlflow_url)
    for table in TABLES:
        versions = _versions(fleet, table)
        assert len(versions) == before[table] + 1
        assert published[table] is not None and published[table].run_id == result.run_id
        newest = versions[0]
        champion = tracker.client.get_model_version_by_alias(newest["model_name"], "champion")
        assert champion.version == newest["model_version"]
        assert tracker.client.get_run(newest["mlflow_run_id"]).info.status == "FINISHED"
    # the adult twin's chunks were tasks on the chunk worker, and hold the rows one process samples
    assert "each a task on the fleet's chunk workers" in logs
    store = DeltaSnapshotStore(root=str(fleet.folder / "data" / "snapshots"))
    newest = _versions(fleet, "adult")[0]
    assert int(newest["rows"]) > int(newest["sample_chunk_rows"])  # more than one chunk
    again = reproduce("adult", int(newest["version"]), store, tracker)
    assert again.identical, (again.stored_hash, again.regenerated_hash)
    assert not list((fleet.folder / "data" / "staging" / "chunks").rglob("chunk-*.pkl"))


def test_a_worker_killed_mid_step_hands_its_step_to_another(fleet: LocalFleet):
    from synthpipe.fleet import run_refresh

    with dg.DagsterInstance.get() as instance:
        before = {t: _versions(fleet, t) for t in [*TABLES, "adult_tvae"]}
        outcome: dict[str, dg.ExecuteJobResult] = {}
        runner = threading.Thread(target=lambda: outcome.update(result=run_refresh(instance, {"test": "kill"})))
        runner.start()
        # Setup: wait until a worker has started the slow TVAE fit, then kill that worker (SIGKILL,
        # the process and its children: a machine lost)
        killed = None
        deadline = time.monotonic() + 300
        while killed is None and time.monotonic() < deadline and runner.is_alive():
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"test": "kill"}))
            for key, worker in _worker_of_steps(instance, runs[0].run_id) if runs else []:
                if key == "adult_tvae__synthesizer":
                    killed = worker.split("@")[0]
            time.sleep(0.2)
        assert killed is not None, "the TVAE fit never started on a worker"
        fleet.kill(killed)

        # Run: the run goes on without the killed worker
        runner.join(timeout=600)
        result = outcome["result"]
        steps = _worker_of_steps(instance, result.run_id)

    # Assert: the broker handed the fit to the surviving worker, and the run published everything
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    fits = [worker.split("@")[0] for key, worker in steps if key == "adult_tvae__synthesizer"]
    assert fits[0] == killed and len(fits) == 2 and fits[1] != killed
    for table, earlier in before.items():
        versions = _versions(fleet, table)
        assert len(versions) == len(earlier) + 1, table
        # what was published before is untouched
        assert [v["row_hash"] for v in versions[1:]] == [v["row_hash"] for v in earlier]


def test_a_run_no_worker_would_serve_is_refused_with_the_command_that_starts_one(fleet: LocalFleet, tmp_path):
    import yaml

    from synthpipe.errors import SynthpipeError
    from synthpipe.fleet import require_workers
    from synthpipe.validation import load_config

    # Setup: the fleet's configuration on a queue no worker consumes
    raw = yaml.safe_load(fleet.config_path.read_text())
    raw["execution"]["queue"] = f"{raw['execution']['queue']}-nobody"

    # Run
    with pytest.raises(SynthpipeError) as refused:
        require_workers(load_config(raw))
    require_workers(load_config(yaml.safe_load(fleet.config_path.read_text())))  # the fleet's own queues are served

    # Assert
    message = str(refused.value)
    assert f"'{raw['execution']['queue']}'" in message and "--queues steps" in message and "--queues chunks" in message
