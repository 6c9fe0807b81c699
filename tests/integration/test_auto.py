"""`synthesizer: auto` on real data: candidates in nested MLflow runs, ranked by every blocking
check (the derived expectation suite included), torch candidates sized to the budget."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from synthpipe.assets.auto import PastDeadline, stop_at
from synthpipe.errors import SynthesizerError
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.synthesizers import build_synthesizer, detect_metadata, fit_synthesizer
from tests.conftest import with_table

pytestmark = pytest.mark.integration

CANDIDATES = {
    "synthesizer": "auto",
    "auto_candidates": ["gaussian_copula", "tvae", "ctgan"],
    "candidate_params": {"tvae": {"epochs": 3}, "ctgan": {"epochs": 3}},
}
# Only the derived expectation suite blocks: the ranking then turns on it alone.
ONLY_EXPECTATIONS_BLOCK = {"quality": "warn", "exact_copies": "warn", "dcr": "warn"}


def _client(data_dir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")


def _parent_and_ranking(data_dir: Path) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """The table's MLflow run, its `auto/candidates.json` and its nested runs by candidate."""
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    client = _client(data_dir)
    parent = client.get_run(version["mlflow_run_id"])
    ranked = json.loads(Path(client.download_artifacts(parent.info.run_id, "auto/candidates.json")).read_text())
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return parent, ranked, {r.data.tags["synthpipe/candidate"]: r for r in children}


@pytest.mark.slow
def test_auto_picks_a_champion_among_three_and_logs_each(run_refresh, base_config, data_dir):
    # Run
    result = run_refresh(with_table(base_config, **CANDIDATES, auto_budget_seconds=600))

    # Assert: three nested runs under the table's run, the winner published and registered
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    parent, ranked, children = _parent_and_ranking(data_dir)
    assert sorted(children) == ["ctgan", "gaussian_copula", "tvae"]
    assert all("quality_score" in r.data.metrics and "dcr_closer_to_training_share" in r.data.metrics for r in children.values())
    winner = parent.data.params["auto.winner"]
    assert version["synthesizer"] == winner
    assert [c["synthesizer"] for c in ranked][0] == winner and len(ranked) == 3
    assert {c["synthesizer"]: c["epochs"] for c in ranked if c["synthesizer"] != "gaussian_copula"} == {"tvae": 3, "ctgan": 3}
    [event] = result.asset_materializations_for_node("adult__synthesizer")
    assert event.metadata["synthpipe/auto_winner"].text == winner
    assert str(_client(data_dir).get_model_version_by_alias("synthpipe-adult", "champion").version) == "1"


def test_auto_stops_starting_candidates_when_the_budget_is_spent(run_refresh, base_config, data_dir):
    # Run: a budget that the first candidate alone exceeds
    result = run_refresh(with_table(base_config, **CANDIDATES, auto_budget_seconds=0.001))

    # Assert: the first candidate fitted and won; the others skipped, each with its reason
    assert result.success
    parent, ranked, children = _parent_and_ranking(data_dir)
    assert parent.data.params["auto.winner"] == "gaussian_copula" and list(children) == ["gaussian_copula"]
    assert [(c["synthesizer"], c["status"]) for c in ranked] == [("gaussian_copula", "fitted"), ("tvae", "skipped"), ("ctgan", "skipped")]
    assert all("the 0.001 s budget is spent" in c["reason"] for c in ranked[1:])
    assert "auto.seconds" in parent.data.metrics


def test_a_candidate_that_fails_the_derived_expectations_ranks_below_one_that_passes(run_refresh, base_config, data_dir):
    # Setup: GaussianCopula with normal marginals and no min/max enforcement samples ages below
    # the youngest real one (17), which the derived suite's range expectation fails; TVAE keeps
    # to the real ranges
    config = with_table(
        base_config,
        synthesizer="auto",
        auto_candidates=["gaussian_copula", "tvae"],
        candidate_params={"gaussian_copula": {"default_distribution": "norm", "enforce_min_max_values": False}, "tvae": {"epochs": 4}},
        auto_budget_seconds=600,
        gate_severity=ONLY_EXPECTATIONS_BLOCK,
    )

    # Run
    result = run_refresh(config)

    # Assert: the passing candidate first and published; the failure recorded per candidate
    assert result.success
    parent, ranked, children = _parent_and_ranking(data_dir)
    assert [(c["synthesizer"], c["passed"]) for c in ranked] == [("tvae", True), ("gaussian_copula", False)]
    assert ranked[1]["failed_checks"] == "expectations" and ranked[0]["failed_checks"] == "none"
    assert ranked[1]["quality_score"] > ranked[0]["quality_score"]  # quality alone would have picked the failing one
    assert children["gaussian_copula"].data.tags["synthpipe/failed_checks"] == "expectations"
    assert parent.data.params["auto.winner"] == "tvae"
    [event] = result.asset_materializations_for_node("adult__synthesizer")
    table = event.metadata["synthpipe/auto_candidates"].value
    assert "failed_checks" in table and "| expectations |" in table


def test_a_small_budget_cuts_a_torch_candidates_epochs_or_skips_it(run_refresh, base_config, data_dir):
    # Setup: TVAE asks for 100,000 epochs, far more than 30 s hold
    config = with_table(
        base_config,
        synthesizer="auto",
        auto_candidates=["gaussian_copula", "tvae"],
        candidate_params={"tvae": {"epochs": 100_000}},
        auto_budget_seconds=30,
        gate_severity=ONLY_EXPECTATIONS_BLOCK,
    )

    # Run
    result = run_refresh(config)

    # Assert: TVAE fitted with the epochs its probe sized, or skipped or stopped with the reason
    assert result.success
    _, ranked, children = _parent_and_ranking(data_dir)
    [tvae] = [c for c in ranked if c["synthesizer"] == "tvae"]
    if tvae["status"] == "fitted":
        assert 0 < tvae["epochs"] < 100_000 and tvae["probe_seconds_per_epoch"] > 0
        assert children["tvae"].data.params["synthesizer.epochs"] == str(tvae["epochs"])
    else:
        assert tvae["status"] in ("skipped", "stopped") and tvae["reason"].startswith(("5 epochs would take", "its 4-epoch probe took", "stopped after"))


def test_a_torch_fit_past_its_deadline_stops_at_its_next_optimizer_step(adult_slice):
    # Setup: TVAE asked for 10,000 epochs, with a deadline that has already passed
    synthesizer = build_synthesizer("tvae", {"epochs": 10_000}, detect_metadata("adult", adult_slice, {}), "adult")

    # Run
    with pytest.raises(SynthesizerError) as raised, stop_at(time.perf_counter()):
        fit_synthesizer(synthesizer, "adult", adult_slice)

    # Assert: cut short by the deadline, not failed for another reason
    assert isinstance(raised.value.__cause__, PastDeadline)
