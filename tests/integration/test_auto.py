"""`synthesizer: auto` on real data: three candidates, nested MLflow runs, a published champion."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from resources.snapshots import DeltaSnapshotStore
from tests.conftest import with_table

pytestmark = pytest.mark.integration

CANDIDATES = {
    "synthesizer": "auto",
    "auto_candidates": ["gaussian_copula", "tvae", "ctgan"],
    "candidate_params": {"tvae": {"epochs": 3}, "ctgan": {"epochs": 3}},
}


@pytest.mark.slow
def test_auto_picks_a_champion_among_three_and_logs_each(run_refresh, base_config, data_dir):
    # Run
    result = run_refresh(with_table(base_config, **CANDIDATES, auto_budget_seconds=600))

    # Assert: three nested runs under the table's run, the winner published and registered
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(version["mlflow_run_id"])
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.data.tags["synthpipe/candidate"] for r in children) == ["ctgan", "gaussian_copula", "tvae"]
    assert all("quality_score" in r.data.metrics and "dcr_closer_to_training_share" in r.data.metrics for r in children)
    winner = parent.data.params["auto.winner"]
    assert version["synthesizer"] == winner
    ranked = json.loads(open(client.download_artifacts(parent.info.run_id, "auto/candidates.json")).read())
    assert [c["synthesizer"] for c in ranked][0] == winner and len(ranked) == 3
    [event] = result.asset_materializations_for_node("synthesizer__adult")
    assert event.metadata["synthpipe/auto_winner"].text == winner
    assert str(client.get_model_version_by_alias("synthpipe-adult", "champion").version) == "1"


def test_auto_stops_starting_candidates_when_the_budget_is_spent(run_refresh, base_config, data_dir):
    # Run: a budget that the first candidate alone exceeds
    result = run_refresh(with_table(base_config, **CANDIDATES, auto_budget_seconds=0.001))

    # Assert
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    client = MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    parent = client.get_run(version["mlflow_run_id"])
    assert parent.data.params["auto.candidates"] == "gaussian_copula" and version["synthesizer"] == "gaussian_copula"
