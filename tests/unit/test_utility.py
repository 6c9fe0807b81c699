"""Scores of one downstream training set: the task's metric, and the minority class's recall and
average precision (PR-AUC) for binary targets, on tiny hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.assets.downstream import comparison_table
from synthpipe.assets.evaluation.utility import evaluate_utility, minority_class, score_training_set

pytestmark = pytest.mark.unit

X = np.arange(200)
# 200 real training rows; "Yes" (the rare class, 10%) is exactly x >= 180
REAL = pd.DataFrame({"x": X, "colour": np.where(X % 2, "red", "blue"), "label": np.where(X >= 180, "Yes", "No")})
# 20 held-out rows, 2 of them "Yes"
HOLDOUT = pd.DataFrame({"x": np.arange(5, 200, 10), "colour": "red", "label": np.where(np.arange(5, 200, 10) >= 180, "Yes", "No")})


@pytest.mark.parametrize(
    ("train", "target", "expected"),
    [
        # the rule learned: every rare row found, ranked first
        (REAL, "label", ("roc_auc", "Yes", 1.0, 1.0)),
        # the rule reversed: no rare row found; average precision falls to the rare share (2 of 20)
        (REAL.assign(label=np.where(X < 20, "Yes", "No")), "label", ("roc_auc", "Yes", 0.0, 0.1)),
        # a twin that lost the rare class: never predicted, scored 0 for every row
        (REAL.assign(label="No"), "label", ("macro_f1", "Yes", 0.0, 0.1)),
    ],
    ids=["learned", "reversed", "rare-class-lost"],
)
def test_binary_targets_report_the_minority_class_recall_and_pr_auc(train, target, expected):
    # Run: the minority class is the rarer one of the real training rows, whatever `train` holds
    score = score_training_set(train, HOLDOUT, target, REAL)

    # Assert
    assert (score.metric, score.minority, score.minority_recall, score.pr_auc) == pytest.approx(expected)
    assert score.rows == 200 and score.task == "classification"


@pytest.mark.parametrize(
    ("label", "task", "metric"),
    [(X % 3, "classification", "macro_f1"), (X * 1.5, "regression", "r2")],
    ids=["three-classes", "numeric"],
)
def test_other_targets_have_no_minority_metrics(label, task, metric):
    # Setup
    real, holdout = REAL.assign(label=label), HOLDOUT.assign(label=HOLDOUT["x"] % 3 if task == "classification" else HOLDOUT["x"] * 1.5)

    # Run
    score = score_training_set(real, holdout, "label", real)

    # Assert
    assert (score.task, score.metric, score.minority, score.minority_recall, score.pr_auc) == (task, metric, None, None, None)
    assert set(score.as_metrics("real", score)) == {f"utility_real_{metric}", "utility_ratio", "utility_seconds"}


def test_scores_are_those_evaluate_utility_reports_and_metrics_keep_their_names():
    # Setup
    twin = REAL.assign(x=REAL["x"] + 3)

    # Run
    utility = evaluate_utility(REAL, twin, HOLDOUT, "label")
    real, synthetic = (score_training_set(frame, HOLDOUT, "label", REAL) for frame in (REAL, twin))
    both = score_training_set(pd.concat([REAL, twin], ignore_index=True), HOLDOUT, "label", REAL)

    # Assert: the same models, the same scores and names as the utility gate's
    assert (real.score, synthetic.score) == (utility.real_score, utility.synthetic_score)
    metrics = synthetic.as_metrics("synthetic", real)
    assert {k: metrics[k] for k in utility.as_metrics() if k != "utility_seconds"} == {k: v for k, v in utility.as_metrics().items() if k != "utility_seconds"}
    assert {"utility_minority_recall", "utility_pr_auc"} <= set(metrics)
    assert "utility_real_synthetic_roc_auc" in both.as_metrics("real+synthetic", real) and both.rows == 400


def test_the_comparison_table_has_a_row_per_entry():
    # Setup
    scores = {name: score_training_set(REAL, HOLDOUT, "label", REAL) for name in ("real", "synthetic")}

    # Run
    table = comparison_table(scores, {"real": "run-a", "synthetic": "run-b"})

    # Assert
    lines = table.splitlines()
    assert lines[0].startswith("| trained on | training rows | roc_auc | ratio to real | minority recall ('Yes') |")
    assert lines[2] == "| real | 200 | 1.0000 | 1.0000 | 1.0000 | 1.0000 | `run-a` |"
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["No", "No", "Yes"], "Yes"), (["a", "b"], "b"), ([True, False, False], "True"), ([0, 1, 1, 1], "0"), (["a", "b", "c"], None)],
)
def test_minority_class(values, expected):
    assert minority_class(pd.Series(values)) == expected
