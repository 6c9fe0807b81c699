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
