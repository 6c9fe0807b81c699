"""Privacy measures against SDMetrics' own implementation, on small real samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

from synthpipe.assets.evaluation.privacy import closest_distances, evaluate_privacy, exact_copy_share
from synthpipe.demo_data import load_adult
from synthpipe.resources.synthesizers import (
    build_synthesizer,
    detect_metadata,
    fit_synthesizer,
    sample_rows,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def fitted_sample() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    data = load_adult(rows=1_000, seed=11)
    data.loc[data.sample(n=40, random_state=1).index, "workclass"] = None  # missing values take part too
    data.loc[data.sample(n=40, random_state=2).index, "hours-per-week"] = np.nan
    train, holdout = data.iloc[:600].reset_index(drop=True), data.iloc[600:].reset_index(drop=True)
    metadata = detect_metadata("adult", train, {})
    synthesizer = build_synthesizer("gaussian_copula", {}, metadata, "adult")
    fit_synthesizer(synthesizer, "adult", train)
    return train, holdout, sample_rows(synthesizer, 400, seed=3), metadata.to_dict()["tables"]["adult"]


@pytest.mark.parametrize("reference", ["train", "holdout"])
def test_distances_equal_sdmetrics_dcr(fitted_sample, reference):
    # Setup
    train, holdout, synthetic, table = fitted_sample
    ref = train if reference == "train" else holdout

    # Run
    ours = closest_distances(synthetic, ref, table["columns"])[:, 0]
    theirs = calculate_dcr(dataset=synthetic, reference_dataset=ref, metadata=table).to_numpy()

    # Assert: value for value, including capped distances to the holdout's narrower ranges
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_closer_to_training_share_matches_sdmetrics(fitted_sample):
    # Setup: equal-sized references, as SDMetrics compares them
    train, holdout, synthetic, table = fitted_sample
    train_part = train.iloc[:400]
    from sdmetrics.single_table import DCROverfittingProtection

    # Run
    theirs = DCROverfittingProtection.compute_breakdown(train_part, synthetic, holdout, {"tables": {"adult": table}}, "adult")
    ours = (closest_distances(synthetic, train_part, table["columns"])[:, 0] < closest_distances(synthetic, holdout, table["columns"])[:, 0]).mean()

    # Assert
    assert ours == pytest.approx(theirs["synthetic_data_percentages"]["closer_to_training"], abs=1e-12)


def test_copied_rows_are_counted(fitted_sample):
    train, holdout, synthetic, table = fitted_sample
    leaky = pd.concat([synthetic.iloc[:300], train.iloc[:100]], ignore_index=True)
    assert exact_copy_share(synthetic, train) == 0.0
    assert exact_copy_share(leaky, train) == 0.25
    result = evaluate_privacy(leaky, train, holdout, table["columns"])
    assert result.exact_copy_share == 0.25
    assert result.dcr_closer_to_training_share > evaluate_privacy(synthetic, train, holdout, table["columns"]).dcr_closer_to_training_share


@pytest.mark.parametrize(("raw", "ratio", "expected"), [(0.8, 4.0, 0.5), (0.5, 1.0, 0.5), (1.0, 4.0, 1.0), (0.0, 4.0, 0.0), (0.9, 4.0, 0.6923)])
def test_the_closer_share_is_corrected_for_more_training_than_holdout_rows(raw, ratio, expected):
    from synthpipe.assets.evaluation.privacy import size_corrected

    assert size_corrected(raw, ratio) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("successes", "trials", "low", "high"), [(50, 100, 0.4038, 0.5962), (100, 100, 0.963, 1.0), (0, 10, 0.0, 0.2775)])
def test_wilson_intervals_match_the_textbook_values(successes, trials, low, high):
    from synthpipe.assets.evaluation.privacy import wilson_interval

    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-3)


@pytest.mark.parametrize(
    ("interval", "passed"), [((0.55, 0.65), True), ((0.61, 0.7), False), ((0.3, 0.59), True)]
)
def test_a_bounded_gate_fails_only_when_the_whole_interval_is_past_the_threshold(interval, passed):
    from synthpipe.assets.checks.gates import bounded_gate
    from synthpipe.config import TableConfig

    result = bounded_gate("dcr", sum(interval) / 2, interval, TableConfig(name="adult"))
    assert result.passed is passed
