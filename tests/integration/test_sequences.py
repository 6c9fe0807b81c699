"""A sequential table end to end: real flights as per-aircraft sequences, fitted with PAR and
with TabularARGN's sequential model (`synthesizer: argn`), each bounded by epochs."""

from __future__ import annotations

import pandas as pd
import pytest

from synthpipe.assets.split import sequence_problems
from synthpipe.demo_data import plane_sequences, write_duckdb_table
from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.tracking import MlflowTracker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def flights_by_plane() -> pd.DataFrame:
    return plane_sequences(planes=30, max_flights=12, seed=3)


BACKENDS = {
    "par": {"synthesizer_params": {"epochs": 5}},
    "argn": {"synthesizer": "argn", "synthesizer_params": {"model": "MOSTLY_AI/Small", "max_epochs": 3, "random_state": 2}},
}


def _sequence_config(data_dir, flights: pd.DataFrame, **table) -> dict:
    """The aircraft sequences in a DuckDB source, and a configuration of the one sequential table."""
    write_duckdb_table(data_dir / "sources" / "flights.duckdb", "plane_flights", flights)
    sequence = {"entity_key": "tailnum", "order_by": "time_hour", "context_columns": ["carrier"]}
    return {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": "sources/flights.duckdb"},
        "tables": [{"name": "plane_flights", "sequence": sequence, "quality_threshold": 0.3, "seed": 21, **table}],
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BACKENDS))
def test_sequences_are_synthesized_checked_and_published(run_refresh, data_dir, flights_by_plane, name):
    # Setup
    config = _sequence_config(data_dir, flights_by_plane, **BACKENDS[name], num_sequences=20)

    # Run
    result = run_refresh(config)

    # Assert: published, with the blocking sequence check passed and lengths reported
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["sequences"].passed
    assert evaluations["sequences"].metadata["synthpipe/sequences"].value == 20
    assert "synthpipe/sequence_length_drift" in evaluations["sequence_lengths"].metadata
    published = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read("plane_flights")
    assert published["tailnum"].nunique() == 20
    assert list(published.columns) == list(flights_by_plane.columns)
    assert sequence_problems(published, "tailnum", "time_hour", flights_by_plane.groupby("tailnum").size()) == []
    per_plane_carriers = published.groupby("tailnum")["carrier"].nunique()
    assert (per_plane_carriers == 1).all()  # a context column is constant within a sequence

    assert not set(published["tailnum"]) & set(flights_by_plane["tailnum"])  # new entities, no real aircraft

    # Assert: the registered model and the recorded seed regenerate the version (same row hash)
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    again = reproduce("plane_flights", 0, DeltaSnapshotStore(root=str(data_dir / "snapshots")), MlflowTracker(tracking_uri=uri))
    assert again.identical and again.seed == 21
    version = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("plane_flights")[0]
    assert version["synthesizer"] == {"par": "par", "argn": "argn_sequence"}[name]


def test_holdout_keeps_whole_sequences(flights_by_plane):
    from synthpipe.assets.split import split_holdout

    train, holdout = split_holdout(flights_by_plane, 0.2, seed=0, entity_key="tailnum")
    assert set(train["tailnum"]).isdisjoint(set(holdout["tailnum"]))
    assert holdout["tailnum"].nunique() == 6 and len(train) + len(holdout) == len(flights_by_plane)


def test_sequence_check_catches_disorder_and_runaway_lengths(flights_by_plane):
    lengths = flights_by_plane.groupby("tailnum").size()
    shuffled = flights_by_plane.sample(frac=1.0, random_state=0)
    runaway = pd.concat([flights_by_plane.assign(tailnum="N1")] * 1).sort_values("time_hour")
    assert any("not ordered by 'time_hour'" in p for p in sequence_problems(shuffled, "tailnum", "time_hour", lengths))
    assert any("over twice the real longest" in p for p in sequence_problems(runaway, "tailnum", "time_hour", lengths))


@pytest.mark.slow
def test_auto_chooses_between_par_and_tabularargn_for_sequences(run_refresh, data_dir, flights_by_plane):
    # Setup: both sequence synthesizers, bounded by epochs
    import json
    from pathlib import Path

    from mlflow import MlflowClient

    # Both are bounded by epochs (PAR 5, TabularARGN 3), a few seconds each; `auto`'s budget is far
    # above that so that no candidate is skipped on a loaded runner
    candidates = {"par": BACKENDS["par"]["synthesizer_params"], "argn": BACKENDS["argn"]["synthesizer_params"]}
    config = _sequence_config(data_dir, flights_by_plane, synthesizer="auto", candidate_params=candidates, auto_budget_seconds=3600)

    # Run
    result = run_refresh(config)

    # Assert: both fitted and scored as sequences (the sequence check among the blocking ones),
    # the winner published as whole sequences and recorded
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("plane_flights")
    client = MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    ranked = json.loads(Path(client.download_artifacts(version["mlflow_run_id"], "auto/candidates.json")).read_text())
    assert sorted(c["synthesizer"] for c in ranked) == ["argn", "par"] and all(c["status"] == "fitted" for c in ranked)
    assert version["synthesizer"] == ranked[0]["synthesizer"]
    published = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read("plane_flights")
    assert sequence_problems(published, "tailnum", "time_hour", flights_by_plane.groupby("tailnum").size()) == []
    assert published["tailnum"].nunique() == flights_by_plane["tailnum"].nunique()
