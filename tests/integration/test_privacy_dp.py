"""Differential privacy (`privacy:`) on the real Adult slice: TabularARGN trained with DP-SGD
publishes a version that records the ε and δ it spent (Delta commit, MLflow, the registered
version, and again when the champion is reused); the budget ends training; a synthesizer without
a guarantee is refused when the configuration loads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.errors import ConfigError
from synthpipe.resources.differential_privacy import privacy_spent, with_privacy
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.synthesizers import build_synthesizer, detect_metadata, fit_synthesizer, protection_report, sample_rows
from synthpipe.table_config import PrivacyConfig
from synthpipe.validation import load_config
from tests.conftest import with_table

pytestmark = pytest.mark.integration

# Bounded by epochs, not time, so the ε spent does not depend on the machine's load; the small
# model keeps each epoch to a few seconds on two cores.
ARGN_PARAMS = {"model": "MOSTLY_AI/Small", "max_epochs": 2, "random_state": 1}
EPSILON = 4.0
# What one more epoch can add past the budget on this slice (about 0.06 ε per epoch measured)
EPOCH_SLACK = 0.5
# Two epochs of DP-SGD learn the table only roughly: the gates report without blocking (the
# value-leak gate warns by itself with `privacy`), and the attacks (not what this test is about)
# are left out.
# Two DP epochs on 960 rows: a low-quality twin whose noisy category counts keep rare values (value_leaks
# blocks by default and is relaxed here on purpose, so the test is about what the version records)
RELAXED = {"gate_severity": {"quality": "warn", "exact_copies": "warn", "dcr": "warn", "value_leaks": "warn"}, "attack_rows": 0}


def _tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


def test_a_dp_trained_table_publishes_with_the_epsilon_it_spent(run_refresh, base_config, data_dir):
    # Setup
    config = with_table(base_config, synthesizer="argn", synthesizer_params=ARGN_PARAMS, privacy={"epsilon": EPSILON}, **RELAXED)

    # Run
    first = run_refresh(config)

    # Assert: the commit records ε (within the budget, the value analysis's 0.4 included) and δ
    assert first.success
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    [version] = store.history("adult")
    epsilon = float(version["dp_epsilon"])
    assert 0.4 < epsilon <= EPSILON + EPOCH_SLACK and float(version["dp_delta"]) == 1e-5

    # Assert: MLflow has the budget as parameters and the same ε as a metric; the registered
    # version and the synthesizer asset carry it too
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir), registry_uri=_tracking_uri(data_dir))
    run = client.get_run(version["mlflow_run_id"])
    assert float(run.data.params["privacy.epsilon"]) == EPSILON and float(run.data.params["privacy.value_epsilon"]) == 0.4
    assert run.data.metrics["dp_epsilon_spent"] == epsilon and run.data.metrics["dp_delta"] == 1e-5
    assert run.data.metrics["dp_value_epsilon_spent"] == pytest.approx(0.4)
    model_version = client.get_model_version("synthpipe-adult", version["model_version"])
    assert float(model_version.tags[keys.DP_EPSILON]) == epsilon
    [fitted] = first.asset_materializations_for_node("adult__synthesizer")
    assert fitted.metadata[keys.DP_EPSILON].value == epsilon

    # Run: nothing changed, so the champion is sampled again without a refit
    second = run_refresh(config)

    # Assert: the new version records the ε its (reused) model spent, in a run of its own
    assert second.success
    latest = store.history("adult")[0]
    assert latest["version"] == 1 and latest["mlflow_run_id"] != version["mlflow_run_id"]
    assert float(latest["dp_epsilon"]) == epsilon and float(latest["dp_delta"]) == 1e-5
    reused = client.get_run(latest["mlflow_run_id"])
    assert reused.data.tags[keys.MODEL_REUSED] == "true" and reused.data.metrics["dp_epsilon_spent"] == epsilon


@pytest.mark.slow
def test_auto_tries_only_candidates_with_the_guarantee_and_gives_them_the_budget(run_refresh, instance, base_config, data_dir):
    # Setup: GaussianCopula first, as by default; it has no guarantee
    config = with_table(
        base_config, synthesizer="auto", auto_candidates=["gaussian_copula", "argn"], candidate_params={"argn": ARGN_PARAMS},
        privacy={"epsilon": EPSILON}, **RELAXED,
    )

    # Run
    result = run_refresh(config)

    # Assert: only TabularARGN was fitted, with the budget, and its ε is recorded
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    assert version["synthesizer"] == "argn" and 0.4 < float(version["dp_epsilon"]) <= EPSILON + EPOCH_SLACK
    lines = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("trying argn only, not gaussian_copula (no differential-privacy guarantee)" in line for line in lines)
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir))
    candidates = client.search_runs(
        [client.get_experiment_by_name("synthpipe-test").experiment_id], f"tags.`{keys.CANDIDATE}` != ''"
    )
    assert [run.data.tags[keys.CANDIDATE] for run in candidates] == ["argn"]


def test_the_budget_ends_training_and_the_rows_are_not_protected_twice(adult_slice: pd.DataFrame):
    # Setup: a budget that the value analysis (0.1) and DP-SGD's first epochs reach (about 0.5
    # after one epoch, 0.06 per further epoch on this slice), far before `max_epochs`
    metadata = detect_metadata("adult", adult_slice, {})
    budget = PrivacyConfig(epsilon=0.6, value_epsilon=0.1)
    params = with_privacy("argn", {**ARGN_PARAMS, "max_epochs": 20}, budget)
    synthesizer = build_synthesizer("argn", params, metadata, "adult")

    # Run
    fit_synthesizer(synthesizer, "adult", adult_slice)

    # Assert: training stopped at the first epoch end past the budget, and recorded what it spent
    spent = privacy_spent(synthesizer)
    assert synthesizer.training_report["epoch"] < 20
    assert budget.epsilon < spent["epsilon"] <= budget.epsilon + EPOCH_SLACK
    assert spent["delta"] == 1e-5 and spent["value_epsilon"] == pytest.approx(0.1)
    # the noisy analysis, not synthpipe's exact counts, kept rare values out
    assert protection_report(synthesizer).describe() == "none"
    assert len(sample_rows(synthesizer, 200, seed=1)) == 200


def test_a_backend_without_a_guarantee_is_refused_at_load(base_config):
    # Setup
    config = with_table(base_config, synthesizer="gaussian_copula", privacy={"epsilon": 2})

    # Run / Assert: the table, the setting, the synthesizer and the one to choose
    message = (
        "table 'adult': `privacy` needs a synthesizer with a differential-privacy guarantee: 'argn' (TabularARGN, DP-SGD through "
        "Opacus); synthesizer 'gaussian_copula' (SDV GaussianCopula) has none. Set `synthesizer: argn`, or remove `privacy`."
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(config)
