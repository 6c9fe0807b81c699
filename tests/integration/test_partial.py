"""Partially synthetic (`synthesize_columns`) and hybrid (`impute`) tables through every stage, on
real tables: Adult with its income and capital gains generated, and the Palmer penguins with their
missing sex and measurements filled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthpipe.demo_data import load_penguins, write_duckdb_table
from synthpipe.resources.reproduce import reproduce
from synthpipe.errors import SnapshotNotFoundError
from synthpipe.resources.tracking import MlflowTracker
from tests.conftest import step_error, with_table

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GENERATED = ["income", "capital-gain"]
# TabularARGN generates the named columns for all rows in one seeded call; bounded by epochs
ARGN = {"synthesizer": "argn", "synthesizer_params": {"max_epochs": 4, "random_state": 1}}


def _tracker(data_dir: Path) -> MlflowTracker:
    return MlflowTracker(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")


def _checks(result: Any) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_kept_columns_are_the_source_rows_and_only_the_named_columns_are_generated(run_refresh, base_config, store, adult_slice, data_dir):
    # Setup
    # income is one of two classes and capital gains mostly 0: many rows come out as their source row,
    # which the `exact_copies` gate reports (here as a warning) rather than hides
    config = with_table(base_config, synthesize_columns=GENERATED, seed=4, gate_severity={"exact_copies": "warn"}, **ARGN)

    # Run
    result = run_refresh(config)

    # Assert: every published row is a real row in its kept columns, row for row
    assert result.success, step_error(result)
    published = store.read("adult")
    kept = [c for c in adult_slice.columns if c not in GENERATED]
    assert len(published) == 960  # the training rows; the holdout is never published
    source_rows = set(map(tuple, adult_slice[kept].astype(str).to_numpy()))
    assert all(tuple(row) in source_rows for row in published[kept].astype(str).to_numpy())
    # the generated columns are drawn, not copied: some rows differ from their source row
    assert published["income"].isin(["<=50K", ">50K"]).all()
    # fnlwgt makes nearly every kept row unique: each published row finds its source row
    joined = published.merge(adult_slice.drop_duplicates(subset=kept, keep=False), on=kept, suffixes=("", "_real"))
    assert len(joined) >= len(published) - 4
    assert (joined["capital-gain"] != joined["capital-gain_real"]).any()
    unchanged = ((joined["income"] == joined["income_real"]) & (joined["capital-gain"] == joined["capital-gain_real"])).mean()

    # Assert: the privacy gates measured on the generated cells, recorded in the commit and MLflow
    checks = _checks(result)
    assert {"exact_copies", "dcr", "value_leaks"} <= set(checks) and checks["dcr"] and checks["value_leaks"]
    assert checks["exact_copies"] == (unchanged <= 0.01)
    [entry] = store.history("adult")
    assert json.loads(entry["generated_columns"]) == {"synthesize_columns": GENERATED}
    metrics = _tracker(data_dir).client.get_run(entry["mlflow_run_id"]).data.metrics
    assert metrics["real_cells_kept_share"] == pytest.approx(13 / 15, abs=1e-6)
    assert metrics["exact_copy_share"] == pytest.approx(unchanged, abs=0.01)  # rows equal to their own source row
    assert 0.0 <= metrics["dcr_closer_to_training_share"] <= 1.0
    with pytest.raises(SnapshotNotFoundError, match="holds real training rows"):
        reproduce("adult", 0, store, _tracker(data_dir))


@pytest.fixture
def penguins_config(data_dir: Path) -> dict[str, Any]:
    write_duckdb_table(data_dir / "sources" / "penguins.duckdb", "penguins", load_penguins())
    return {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": "sources/penguins.duckdb"},
        "mlflow": {"experiment": "synthpipe-test"},
        "tables": [{"name": "penguins", "seed": 2, "quality_threshold": 0.5, "impute": ["sex", "body_mass_g"], **ARGN}],
    }


def test_imputed_cells_are_flagged_and_no_longer_missing(run_refresh, penguins_config, data_dir):
    # Run
    result = run_refresh(penguins_config)

    # Assert: no gaps left in the imputed columns; exactly the missing cells are flagged
    assert result.success, step_error(result)
    from synthpipe.resources.snapshots import DeltaSnapshotStore

    published = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read("penguins")
    assert published[["sex", "body_mass_g"]].notna().all().all()
    assert published["sex__imputed"].sum() >= 5 and published["body_mass_g__imputed"].sum() >= 1
    assert set(published.loc[published["sex__imputed"], "sex"]) <= {"male", "female"}
    # a cell not flagged is the real one: the penguins with a known sex keep it
    real = load_penguins()
    untouched = published[~published["sex__imputed"] & ~published["body_mass_g__imputed"]].drop(columns=["sex__imputed", "body_mass_g__imputed"])
    assert len(untouched.merge(real.drop_duplicates(), how="inner")) == len(untouched) > 200
    checks = _checks(result)
    # the imputer reproduces the training rows' values no better than the holdout's it never saw
    assert "exact_copies" not in checks and checks["dcr"] and checks["value_leaks"]
