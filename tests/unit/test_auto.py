"""The rules `auto` decides by: epochs sized from a timed probe, blocking checks, the ranking."""

from __future__ import annotations

import pytest

from synthpipe.assets.auto import Candidate, EpochProbe, blocking_failures, plan_epochs, rank
from synthpipe.expectations.runner import FailedExpectation, SuiteResult
from synthpipe.config import TableConfig

pytestmark = pytest.mark.unit


def candidate(name: str, quality: float, seconds: float, failed: tuple[str, ...] = ()) -> Candidate:
    return Candidate(name, seconds, {"quality_score": quality}, list(failed), run_id=name)


def skipped(name: str) -> Candidate:
    return Candidate(name, figures={"quality_score": None}, status="skipped", reason="budget spent")


@pytest.mark.parametrize(
    ("candidates", "order"),
    [
        ([candidate("a", 0.80, 5), candidate("b", 0.85, 50)], ["b", "a"]),  # quality before time
        ([candidate("a", 0.90, 5, ("quality",)), candidate("b", 0.70, 50)], ["b", "a"]),  # gates before quality
        ([candidate("a", 0.95, 5, ("expectations",)), candidate("b", 0.70, 50)], ["b", "a"]),  # derived suite before quality
        ([candidate("a", 0.95, 5, ("suite_contracts",)), candidate("b", 0.70, 50)], ["b", "a"]),  # user suites too
        ([candidate("a", 0.85, 50), candidate("b", 0.85, 5)], ["b", "a"]),  # time breaks a tie
        ([candidate("a", 0.60, 5, ("dcr",)), candidate("b", 0.50, 5, ("expectations",))], ["a", "b"]),  # none pass: best quality
        ([skipped("a"), candidate("b", 0.50, 5, ("expectations", "quality"))], ["b", "a"]),  # skipped ones last
        ([Candidate("a", 60.0, {"quality_score": None}, status="stopped", reason="deadline"), candidate("b", 0.5, 5, ("dcr",))], ["b", "a"]),
    ],
)
def test_rank(candidates, order):
    # Run
    ranked = rank(candidates)

    # Assert
    assert [c.name for c in ranked] == order


@pytest.mark.parametrize(
    ("probe", "left", "scoring", "configured", "epochs"),
    [
        # 1 s for the first epoch, 1 s per further one: (120 / 1.2 - 10 - 1) / 1 + 1 = 90 epochs fit
        (EpochProbe(4, 4.0, 1.0), 120, 10, 300, 90),
        # plenty of time: the configured epochs, not more
        (EpochProbe(4, 4.0, 1.0), 10_000, 10, 300, 300),
        # 4 epochs fit, fewer than the minimum of 5: none
        (EpochProbe(4, 4.0, 1.0), 1.2 * (10 + 4) + 0.1, 10, 300, 0),
        # exactly the minimum fits
        (EpochProbe(4, 4.0, 1.0), 1.2 * (10 + 5) + 0.1, 10, 300, 5),
        # a user who asked for 3 epochs needs only 3 to fit
        (EpochProbe(4, 4.0, 1.0), 1.2 * (10 + 3) + 0.1, 10, 3, 3),
        # scoring alone takes longer than what is left
        (EpochProbe(4, 4.0, 1.0), 10, 20, 300, 0),
        # noise made the longer probe barely longer: an epoch costs at least a quarter of its
        # average (4 s / 4 / 4 = 0.25 s), so 2.6 s of room after the first epoch hold 10 more
        (EpochProbe(4, 4.0, 3.99), 1.2 * (10 + 3.99 + 2.6), 10, 300, 11),
    ],
)
def test_plan_epochs(probe, left, scoring, configured, epochs):
    # Run
    planned = plan_epochs(probe, left, scoring, configured)

    # Assert: what is planned fits in what is left, with the margin
    assert planned == epochs
    if planned:
        assert 1.2 * (probe.predicted_seconds(planned) + scoring) <= left + 1e-9


def test_probe_time_per_epoch_is_the_difference_of_the_two_fits():
    # Setup: 3 s of preprocessing, 0.5 s per epoch
    probe = EpochProbe(epochs=4, seconds=3 + 4 * 0.5, one_epoch_seconds=3 + 0.5)

    # Assert
    assert probe.seconds_per_epoch == pytest.approx(0.5)
    assert probe.predicted_seconds(100) == pytest.approx(3 + 100 * 0.5)


def failing_suite(severity: str) -> SuiteResult:
    failure = FailedExpectation("expect_column_values_to_be_between", "age", None, 12, [5, 3], severity)
    return SuiteResult("adult.auto.derived", 40, [failure])


FIGURES = {"quality_score": 0.8, "exact_copy_share": 0.0, "dcr_closer_to_training_share": 0.5, "value_leak_share": 0.0}


@pytest.mark.parametrize(
    ("settings", "figures", "suites", "failed"),
    [
        ({}, FIGURES, {"expectations": SuiteResult("s", 40, [])}, []),
        ({}, FIGURES, {"expectations": failing_suite("error")}, ["expectations"]),
        ({}, FIGURES, {"expectations": failing_suite("warn")}, []),  # a warning does not block
        ({}, FIGURES, {"expectations": SuiteResult("s", 40, []), "suite_contracts": failing_suite("error")}, ["suite_contracts"]),
        ({"quality_threshold": 0.9}, FIGURES, {}, ["quality"]),
        ({"quality_threshold": 0.9, "gate_severity": {"quality": "warn"}}, FIGURES, {}, []),
        ({"max_dcr_closer_share": 0.4}, FIGURES, {"expectations": failing_suite("error")}, ["dcr", "expectations"]),
        ({"target": "income", "min_utility_ratio": 0.9}, {**FIGURES, "utility_ratio": 0.5}, {}, ["utility"]),
        ({}, {**FIGURES, "value_leak_share": 0.2}, {}, ["value_leaks"]),  # a candidate that copies rare values loses
    ],
)
def test_blocking_failures(settings, figures, suites, failed):
    # Setup
    table = TableConfig(name="adult", **settings)

    # Run
    found = blocking_failures(table, figures, suites)

    # Assert
    assert found == failed


def test_summary_has_the_same_columns_for_fitted_and_skipped_candidates():
    # Setup
    fitted = Candidate("tvae", 3.0, dict(FIGURES), ["expectations"], "run", epochs=40, probe=EpochProbe(4, 4.0, 1.0))
    passed = Candidate("gaussian_copula", 1.0, dict(FIGURES), [], "run")
    not_fitted = Candidate("ctgan", figures={k: None for k in FIGURES}, status="skipped", reason="5 epochs would take 60.0 s")

    # Run
    rows = [c.summary() for c in (fitted, passed, not_fitted)]

    # Assert
    assert list(rows[0]) == list(rows[1]) == list(rows[2])
    assert rows[0]["failed_checks"] == "expectations" and rows[0]["passed"] is False and rows[0]["epochs"] == 40
    assert rows[1]["failed_checks"] == "none" and rows[1]["passed"] is True
    assert rows[2]["status"] == "skipped" and rows[2]["reason"] == "5 epochs would take 60.0 s"


def test_the_run_log_reads_each_candidate_in_one_line():
    # Setup
    fitted = Candidate("argn", 131.3, {"quality_score": 0.9673, "utility_ratio": 0.9705}, [], "run", scoring_seconds=4.8)
    failed = Candidate("gaussian_copula", 6.0, {"quality_score": 0.8815, "utility_ratio": None}, ["utility"], "run", scoring_seconds=3.2)
    skipped = Candidate("ctgan", figures={"quality_score": None}, status="skipped", reason="5 epochs would take 60.0 s")

    # Assert: no raw dictionaries; the verdict, the figures measured, the time
    assert fitted.describe() == "passed every blocking check; quality 0.9673, utility ratio 0.9705; fit 131.3 s, scoring 4.8 s"
    assert failed.describe().startswith("failed utility; quality 0.8815; fit 6.0 s")
    assert skipped.describe() == "skipped: 5 epochs would take 60.0 s"


def test_the_end_of_training_line_gives_the_whole_fit_time_not_the_last_report_s():
    from types import SimpleNamespace

    from synthpipe.assets.fit import log_training_end

    # Setup: a backend whose last progress report came 68 s in, of a 120 s budget; the fit took 145 s
    report = {"epoch": 12, "train_loss": 0.41, "validation_loss": 0.44, "elapsed_seconds": 68.0, "seconds_left": 52.0, "budget_seconds": 120.0}
    lines: list[str] = []
    log = SimpleNamespace(info=lines.append)

    # Run
    log_training_end(log, "argn", SimpleNamespace(training_report=report), fit_seconds=145.0)

    # Assert
    assert lines == ["argn: training ended at epoch 12, training loss 0.41, validation loss 0.44, 145 s elapsed, 0 s left of the 120 s budget"]


def test_without_a_time_budget_the_end_of_training_line_says_so():
    from types import SimpleNamespace

    from synthpipe.assets.fit import log_training_end

    report = {"epoch": 4, "train_loss": 0.41, "validation_loss": 0.44, "elapsed_seconds": 9.0, "seconds_left": None, "budget_seconds": None}
    lines: list[str] = []
    log_training_end(SimpleNamespace(info=lines.append), "argn", SimpleNamespace(training_report=report), fit_seconds=12.0)
    assert lines == ["argn: training ended at epoch 4, training loss 0.41, validation loss 0.44, 12 s elapsed, no time budget"]
