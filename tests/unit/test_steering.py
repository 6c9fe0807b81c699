"""The pure logic of steered and partially synthetic twins: plans, shares, parity gaps, the
steered reference and the own-row distances. Frames here are shapes of input, not data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from synthpipe.assets.evaluation.partial import _closer_share, own_row_distances
from synthpipe.assets.steering import parity_gap, sampling_plan, split_rows, steered_reference
from synthpipe.config import SampleCondition, TableConfig
from synthpipe.errors import SynthesizerError

pytestmark = pytest.mark.unit

# 90 "No", 10 "Yes", 3 "Maybe" (rarer than rare_value_min_count 5); groups a/b with different rates
REAL = pd.DataFrame(
    {
        "cls": ["No"] * 90 + ["Yes"] * 10 + ["Maybe"] * 3,
        "group": (["a"] * 60 + ["b"] * 30) + (["a"] * 2 + ["b"] * 8) + ["a"] * 3,
        "x": np.arange(103, dtype=float),
    }
)


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [(10, {"a": 0.24, "b": 0.76}, {"a": 2, "b": 8}), (7, {"a": 1, "b": 1, "c": 1}, {"a": 3, "b": 2, "c": 2}), (0, {"a": 1}, {"a": 0})],
)
def test_split_rows_adds_up_exactly(total, weights, expected):
    assert split_rows(total, weights) == expected


def test_rebalance_gives_the_named_class_its_share_and_the_others_their_real_proportions():
    # Setup
    table = TableConfig(name="t", rebalance={"column": "cls", "shares": {"Yes": 0.3}})

    # Run
    plan = sampling_plan(table, REAL, 1000)

    # Assert: Yes at 30%, No takes the rest; Maybe is rare and never emitted
    assert {c.values["cls"]: c.rows for c in plan} == {"Yes": 300, "No": 700}


def test_rebalance_refuses_a_class_the_source_lacks_with_the_classes_it_holds():
    table = TableConfig(name="t", rebalance={"column": "cls", "shares": {"Yess": 0.3}})
    with pytest.raises(SynthesizerError, match=re.escape("'Yess' is not a class of 'cls', which holds 'No', 'Yes', 'Maybe'. Did you mean 'Yes'?")):
        sampling_plan(table, REAL, 100)


def test_fairness_plan_gives_every_group_the_overall_rate():
    # Setup
    table = TableConfig(name="t", fairness={"target": "cls", "sensitive": "group"})

    # Run
    plan = sampling_plan(table, REAL[REAL["cls"] != "Maybe"], 1000)

    # Assert: the plan's parity gap is (up to rounding) zero, groups keep their real shares
    rows = pd.DataFrame([{**c.values, "n": c.rows} for c in plan]).set_index(["group", "cls"])["n"]
    assert parity_gap(rows, "cls", "group").gap < 0.002
    assert rows.groupby(level=0).sum().to_dict() == {"a": 620, "b": 380}


def test_parity_gap_from_rows_and_from_counts_agree():
    rows = REAL[REAL["cls"] != "Maybe"]
    from_rows = parity_gap(rows, "cls", "group")
    from_counts = parity_gap(rows[["group", "cls"]].value_counts(), "cls", "group")
    assert from_rows.gap == pytest.approx(from_counts.gap) == pytest.approx(8 / 38 - 2 / 62)


def test_steered_reference_follows_the_plan():
    plan = [SampleCondition(values={"cls": "Yes"}, rows=50), SampleCondition(values={"cls": "No"}, rows=50)]
    reference = steered_reference(REAL, plan, seed=0)
    assert (reference["cls"] == "Yes").mean() == pytest.approx(0.5, abs=0.01) and len(reference) == pytest.approx(len(REAL), abs=2)


def test_own_row_distances_scale_numbers_and_count_category_mismatches():
    real = pd.DataFrame({"n": [0.0, 5.0, 10.0], "c": ["a", "b", None]})
    generated = pd.DataFrame({"n": [0.0, 10.0, 10.0], "c": ["a", "a", None]})
    assert own_row_distances(real, generated, ["n", "c"], real).tolist() == [0.0, 0.75, 0.0]


@pytest.mark.parametrize(
    ("training", "holdout", "expected"),
    [([0.1, 0.1], [0.5, 0.5], 1.0), ([0.5], [0.1, 0.9], 0.5), ([0.2, 0.2], [0.2, 0.2], 0.5), ([0.9], [0.1], 0.0)],
)
def test_closer_share_is_the_probability_a_training_row_is_closer(training, holdout, expected):
    assert _closer_share(np.array(training), np.array(holdout)) == pytest.approx(expected)
