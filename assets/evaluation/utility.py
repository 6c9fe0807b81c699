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

__all__ = ["UtilityResult", "evaluate_utility", "train_model"]

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


def table_utility(table: Any, split: Any, data: pd.DataFrame, seed: int = 0) -> UtilityResult:
    """Utility of a single table's synthetic rows for its `target`: train on `data`, test on
    the split's real holdout; the table's generated columns are no feature to learn from."""
    assert table.target is not None
    drop = [c for c in table.generated_columns if c != table.target]
    return evaluate_utility(*(f.drop(columns=drop) for f in (split.train, data, split.holdout)), table.target, seed)
