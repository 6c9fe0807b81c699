"""The quality score: SDMetrics' own on narrow tables, bounded pair trends on wide ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.assets.evaluation.quality import MAX_PAIRS, column_pairs, evaluate_quality
from bench.wide import widen
from synthpipe.demo_data import load_adult
from synthpipe.resources.synthesizers import detect_metadata

pytestmark = pytest.mark.unit


def columns(**sdtypes: str) -> dict[str, dict[str, str]]:
    return {name: {"sdtype": sdtype} for name, sdtype in sdtypes.items()}


def metadata_of(data: pd.DataFrame) -> dict[str, object]:
    return detect_metadata("t", data, {}).to_dict()["tables"]["t"]


@pytest.mark.parametrize(
    ("given", "max_pairs", "expected_pairs", "total"),
    [
        (columns(a="numerical", b="categorical", c="datetime"), 500, [("a", "b"), ("a", "c"), ("b", "c")], 3),
        (columns(a="numerical", key="id", b="boolean", email="email"), 500, [("a", "b")], 1),  # ids and PII are not measured
        (columns(a="numerical", b="categorical", c="ordinal"), 2, None, 3),  # more pairs than the bound: 2 of them
        ({f"c{i}": {"sdtype": "numerical"} for i in range(300)}, 500, None, 44_850),
    ],
)
def test_column_pairs(given, max_pairs, expected_pairs, total):
    # Run
    pairs, counted = column_pairs(given, max_pairs, seed=0)

    # Assert
    assert counted == total
    if expected_pairs is not None:
        assert pairs == expected_pairs
    assert len(pairs) == min(max_pairs, total) and len(set(pairs)) == len(pairs)
    order = {name: i for i, name in enumerate(given)}
    assert pairs == sorted(pairs, key=lambda p: (order[p[0]], order[p[1]]))  # SDMetrics' order, kept
    assert column_pairs(given, max_pairs, seed=0)[0] == pairs  # the same subset every time


def test_a_different_seed_draws_a_different_subset():
    # Setup
    wide = {f"c{i}": {"sdtype": "numerical"} for i in range(100)}

    # Run / Assert
    assert column_pairs(wide, 50, seed=0)[0] != column_pairs(wide, 50, seed=1)[0]


def test_narrow_tables_score_exactly_as_sdmetrics_quality_report():
    # Setup: two disjoint real slices of Adult, with a datetime column and missing values
    from sdmetrics.reports.single_table import QualityReport

    adult = load_adult(rows=2_000, seed=3)
    rng = np.random.default_rng(0)
    adult["interviewed"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(adult["age"] * 5 + rng.integers(0, 30, len(adult)), unit="D")
    adult.loc[rng.random(len(adult)) < 0.1, "hours-per-week"] = np.nan
    adult.loc[rng.random(len(adult)) < 0.05, "interviewed"] = pd.NaT
    real, other = adult.iloc[:1_000].reset_index(drop=True), adult.iloc[1_000:].reset_index(drop=True)
    metadata = metadata_of(real)
    report = QualityReport()
    report.generate(real, other, metadata, verbose=False)

    # Run
    result = evaluate_quality(real, other, metadata)

    # Assert: the same score, properties, column shapes and pair scores
    assert result.score == pytest.approx(report.get_score(), abs=1e-12)
    assert result.properties == pytest.approx(dict(report.get_properties().itertuples(index=False)), abs=1e-12)
    shapes = report.get_details("Column Shapes")
    assert result.column_scores == pytest.approx(dict(zip(shapes["Column"], shapes["Score"])), abs=1e-12)
    theirs = report.get_details("Column Pair Trends")[["Column 1", "Column 2", "Score"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.pair_scores.reset_index(drop=True), theirs, check_dtype=False)
    assert result.pairs_measured == result.pairs_total == 120 and not result.pairs_sampled


def test_wide_tables_measure_a_bounded_subset_of_pairs_and_report_progress():
    # Setup: Adult widened to 300 columns (44,850 pairs)
    adult = load_adult(rows=1_000, seed=7)
    real, other = widen(adult, 300, seed=0), widen(adult.sample(frac=1.0, random_state=1).reset_index(drop=True), 300, seed=1)
    metadata = metadata_of(real)
    lines: list[str] = []

    # Run
    result = evaluate_quality(real, other, metadata, progress=lines.append)

    # Assert: every column's shape, 500 pairs, and a line as each part and each quarter of the pairs is done
    assert len(result.column_scores) == 300
    assert (result.pairs_measured, result.pairs_total) == (MAX_PAIRS, 44_850) and result.pairs_sampled
    assert len(result.pair_scores) == MAX_PAIRS
    assert 0 < result.score <= 1
    assert lines[0].startswith("Quality: diagnostic report done")
    assert lines[1].startswith("Quality: column shapes done on 300 columns")
    assert lines[2] == "Quality: measuring column pair trends on a seeded subset of 500 of the 44,850 pairs"
    assert [line.split(" pairs in ")[0] for line in lines[3:]] == [f"Quality: column pair trends {n}/500" for n in (125, 250, 375, 500)]
