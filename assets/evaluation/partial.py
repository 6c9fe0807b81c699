"""Privacy of a partially synthetic table (`synthesize_columns`): real rows whose named columns
were generated given the row's other, real values.

A whole-row distance to the closest training record means nothing here: every published row *is*
a training row in its kept columns. What is measured instead, and gated by the same gates:

- `exact_copies`: the share of published rows identical to their own source row in every column:
  the generated cells reproduced the real ones, so a real record is published whole.
- `dcr`: for each row, the distance between its generated cells and its own real values
  (numbers scaled by the column's range, categories 0 or 1, averaged over the generated columns).
  The same is measured on holdout rows, whose columns the model generated without having seen
  them. The share is P(a training row's distance < a holdout row's), ties counted half: about
  0.5 means the model reproduces the rows it learned no better than rows it never saw; near 1,
  it memorised their sensitive values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthpipe.assets.evaluation.privacy import PrivacyResult

__all__ = ["own_row_distances", "partial_privacy"]


def own_row_distances(real: pd.DataFrame, generated: pd.DataFrame, columns: Sequence[str], scale: pd.DataFrame) -> np.ndarray:
    """Per row, the mean distance between the generated cells and the row's own real values;
    numbers are divided by their range in `scale` (the training rows)."""
    parts = []
    for column in columns:
        left, right = real[column].reset_index(drop=True), generated[column].reset_index(drop=True)
        numeric = pd.api.types.is_numeric_dtype(left) and not pd.api.types.is_bool_dtype(left)
        if numeric:
            span = float(scale[column].max() - scale[column].min()) or 1.0
            distance = (left.astype(float) - right.astype(float)).abs() / span
        else:
            distance = (left.astype(str) != right.astype(str)).astype(float)
        both_missing = left.isna() & right.isna()
        parts.append(np.where(both_missing, 0.0, np.where(left.isna() | right.isna(), 1.0, distance.fillna(1.0))))
    return np.mean(parts, axis=0) if parts else np.zeros(len(real))


def _closer_share(training: np.ndarray, holdout: np.ndarray) -> float:
    """P(training distance < holdout distance) + half the ties."""
    if not len(training) or not len(holdout):
        return 0.5
    ordered = np.sort(holdout)
    below = np.searchsorted(ordered, training, side="left")
    at_or_below = np.searchsorted(ordered, training, side="right")
    greater = len(ordered) - at_or_below
    return float(np.mean((greater + 0.5 * (at_or_below - below)) / len(ordered)))


def partial_privacy(
    training: pd.DataFrame,
    published: pd.DataFrame,
    holdout: pd.DataFrame,
    holdout_generated: pd.DataFrame,
    columns: Sequence[str],
    training_generated: pd.DataFrame | None = None,
) -> PrivacyResult:
    """The partial table's privacy measures in the shape of `PrivacyResult` (see the module
    docstring for what each field means here); `published` are the training rows as published,
    in the same order as `training`. A hybrid table publishes only its gaps generated, so its
    distances are measured on `training_generated`: the same rows with every cell of `columns`
    generated, as the holdout's are."""
    import time

    started = time.perf_counter()
    unchanged = (training.reset_index(drop=True).astype(str) == published.reset_index(drop=True).astype(str)).all(axis=1)
    to_training = own_row_distances(training, published if training_generated is None else training_generated, columns, training)
    to_holdout = own_row_distances(holdout, holdout_generated, columns, training)
    return PrivacyResult(
        exact_copy_share=float(unchanged.mean()) if len(unchanged) else 0.0,
        dcr_closer_to_training_share=_closer_share(to_training, to_holdout),
        dcr_training_median=float(np.median(to_training)) if len(to_training) else 0.0,
        dcr_holdout_median=float(np.median(to_holdout)) if len(to_holdout) else 0.0,
        nndr_median=float("nan"),
        rows=len(published),
        seconds=time.perf_counter() - started,
        to_training=to_training,
        to_holdout=to_holdout,
    )
