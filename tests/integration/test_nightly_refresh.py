"""The nightly refresh end to end on real DuckDB, MLflow (SQLite), Great Expectations, Delta
and Dagster: what it publishes, what it records, and that a night can be reproduced.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.synthesizers import sample_rows
from synthpipe.resources.tracking import MlflowTracker
from tests.conftest import SLICE_ROWS, served_file, with_table

pytestmark = pytest.mark.integration


def _materialization(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    [event] = result.asset_materializations_for_node(node)
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}


def _tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


@pytest.mark.slow
def test_two_nights_publish_two_linked_versions(run_refresh, base_config, data_dir, adult_slice):
    # Run
    first = run_refresh(base_config)
    second = run_refresh(base_config)

    # Assert: both runs succeeded and published versions 0 and 1 with their own seeds
    assert first.success and second.success
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    history = {entry["version"]: entry for entry in store.history("adult")}
    assert sorted(history) == [0, 1]
    v0, v1 = history[0], history[1]
    assert v0["dagster_run_id"] == first.run_id and v1["dagster_run_id"] == second.run_id
    assert (v0["model_version"], v1["model_version"]) == ("1", "1")  # unchanged source: the model is reused
    assert v0["seed"] != v1["seed"]
    assert v0["seed"] == str(_materialization(first, "adult__published")[keys.SEED])
    assert int(v0["rows"]) == SLICE_ROWS
    assert float(v0["quality_score"]) >= 0.6
    assert v0["checks_passed"] == "dcr,exact_copies,expectations,quality,value_leaks"

    # Assert: the snapshot has the source's columns, types and row count
    snapshot = store.read("adult", version=0)
    assert list(snapshot.columns) == list(adult_slice.columns)
    assert len(snapshot) == SLICE_ROWS
    for column in adult_slice.columns:
        assert snapshot[column].dtype.kind == adult_slice[column].dtype.kind, column

    # Assert: MLflow has the model with both aliases, one finished run per night with scores
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir), registry_uri=_tracking_uri(data_dir))
    assert str(client.get_model_version_by_alias("synthpipe-adult", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("synthpipe-adult", "candidate").version) == "1"
    assert v0["mlflow_run_id"] != v1["mlflow_run_id"]
    run = client.get_run(v0["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["synthesizer"] == "gaussian_copula"
    assert run.data.params["seed"] == v0["seed"]
    assert run.data.metrics["quality_score"] == pytest.approx(float(v0["quality_score"]), abs=1e-5)
    assert run.data.tags[keys.SNAPSHOT_VERSION] == "0"
    for metric in ("exact_copy_share", "dcr_closer_to_training_share", "nndr_median", "dcr_holdout_median", "diagnostic_score", "data_validity"):
        assert metric in run.data.metrics
    assert 0.0 <= run.data.metrics["dcr_closer_to_training_share"] <= 0.6
    assert run.data.tags[keys.DAGSTER_RUN_ID] == first.run_id
    # the sampling plan: one chunk of the slice, with the seed derived from the recorded one
    import json

    import mlflow.artifacts

    plan = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=v0["mlflow_run_id"], artifact_path="sampling/chunks.json", tracking_uri=_tracking_uri(data_dir)
    )).read_text())
    assert [(c["rows"], c["first_row"]) for c in plan] == [(SLICE_ROWS, 0)]
    assert plan[0]["seed"] != int(v0["seed"])
    champion = MlflowTracker(tracking_uri=_tracking_uri(data_dir)).load_synthesizer("synthpipe-adult", "1")
    assert len(sample_rows(champion, 10, seed=1)) == 10

    # Assert: both blocking checks ran and passed, with their numbers in metadata
    evaluations = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert set(evaluations) == {"expectations", "quality", "exact_copies", "dcr", "value_leaks"}
    assert all(e.passed for e in evaluations.values())
    assert evaluations["expectations"].metadata[keys.EXPECTATIONS_EVALUATED].value > 40
    assert evaluations["quality"].metadata["synthpipe/diagnostic_score"].value > 0.9
    assert evaluations["quality"].metadata[keys.QUALITY_SCORE].value == pytest.approx(
        float(v0["quality_score"]), abs=1e-4
    )

    # Assert: numeric metadata the UI plots night after night
    synthetic = _materialization(first, "adult__synthetic")
    assert synthetic[keys.SAMPLE_SECONDS] > 0
    assert _materialization(first, "adult__synthesizer")[keys.FIT_SECONDS] > 0


def test_registered_model_and_seed_regenerate_the_published_rows(run_refresh, base_config, data_dir):
    # Setup
    assert run_refresh(base_config).success
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    [version] = store.history("adult")

    # Run: load the registered model version through its pyfunc and sample with the recorded seed
    tracker = MlflowTracker(tracking_uri=_tracking_uri(data_dir), experiment="synthpipe-test")
    synthesizer = tracker.load_synthesizer("synthpipe-adult", version["model_version"])
    regenerated = sample_rows(synthesizer, int(version["rows"]), int(version["seed"]))

    # Assert
    pd.testing.assert_frame_equal(regenerated, store.read("adult", version=0), check_dtype=False)


def test_pyfunc_predict_samples_rows(run_refresh, base_config, data_dir):
    # Setup
    import mlflow.pyfunc

    assert run_refresh(base_config).success
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir), registry_uri=_tracking_uri(data_dir))
    uri = client.get_model_version_download_uri("synthpipe-adult", "1")

    # Run
    model = mlflow.pyfunc.load_model(uri)
    rows = model.predict(pd.DataFrame({"num_rows": [25], "seed": [3]}))

    # Assert
    assert len(rows) == 25
    assert "income" in rows.columns
    assert set(rows["income"]) <= {"<=50K", ">50K"}


@pytest.mark.slow
def test_another_registered_synthesizer_runs_the_same_path(run_refresh, base_config, data_dir):
    # Setup: TVAE with a tiny training budget; the gates are not what this test is about
    config = with_table(
        base_config, synthesizer="tvae", synthesizer_params={"epochs": 2}, quality_threshold=0.1, seed=13, gate_severity={"dcr": "warn"}
    )

    # Run
    result = run_refresh(config)

    # Assert
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    assert version["synthesizer"] == "tvae" and version["seed"] == "13"
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir), registry_uri=_tracking_uri(data_dir))
    assert client.get_run(version["mlflow_run_id"]).data.params["synthesizer.epochs"] == "2"


def test_html_report_is_logged_and_linked(run_refresh, base_config, data_dir):
    # Run
    result = run_refresh(base_config)

    # Assert: the Dagster metadata links the MLflow artifact, which holds the three kinds of plot
    assert result.success
    [event] = result.asset_materializations_for_node("adult__synthetic")
    link = event.metadata[keys.REPORT].url
    assert link.endswith("/report/adult.html")
    page = served_file(link, data_dir).read_text()
    assert page.startswith("<!doctype html>") and "Synthetic twin of <code>adult</code>" in page
    assert page.count("data:image/png;base64,") >= 3
    for heading in ("Columns that scored worst", "Column pair trends", "Distance to closest record"):
        assert heading in page


@pytest.mark.slow
def test_reproduce_an_old_version_after_the_source_and_model_moved_on(run_refresh, base_config, data_dir, source_db, capsys):
    # Setup: version 0 is published; then the source gains rows twice (later loads), each night
    # refits, so version 0's model is two registered versions behind the champion; retention
    # keeps only the newest version plus version 0, pinned by name
    from synthpipe.cli import main as cli
    from synthpipe.demo_data import load_adult
    from synthpipe.factory import MAINTENANCE_JOB, build_synthpipe_defs
    from tests.integration.test_change_detection import _append_rows

    config = {**with_table(base_config, gate_severity={"dcr": "warn"}), "retention": {"keep_last": 1, "pins": {"adult": {"baseline": 0}}}}
    assert run_refresh(config).success
    for load in (1, 2):
        _append_rows(source_db, load_adult(rows=30, seed=200 + load))
        assert run_refresh(config).success
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    assert [e["model_version"] for e in store.history("adult")] == ["3", "2", "1"]
    assert build_synthpipe_defs(config).resolve_job_def(MAINTENANCE_JOB).execute_in_process().success
    root = str(data_dir / "snapshots")

    # Run
    code = cli(["reproduce", "adult", "0", "--root", root, "--tracking-uri", _tracking_uri(data_dir)])

    # Assert: version 0 regenerated from model v1 in the registry, row hash identical
    output = capsys.readouterr().out
    assert code == 0, output
    assert "adult version 0 from synthpipe-adult v1 with seed" in output and ": identical" in output
    with pytest.raises(Exception, match="version 1 can no longer be read"):
        store.read("adult", version=1)
