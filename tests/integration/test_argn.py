"""TabularARGN (the `argn` extra) on the real Adult slice, trained for seconds: the backend's own
contract, a refresh through Dagster and MLflow, `auto` choosing between it and SDV, and the
error a user gets without the extra (in a separate interpreter that cannot import the engine).
"""

from __future__ import annotations

import copy

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.errors import SynthesizerError
from synthpipe.resources.argn import ArgnSynthesizer
from synthpipe.resources.pyfunc import save_synthesizer
from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.synthesizers import (
    build_synthesizer,
    detect_metadata,
    fit_synthesizer,
    load_synthesizer,
    sample_rows,
)
from synthpipe.resources.tracking import MlflowTracker
from tests.conftest import with_table

pytestmark = pytest.mark.integration

# Training is bounded by epochs only (`max_epochs` without `max_training_time`), so results do not depend on
# how loaded the machine is.
MAX_EPOCHS = 4
# `auto`'s budget in the test of its ranking: far above two small fits, so nothing is skipped.
AUTO_BUDGET_SECONDS = 600
ARGN_PARAMS = {"max_epochs": MAX_EPOCHS, "random_state": 1}
ARGN = {"synthesizer": "argn", "synthesizer_params": ARGN_PARAMS}


@pytest.fixture(scope="module")
def fitted(adult_slice: pd.DataFrame) -> tuple[ArgnSynthesizer, list[dict[str, object]]]:
    metadata = detect_metadata("adult", adult_slice, {})
    synthesizer = build_synthesizer("argn", ARGN_PARAMS, metadata, "adult")
    reports: list[dict[str, object]] = []
    fit_synthesizer(synthesizer, "adult", adult_slice, reports.append)
    return synthesizer, reports


def test_training_reports_epochs_losses_and_time_spent(fitted):
    # Setup
    synthesizer, reports = fitted

    # Assert: one report per epoch at least, time spent rising, no budget, a validation loss measured
    epochs = [r["epoch"] for r in reports]
    assert len(reports) >= 3 and epochs == sorted(epochs) and MAX_EPOCHS >= epochs[-1] >= 2
    assert all(r["budget_seconds"] is None and r["seconds_left"] is None for r in reports)
    assert reports[-1]["elapsed_seconds"] >= reports[0]["elapsed_seconds"]
    assert any(r["validation_loss"] is not None for r in reports)
    assert synthesizer.training_report == reports[-1]
    assert synthesizer.on_progress is None  # the run's logger is not kept with the model


def test_sampling_is_seeded_and_keeps_the_source_columns(fitted, adult_slice):
    # Setup
    synthesizer, _ = fitted

    # Run
    first = sample_rows(synthesizer, 300, seed=5)
    again = sample_rows(synthesizer, 300, seed=5)
    other = sample_rows(synthesizer, 300, seed=6)

    # Assert
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert list(first.columns) == list(adult_slice.columns)
    assert first.dtypes.to_dict() == adult_slice.dtypes.to_dict()
    text = [c for c in adult_slice.columns if adult_slice[c].dtype == object]
    assert all(set(first[c]) <= set(adult_slice[c]) for c in text)  # rare categories drawn, not `_RARE_`


def test_conditions_fix_their_values_and_stay_seeded(fitted, adult_slice):
    # Setup
    synthesizer, _ = fitted
    conditions = [({"gender": "Female"}, 120), ({"gender": "Male", "income": ">50K"}, 40)]

    # Run: the engine's seeded generation, as `conditions` sample it
    first = sample_rows(synthesizer, 160, seed=5, conditions=conditions)
    again = sample_rows(synthesizer, 160, seed=5, conditions=conditions)

    # Assert: each condition's rows have its values; the other columns are drawn; seeded
    assert (first["gender"].iloc[:120] == "Female").all() and first["income"].iloc[:120].nunique() == 2
    assert (first["gender"].iloc[120:] == "Male").all() and (first["income"].iloc[120:] == ">50K").all()
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == list(adult_slice.columns)


def test_rules_are_enforced_by_drawing_again_and_stay_seeded(fitted, adult_slice):
    # Setup: a rule about half the learned rows break (hours worked a week at least the age)
    from synthpipe.expectations.suites import Rule

    synthesizer, _ = copy.deepcopy(fitted)
    rule = Rule("inequality", {"low": "age", "high": "hours-per-week"}, "test rule")
    synthesizer.add_rules([rule])

    # Run
    rows = sample_rows(synthesizer, 400, seed=3)
    again = sample_rows(synthesizer, 400, seed=3)

    # Assert: every row obeys; some were drawn again; the same seed gives the same rows
    assert len(rows) == 400 and (rows["hours-per-week"] >= rows["age"]).all()
    assert 0.1 < synthesizer.rejected_share < 0.95
    pd.testing.assert_frame_equal(rows, again)


def test_a_rule_the_model_did_not_learn_fails_with_the_fix(fitted):
    # Setup: a rule no source row meets (the smallest fnlwgt is in the thousands, no age is),
    # so however long the model trained, next to none of its rows can obey it
    from synthpipe.expectations.suites import Rule

    synthesizer, _ = copy.deepcopy(fitted)
    synthesizer.add_rules([Rule("inequality", {"low": "fnlwgt", "high": "age", "strict": True}, "test rule")])

    with pytest.raises(SynthesizerError, match=r"obey the rules 'fnlwgt < age'; the model has not learned them\. Train longer"):
        sample_rows(synthesizer, 200, seed=3)


def test_saved_model_loads_back_without_the_training_rows(fitted, tmp_path):
    # Setup
    synthesizer, _ = fitted

    # Run
    path = save_synthesizer(synthesizer, tmp_path)
    loaded = load_synthesizer(str(path))

    # Assert: same rows for the same seed; only the model files were kept, no training data
    assert path.name.endswith(ArgnSynthesizer.FILE_SUFFIX)
    pd.testing.assert_frame_equal(sample_rows(loaded, 200, seed=9), sample_rows(synthesizer, 200, seed=9))
    assert loaded._model_files and not any("OriginalData" in name for name in loaded._model_files)


def test_pii_and_id_columns_are_generated_not_learned(adult_slice):
    # Setup: a real column marked personal, and an ID column
    frame = adult_slice.assign(row_id=range(100_000, 100_000 + len(adult_slice)))
    metadata = detect_metadata("adult", frame, {}, pii={"native-country": "country"})
    synthesizer = build_synthesizer("argn", {"max_epochs": 2}, metadata, "adult")

    # Run
    fit_synthesizer(synthesizer, "adult", frame)
    rows = sample_rows(synthesizer, 400, seed=2, chunk_rows=150)

    # Assert: Faker countries (not the training set's), IDs unique across chunks
    assert rows["row_id"].is_unique
    assert len(set(rows["native-country"]) - set(adult_slice["native-country"])) > 20


@pytest.mark.parametrize(
    "params, message",
    [
        ({"max_training_time": 0}, "`max_training_time` is in minutes and must be above 0; got 0"),
        ({"model": "MOSTLY_AI/Huge"}, "`model` must be one of MOSTLY_AI/Small, MOSTLY_AI/Medium, MOSTLY_AI/Large"),
        ({"max_training_minutes": 2}, "Did you mean 'max_training_time'?"),
    ],
)
def test_bad_parameters_name_the_parameter_and_the_fix(adult_slice, params, message):
    metadata = detect_metadata("adult", adult_slice, {})
    with pytest.raises(SynthesizerError, match=re.escape(message)):
        build_synthesizer("argn", params, metadata, "adult")


def _tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


def _log_lines(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(result.run_id)]


@pytest.mark.slow
def test_refresh_with_argn_publishes_a_reproducible_version(run_refresh, instance, base_config, data_dir):
    # Setup: the DCR gate is not what this test is about (1,200 rows)
    config = with_table(base_config, **ARGN, gate_severity={"dcr": "warn"})

    # Run
    result = run_refresh(config)

    # Assert: published, training progress in the Dagster log, model and figures in MLflow
    assert result.success
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    [version] = store.history("adult")
    assert version["synthesizer"] == "argn"
    lines = _log_lines(instance, result)
    progress = [line for line in lines if line.startswith("argn: epoch")]
    assert progress and all(line.endswith("s elapsed, no time budget") for line in progress)
    assert any(line.startswith("argn: training ended at epoch") for line in lines)
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir), registry_uri=_tracking_uri(data_dir))
    run = client.get_run(version["mlflow_run_id"])
    assert run.data.params["synthesizer.max_training_time"] == "None" and float(run.data.params["synthesizer.max_epochs"]) == MAX_EPOCHS
    assert run.data.metrics["training_epochs"] >= 1 and "validation_loss" in run.data.metrics
    [event] = result.asset_materializations_for_node("adult__synthetic")
    assert event.metadata[keys.QUALITY_SCORE].value > 0.5

    # Run: the registry's model and the recorded seed give the published rows back
    tracker = MlflowTracker(tracking_uri=_tracking_uri(data_dir), experiment="synthpipe-test")
    outcome = reproduce("adult", 0, store, tracker)

    # Assert
    assert outcome.identical, outcome


@pytest.mark.slow
def test_auto_weighs_argn_against_sdv_within_the_budget(run_refresh, instance, base_config, data_dir):
    # Setup: a budget far above what the two fits take, so neither is skipped on a loaded runner;
    # TabularARGN's default training time (10 minutes) is above the budget, so it gets what is
    # left; its training is bounded by 3 epochs, whatever the machine's load
    config = with_table(
        base_config,
        synthesizer="auto",
        auto_candidates=["gaussian_copula", "argn"],
        candidate_params={"argn": {"max_epochs": 3, "random_state": 1}},
        auto_budget_seconds=AUTO_BUDGET_SECONDS,
        target="income",
        gate_severity={"dcr": "warn", "utility": "warn"},
    )

    # Run
    result = run_refresh(config)

    # Assert: both candidates scored in nested runs; argn's training capped below the budget
    assert result.success
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    client = MlflowClient(tracking_uri=_tracking_uri(data_dir))
    parent = client.get_run(version["mlflow_run_id"])
    children = {
        r.data.tags["synthpipe/candidate"]: r
        for r in client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    }
    assert sorted(children) == ["argn", "gaussian_copula"]
    assert 0 < float(children["argn"].data.params["synthesizer.max_training_time"]) < AUTO_BUDGET_SECONDS / 60
    assert all({"quality_score", "dcr_closer_to_training_share", "utility_ratio"} <= set(r.data.metrics) for r in children.values())
    ranked = json.loads(open(client.download_artifacts(parent.info.run_id, "auto/candidates.json")).read())
    assert {c["synthesizer"] for c in ranked} == {"argn", "gaussian_copula"}
    assert version["synthesizer"] == ranked[0]["synthesizer"] == parent.data.params["auto.winner"]
    [event] = result.asset_materializations_for_node("adult__synthesizer")
    table = event.metadata["synthpipe/auto_candidates"].value
    assert "argn" in table and "gaussian_copula" in table
    assert any(line.startswith("auto: argn: epoch") for line in _log_lines(instance, result))


_WITHOUT_ENGINE = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoEngine(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "mostlyai" or name.startswith("mostlyai."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, NoEngine())
    """
)


def _run_without_engine(code: str) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter of this environment in which the engine cannot be imported."""
    script = _WITHOUT_ENGINE + textwrap.dedent(code)
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_without_the_extra_argn_says_how_to_install_and_sdv_still_runs(base_config):
    # Setup
    code = f"""
        import json, dagster as dg
        from synthpipe.validation import load_config
        from synthpipe.errors import ConfigError
        from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
        config = json.loads({json.dumps(json.dumps(base_config))})
        print("defaults:", load_config(config).tables[0].auto_candidates)
        try:
            load_config({{**config, "tables": [{{"name": "adult", "synthesizer": "argn"}}]}})
        except ConfigError as error:
            print("error:", error)
        config["tables"][0]["gate_severity"] = {{"dcr": "warn"}}
        with dg.instance_for_test() as instance:
            job = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB)
            print("refresh:", job.execute_in_process(instance=instance, raise_on_error=False).success)
    """

    # Run
    done = _run_without_engine(code)

    # Assert
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "defaults: ['gaussian_copula', 'tvae', 'ctgan', 'copula_gan']" in out
    assert "synthesizer 'argn' (TabularARGN) is not installed" in out
    assert 'pip install "synthpipe[argn]"' in out and '--no-deps "mostlyai-engine==2.7.3"' in out
    assert "refresh: True" in out
