"""Usefulness of a synthetic table: train on synthetic, test on real (TSTR).

The same gradient-boosting model is trained once on the real training rows and once on the
synthetic rows, and both are scored on the real holdout; the ratio of the two scores is how much
of the real data's usefulness the twin keeps for this target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TrainingScore", "UtilityResult", "evaluate_utility", "minority_class", "score_training_set", "train_model"]

# A target with at most this many distinct values (and not float) is treated as classes.
MAX_CLASSES = 20
MAX_CATEGORIES = 255


@dataclass(frozen=True)
class UtilityResult:
    task: str
    metric: str
    real_score: float
    synthetic_score: float
    seconds: float

    @property
    def ratio(self) -> float:
        return self.synthetic_score / self.real_score if self.real_score > 0 else 0.0

    def as_metrics(self) -> dict[str, float]:
        return {
            f"utility_real_{self.metric}": self.real_score,
            f"utility_synthetic_{self.metric}": self.synthetic_score,
            "utility_ratio": self.ratio,
            "utility_seconds": self.seconds,
        }


def task_of(target: pd.Series) -> str:
    numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target)
    if numeric and (pd.api.types.is_float_dtype(target) or target.nunique() > MAX_CLASSES):
        return "regression"
    return "classification"


class _Features:
    """Ordinal codes for text columns (learned from the real training rows), numbers as they are."""

    def __init__(self, reference: pd.DataFrame):
        text = [c for c in reference.columns if not pd.api.types.is_numeric_dtype(reference[c]) or pd.api.types.is_bool_dtype(reference[c])]
        self.categories = {c: pd.Index(reference[c].dropna().unique()) for c in text}
        # Gradient boosting takes at most 255 categories per feature; identifier-like text goes.
        self.categories = {c: v for c, v in self.categories.items() if len(v) <= MAX_CATEGORIES}
        self.columns = [c for c in reference.columns if c not in text or c in self.categories]

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        parts = []
        for column in self.columns:
            if column in self.categories:
                codes = self.categories[column].get_indexer(data[column]).astype(float)
                parts.append(np.where(codes < 0, np.nan, codes))
            elif pd.api.types.is_datetime64_any_dtype(data[column]):
                parts.append(data[column].astype("int64").to_numpy(dtype=float))
            else:
                parts.append(pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float))
        return np.column_stack(parts)

    @property
    def categorical_mask(self) -> list[bool]:
        return [c in self.categories for c in self.columns]


def train_model(train: pd.DataFrame, target: str, task: str, features: _Features, seed: int) -> Any:
    """A histogram gradient-boosting model on `train` (missing values handled natively)."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    model = cls(random_state=seed, categorical_features=features.categorical_mask, max_iter=200)
    labels = train[target].astype(str) if task == "classification" else train[target]
    return model.fit(features.transform(train.drop(columns=[target])), labels)


def _score(model: Any, holdout: pd.DataFrame, target: str, task: str, features: _Features) -> tuple[str, float]:
    from sklearn.metrics import f1_score, r2_score, roc_auc_score

    x = features.transform(holdout.drop(columns=[target]))
    if task == "regression":
        return "r2", float(r2_score(holdout[target], model.predict(x)))
    truth = holdout[target].astype(str)
    if len(model.classes_) == 2 and truth.nunique() == 2:
        positive = list(model.classes_).index(sorted(truth.unique())[-1])
        return "roc_auc", float(roc_auc_score(truth == model.classes_[positive], model.predict_proba(x)[:, positive]))
    return "macro_f1", float(f1_score(truth, model.predict(x), average="macro"))


def evaluate_utility(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, target: str, seed: int = 0
) -> UtilityResult:
    """Scores a model trained on real rows and one trained on synthetic rows on the real holdout."""
    started = time.perf_counter()
    # Rows without a target value teach and test nothing about it.
    train, synthetic, holdout = (frame.dropna(subset=[target]) for frame in (train, synthetic, holdout))
    task = task_of(train[target])
    features = _Features(train.drop(columns=[target]))
    metric, real = _score(train_model(train, target, task, features, seed), holdout, target, task, features)
    _, synthetic_score = _score(train_model(synthetic, target, task, features, seed), holdout, target, task, features)
    return UtilityResult(task, metric, real, synthetic_score, time.perf_counter() - started)


@dataclass(frozen=True)
class TrainingScore:
    """One model trained on one training set and scored on the real holdout.

    `minority_recall` and `pr_auc` (average precision) are for `minority`, the rarer class of
    the real training rows, on binary targets only; `rows` counts the training rows with a
    target value.
    """

    task: str
    metric: str
    score: float
    minority: str | None
    minority_recall: float | None
    pr_auc: float | None
    rows: int
    seconds: float

    def ratio_to(self, baseline: TrainingScore) -> float:
        """This score over `baseline`'s (the model trained on real rows); 0 when that is not above 0."""
        return self.score / baseline.score if baseline.score > 0 else 0.0

    def as_metrics(self, name: str, baseline: TrainingScore) -> dict[str, float]:
        """MLflow metrics of the model trained on `name` (`real`, `synthetic`, `real+synthetic`),
        named as `UtilityResult.as_metrics` names them: `utility_real_<metric>` is `baseline`'s
        score, `utility_<name>_<metric>` this one's (`+` written `_`), `utility_ratio` the two's
        ratio; then the minority class's recall and average precision, where the target is binary.
        """
        minority = (("utility_minority_recall", self.minority_recall), ("utility_pr_auc", self.pr_auc))
        return {
            f"utility_real_{self.metric}": baseline.score,
            f"utility_{name.replace('+', '_')}_{self.metric}": self.score,
            "utility_ratio": self.ratio_to(baseline),
            "utility_seconds": self.seconds,
            **{metric: value for metric, value in minority if value is not None},
        }


def minority_class(target: pd.Series) -> str | None:
    """The rarer class of a binary target, as the text label models predict (ties: the later
    label in sort order); None when the target is not two classes.

    Examples:
        >>> minority_class(pd.Series(["No", "No", "Yes"]))
        'Yes'
    """
    counts = target.dropna().astype(str).value_counts()
    if len(counts) != 2 or task_of(target.dropna()) != "classification":
        return None
    return str(min(sorted(counts.index, reverse=True), key=lambda label: counts[label]))


def _minority_scores(model: Any, x: np.ndarray, truth: pd.Series, positive: str) -> tuple[float, float]:
    """Recall and average precision of the `positive` class (a class the model never saw
    scores 0 for every row)."""
    from sklearn.metrics import average_precision_score, recall_score

    actual = (truth == positive).to_numpy()
    classes = list(model.classes_)
    probability = model.predict_proba(x)[:, classes.index(positive)] if positive in classes else np.zeros(len(x))
    recall = float(recall_score(actual, model.predict(x) == positive, zero_division=0.0))
    precision = float(average_precision_score(actual, probability)) if actual.any() else 0.0
    return recall, precision


def score_training_set(
    train_frame: pd.DataFrame, holdout: pd.DataFrame, target: str, reference_train: pd.DataFrame, seed: int = 0
) -> TrainingScore:
    """Trains the utility model on `train_frame` and scores it on the real `holdout`.

    The task, the text columns' categories and the minority class come from `reference_train`
    (the real training rows), so scores of different training sets compare; the score is the one
    `evaluate_utility` reports for the same rows.

    Args:
        train_frame: The rows the model learns from (real, synthetic, or both).
        holdout: Real held-out rows the model is scored on.
        target: The column predicted.
        reference_train: The real training rows.
        seed: The model's random state.

    Examples:
        >>> score = score_training_set(synthetic, split.holdout, "income", split.train)  # doctest: +SKIP
        >>> score.metric, score.minority_recall  # doctest: +SKIP
        ('roc_auc', 0.41)
    """
    started = time.perf_counter()
    train_frame, holdout, reference_train = (frame.dropna(subset=[target]) for frame in (train_frame, holdout, reference_train))
    task = task_of(reference_train[target])
    features = _Features(reference_train.drop(columns=[target]))
    model = train_model(train_frame, target, task, features, seed)
    metric, score = _score(model, holdout, target, task, features)
    positive = minority_class(reference_train[target]) if task == "classification" else None
    recall = pr_auc = None
    if positive is not None:
        x = features.transform(holdout.drop(columns=[target]))
        recall, pr_auc = _minority_scores(model, x, holdout[target].astype(str), positive)
    return TrainingScore(task, metric, score, positive, recall, pr_auc, len(train_frame), time.perf_counter() - started)


def table_utility(table: Any, split: Any, data: pd.DataFrame, seed: int = 0) -> UtilityResult:
    """Utility of a single table's synthetic rows for its `target`: train on `data`, test on
    the split's real holdout; the table's generated columns are no feature to learn from."""
    assert table.target is not None
    drop = [c for c in table.generated_columns if c != table.target]
    return evaluate_utility(*(f.drop(columns=drop) for f in (split.train, data, split.holdout)), table.target, seed)
