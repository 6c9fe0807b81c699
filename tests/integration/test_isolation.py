"""Runs are isolated: two refreshes of one table at the same time each publish their own
version, made from their own split, model and candidate, and each logged to its own MLflow run.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from tests.conftest import step_error, with_table

pytestmark = pytest.mark.integration


def _tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


def _refresh_in_process(config: dict[str, Any], instance_ref: Any, start: Any, results: Any) -> None:
    """One real refresh in its own process, against the shared Dagster instance; started when
    every process is ready (imports take most of a process's first seconds)."""
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        job = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB)
        start.wait(timeout=300)
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        fitted = [e.metadata[keys.MLFLOW_RUN_ID].value for e in result.asset_materializations_for_node("adult__synthesizer")]
        published = [e.metadata[keys.SNAPSHOT_VERSION].value for e in result.asset_materializations_for_node("adult__published")]
        results.put({"run_id": result.run_id, "success": result.success, "error": step_error(result), "mlflow_run_ids": fitted, "versions": published})


def _run_together(config: dict[str, Any], instance: dg.DagsterInstance, count: int) -> list[dict[str, Any]]:
    """`count` real refreshes of one table in separate processes, released at the same moment.

    Processes, not threads: that is how Dagster runs two runs (a run worker each), and Dagster's
    in-process execution sets up logging in a way two threads of one process deadlock on.
    """
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(count), context.Queue()
    workers = [context.Process(target=_refresh_in_process, args=(config, instance.get_ref(), start, results)) for _ in range(count)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


@pytest.mark.dagster_on_disk  # both processes run against the one instance
def test_concurrent_refreshes_publish_their_own_versions(base_config, data_dir, instance):
    # Setup: a fast synthesizer, and small samples, so that both runs overlap from start to end
    config = with_table(base_config, synthesizer="gaussian_copula", num_rows=300)

    # Run
    first, second = _run_together(config, instance, 2)

    # Assert: both runs succeeded and published one version each
    for outcome in (first, second):
        assert outcome["success"], outcome["error"]
    versions = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    assert sorted(v["version"] for v in versions) == [0, 1]
    # each version names the Dagster run that published it, and that run's own MLflow run
    by_run = {v["dagster_run_id"]: v for v in versions}
    assert set(by_run) == {first["run_id"], second["run_id"]}
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir), registry_uri=_tracking_uri(data_dir))
    for outcome in (first, second):
        version = by_run[outcome["run_id"]]
        assert outcome["mlflow_run_ids"] == [version["mlflow_run_id"]]
        assert outcome["versions"] == [version["version"]]
        run = client.get_run(version["mlflow_run_id"])
        assert run.data.tags[keys.DAGSTER_RUN_ID] == outcome["run_id"]
        assert run.info.status == "FINISHED"
    assert first["mlflow_run_ids"] != second["mlflow_run_ids"]
    # the two runs overlapped, and each kept its intermediate values in its own folder
    runs = [instance.get_run_record_by_id(o["run_id"]) for o in (first, second)]
    assert max(r.start_time for r in runs) < min(r.end_time for r in runs)
    runs_dir = data_dir / "staging" / "runs"
    for outcome in (first, second):
        assert (runs_dir / outcome["run_id"] / "adult" / "source").is_file()
        assert (runs_dir / outcome["run_id"] / "adult" / "synthetic").is_file()


def test_a_partial_run_loads_its_inputs_from_the_last_run_that_made_them(run_refresh, base_config, data_dir, instance):
    # Setup: a full refresh stores the split and the fitted model of its run (a new seed each
    # night: the partial run logs its own seed, to an MLflow run of its own)
    config = with_table(base_config, synthesizer="gaussian_copula", num_rows=300)
    full = run_refresh(config)
    assert full.success, step_error(full)

    # Run: sample and publish again without refitting (only synthetic/adult and published/adult)
    definitions = build_synthpipe_defs(config)
    partial = dg.materialize(
        list(definitions.assets or []),
        selection=[dg.AssetKey(["adult", "synthetic"]), dg.AssetKey(["adult", "published"])],
        resources=definitions.resources,
        instance=instance,
        raise_on_error=False,
    )

    # Assert: the new version uses the model of the full run, and its own stored candidate
    assert partial.success, step_error(partial)
    newest, oldest = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    assert newest["dagster_run_id"] == partial.run_id and oldest["dagster_run_id"] == full.run_id
    assert newest["model_version"] == oldest["model_version"] and newest["mlflow_run_id"] != oldest["mlflow_run_id"]
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    sampled = MlflowClient(tracking_uri=uri).get_run(newest["mlflow_run_id"])
    assert sampled.info.status == "FINISHED" and sampled.data.tags["synthpipe/fitted_by_run"] == oldest["mlflow_run_id"]
    assert sampled.data.tags["synthpipe/dagster_run_id"] == partial.run_id
    runs_dir = data_dir / "staging" / "runs"
    assert (runs_dir / partial.run_id / "adult" / "synthetic").is_file()
    assert not (runs_dir / partial.run_id / "adult" / "source").exists()
