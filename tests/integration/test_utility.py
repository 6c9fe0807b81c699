"""Usefulness: the utility gate, and downstream training fed from a published version."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.resources.snapshots import DeltaSnapshotStore
from tests.conftest import with_table

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_downstream_training_reads_a_published_version_and_logs_its_lineage(run_refresh, base_config, data_dir):
    # Setup: on 1,200 rows the synthetic-to-real AUC ratio measured 0.75-0.81 (0.93 on the full table)
    config = with_table(base_config, target="income", min_utility_ratio=0.5)

    # Run
    result = run_refresh(config)

    # Assert: the gate ran with both scores; the downstream asset read version 0
    assert result.success
    utility = {e.check_name: e for e in result.get_asset_check_evaluations()}["utility"]
    assert utility.passed and utility.metadata["synthpipe/utility_metric"].text == "roc_auc"
    assert 0.5 <= utility.metadata["synthpipe/utility_ratio"].value <= 1.2
    [event] = result.asset_materializations_for_node("adult__downstream")
    assert event.metadata[keys.SNAPSHOT_VERSION].value == 0

    # Assert: the training run in MLflow names the synthetic version as its training dataset
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    run = MlflowClient(tracking_uri=uri).get_run(event.metadata[keys.MLFLOW_RUN_ID].text)
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "synthpipe-adult@v0"
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"
    assert run.data.metrics["utility_ratio"] == pytest.approx(event.metadata["synthpipe/utility_ratio"].value, abs=1e-4)
    assert run.data.tags[keys.SNAPSHOT_VERSION] == "0"


@pytest.mark.slow
def test_downstream_trains_one_model_per_train_on_entry_on_the_same_real_holdout(run_refresh, base_config, data_dir):
    # Setup
    config = with_table(base_config, target="income", min_utility_ratio=0.5, train_on=["real", "synthetic", "real+synthetic"])

    # Run
    result = run_refresh(config)

    # Assert: three MLflow runs, one per entry, each tagged and named with what it trained on
    assert result.success
    [event] = result.asset_materializations_for_node("adult__downstream")
    client = MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("synthpipe-test")
    found = client.search_runs([experiment.experiment_id], filter_string="tags.`synthpipe/stage` = 'downstream'")
    runs = {run.data.tags[keys.TRAIN_ON]: run for run in found}
    assert len(found) == 3 and set(runs) == {"real", "synthetic", "real+synthetic"}
    assert {name: run.info.run_name for name, run in runs.items()} == {name: f"adult-downstream-{name}" for name in runs}
    assert all(run.data.params["train_on"] == name and run.info.status == "FINISHED" for name, run in runs.items())

    # Assert: the same metrics in every run, the minority class's among them (income is binary)
    for run in runs.values():
        assert {"utility_real_roc_auc", "utility_ratio", "utility_minority_recall", "utility_pr_auc"} <= set(run.data.metrics)
        assert 0.0 <= run.data.metrics["utility_minority_recall"] <= 1.0 and 0.0 < run.data.metrics["utility_pr_auc"] <= 1.0
    real_score = runs["real"].data.metrics["utility_real_roc_auc"]
    assert runs["synthetic"].data.metrics["utility_synthetic_roc_auc"] != real_score
    assert runs["real+synthetic"].data.metrics["utility_real_synthetic_roc_auc"] > 0.5
    assert runs["synthetic"].data.metrics["utility_real_roc_auc"] == real_score  # one baseline for all

    # Assert: each run's dataset inputs are the rows its model learned from
    inputs = {name: sorted(d.dataset.name for d in run.inputs.dataset_inputs) for name, run in runs.items()}
    assert inputs == {
        "real": ["real-adult-training"],
        "synthetic": ["synthpipe-adult@v0"],
        "real+synthetic": ["real-adult-training", "synthpipe-adult@v0"],
    }

    # Assert: the materialization compares the three and keeps the synthetic model's utility keys
    comparison = event.metadata[keys.DOWNSTREAM_COMPARISON].value.splitlines()
    assert [line.split(" | ")[0] for line in comparison[2:]] == ["| real", "| synthetic", "| real+synthetic"]
    assert event.metadata[keys.MLFLOW_RUN_ID].text == runs["synthetic"].info.run_id
    assert event.metadata[keys.UTILITY_REAL_SCORE].value == pytest.approx(real_score, abs=1e-4)


def test_too_strict_utility_gate_blocks_publication(run_refresh, base_config, data_dir):
    # Run
    result = run_refresh(with_table(base_config, target="income", min_utility_ratio=0.999))

    # Assert
    assert not result.success
    utility = {e.check_name: e for e in result.get_asset_check_evaluations()}["utility"]
    assert not utility.passed
    assert "below the threshold 0.999 (`min_utility_ratio`)" in utility.description
    assert DeltaSnapshotStore(root=str(data_dir / "snapshots")).latest_version("adult") is None
    assert result.asset_materializations_for_node("adult__downstream") == []
