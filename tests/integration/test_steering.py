"""`rebalance` and `fairness` through every stage on real tables: ISLR's credit-card Default table
(3.3% defaulters) raised to 30% defaulters, and Adult sampled with equal income rates across
genders. Each class keeps its real conditional distribution; the version records the real and the
synthetic figures and reproduces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthpipe.demo_data import load_default, write_duckdb_table
from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.tracking import MlflowTracker
from tests.conftest import assert_unchanged, step_error, with_table

pytestmark = pytest.mark.integration

DEFAULT_ROWS = 2_000


@pytest.fixture
def default_config(data_dir: Path) -> dict[str, Any]:
    """A seeded slice of the real Default table in a DuckDB file (about 66 defaulters)."""
    real = load_default().sample(n=DEFAULT_ROWS, random_state=1).reset_index(drop=True)
    write_duckdb_table(data_dir / "sources" / "credit.duckdb", "credit", real)
    return {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": "sources/credit.duckdb"},
        "mlflow": {"experiment": "synthpipe-test"},
        "tables": [{"name": "credit", "seed": 5, "num_rows": 1_000, "quality_threshold": 0.6, "gate_severity": {"dcr": "warn"}}],
    }


def _tracker(data_dir: Path) -> MlflowTracker:
    return MlflowTracker(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")


def test_rebalance_raises_the_rare_class_to_its_share_and_keeps_its_conditional_distribution(run_refresh, default_config, data_dir, store):
    # Setup
    # Gaussian copula conditions weakly on a 3% class: the `class_fidelity` gate catches it (here it warns)
    config = with_table(default_config, rebalance={"column": "default", "shares": {"Yes": 0.3}}, gate_severity={"dcr": "warn", "class_fidelity": "warn"})

    # Run
    result = run_refresh(config)

    # Assert: the share asked for, within 0.02, on every published row
    assert result.success, step_error(result)
    published = store.read("credit")
    assert len(published) == 1_000
    assert abs((published["default"] == "Yes").mean() - 0.3) <= 0.02
    # every synthetic defaulter is drawn under the condition: the other columns vary
    assert published.loc[published["default"] == "Yes", "balance"].nunique() > 100

    # Assert: the real and synthetic shares in the commit, the gate passed, MLflow has both
    [entry] = store.history("credit")
    recorded = json.loads(entry["steering"])["rebalance"]
    assert recorded["real"]["Yes"] < 0.06 and abs(recorded["synthetic"]["Yes"] - 0.3) <= 0.02
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["rebalance"] and checks["exact_copies"]
    # its defaulters follow the real non-defaulters more closely than the real defaulters
    assert not checks["class_fidelity"]
    run = _tracker(data_dir).client.get_run(entry["mlflow_run_id"]).data
    assert abs(run.metrics["share_synthetic.Yes"] - 0.3) <= 0.02 and run.metrics["share_real.Yes"] < 0.06
    # how closely each class's rows follow the real rows of that class is measured, per class
    assert 0.0 < run.metrics["class_fidelity.Yes"] < run.metrics["class_fidelity_rest.Yes"] <= 1.0
    assert run.metrics["class_margin"] < 0
    assert json.loads(run.params["rebalance"])["shares"] == {"Yes": 0.3}
    assert reproduce("credit", 0, store, _tracker(data_dir)).identical


def test_fairness_equalises_the_income_rate_across_genders(run_refresh, base_config, store, adult_slice):
    # Setup
    config = with_table(base_config, seed=11, fairness={"target": "income", "sensitive": "gender", "max_parity_gap": 0.02}, gate_severity={"dcr": "warn"})

    # Run
    result = run_refresh(config)

    # Assert: the twin's parity gap is under the bound; the real one (about 0.2) is recorded beside it
    assert result.success, step_error(result)
    published = store.read("adult")
    rates = published.groupby("gender")["income"].apply(lambda s: (s == ">50K").mean())
    assert rates.max() - rates.min() <= 0.02
    recorded = json.loads(store.history("adult")[0]["steering"])["fairness"]
    assert recorded["parity_gap_real"] > 0.1 and recorded["parity_gap_synthetic"] <= 0.02
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()}["fairness"]
    # each gender keeps its real share of the rows
    real_women, synthetic_women = ((frame["gender"] == "Female").mean() for frame in (adult_slice, published))
    assert abs(real_women - synthetic_women) < 0.03


def test_a_class_the_source_lacks_is_refused_with_the_classes_it_holds(run_refresh, base_config, store, published_before):
    # Run
    result = run_refresh(with_table(base_config, rebalance={"column": "income", "shares": {">60K": 0.5}}, gate_severity={"dcr": "warn"}))

    # Assert
    assert not result.success
    assert "'>60K' is not a class of 'income', which holds '<=50K', '>50K'." in step_error(result)
    assert_unchanged(store, published_before)


def test_tabularargn_meets_fairness_with_its_own_fairness_mode_and_reproduces(run_refresh, base_config, store, data_dir):
    # Setup: `method: auto` on TabularARGN uses the engine's fairness mode, not conditions
    argn = {"synthesizer": "argn", "synthesizer_params": {"max_epochs": 4, "random_state": 1}}
    config = with_table(base_config, seed=11, fairness={"target": "income", "sensitive": "gender"}, gate_severity={"dcr": "warn"}, **argn)

    # Run
    result = run_refresh(config)

    # Assert: the gap under the default bound (0.05), sampled without a plan, replayed by reproduce
    assert result.success, step_error(result)
    published = store.read("adult")
    rates = published.groupby("gender")["income"].apply(lambda s: (s == ">50K").mean())
    assert rates.max() - rates.min() <= 0.05
    [entry] = store.history("adult")
    recorded = json.loads(entry["steering"])["fairness"]
    assert recorded["method"] == "engine" and "conditions" not in entry and recorded["parity_gap_real"] > 0.1
    assert reproduce("adult", 0, store, _tracker(data_dir)).identical
