"""Rare-value protection, the value-leak measure, ID shapes and the source-step inspection, as
pure functions on real Adult rows (and shapes of input where the case is about a shape)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from synthpipe.assets.inspection import check_source_rows, free_text_columns, looks_personal, pii_line
from synthpipe.assets.evaluation.leaks import evaluate_value_leaks
from synthpipe.demo_data import load_adult
from synthpipe.resources.id_formats import learn_id_regex, number_in_shape
from synthpipe.resources.protection import protect_rare_values, rare_values

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult(rows=2_000, seed=3)


def test_rare_categories_are_replaced_by_common_ones_in_proportion(adult):
    # Setup
    rare = rare_values(adult["native-country"], 5)
    assert rare  # Adult has countries seen only once or twice in 2,000 rows

    # Run
    protected, report = protect_rare_values(adult, {"native-country": "categorical"}, 5, seed=1)

    # Assert: no rare country is left, common ones keep their shares, the input is untouched
    assert not protected["native-country"].isin(rare).any()
    assert report.replaced["native-country"] == int(adult["native-country"].isin(rare).sum())
    rare_mass = adult["native-country"].isin(rare).mean()
    before = adult["native-country"].value_counts(normalize=True)["United-States"]
    after = protected["native-country"].value_counts(normalize=True)["United-States"]
    assert after == pytest.approx(before / (1 - rare_mass), abs=0.015)
    assert adult["native-country"].isin(rare).any()


def test_numbers_are_clipped_to_the_kth_extreme(adult):
    protected, report = protect_rare_values(adult, {"capital-gain": "numerical", "age": "numerical"}, 5)
    ordered = np.sort(adult["age"].to_numpy())
    assert protected["age"].max() == ordered[-5] and protected["age"].min() == ordered[4]
    top = np.sort(adult["fnlwgt"].to_numpy())
    protected_weights, _ = protect_rare_values(adult, {"fnlwgt": "numerical"}, 5)
    assert not protected_weights["fnlwgt"].isin(top[-4:]).any()  # the four largest weights, each held by one person
    assert report.clipped["age"] > 0


def test_fixed_combinations_are_protected_together(adult):
    # Setup: a rule that only real (education, education-num) pairs occur
    rule = SimpleNamespace(kind="fixed_combinations", columns=["education", "occupation"])
    pairs = set(zip(adult["education"], adult["occupation"]))

    # Run
    protected, _ = protect_rare_values(adult, {"education": "categorical", "occupation": "categorical"}, 5, rules=[rule])

    # Assert: every protected pair is a real pair seen at least 5 times
    counts = pd.Series(list(zip(adult["education"], adult["occupation"]))).value_counts()
    kept = set(zip(protected["education"], protected["occupation"]))
    assert kept <= pairs and all(counts[p] >= 5 for p in kept)


def test_clipping_keeps_an_inequality_in_order():
    # Shape of input: low <= high in every row, extremes on both
    low = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 90.0])
    data = pd.DataFrame({"low": low, "high": low + pd.Series([100.0] + [1.0] * 11)})
    rule = SimpleNamespace(kind="inequality", columns=["low", "high"])
    protected, _ = protect_rare_values(data, {"low": "numerical", "high": "numerical"}, 3, rules=[rule])
    assert (protected["low"] <= protected["high"]).all()


def test_value_leaks_count_rare_real_values_per_column_without_naming_them(adult):
    # Setup: a "synthetic" table that copies every real country, one that copies only common ones
    columns = {"native-country": {"sdtype": "categorical"}, "age": {"sdtype": "numerical"}}
    common = adult[~adult["native-country"].isin(rare_values(adult["native-country"], 5))]

    # Run
    leaking = evaluate_value_leaks(adult, adult, columns, 5)
    clean = evaluate_value_leaks(common, adult, columns, 5)

    # Assert
    assert leaking.share > 0 and leaking.columns[0].column == "native-country" and leaking.measured == 1
    assert clean.share == 0.0 and clean.columns == []
    assert not any(value in leaking.table() for value in rare_values(adult["native-country"], 5))


@pytest.mark.parametrize(
    ("values", "regex", "first"),
    [
        (["17-293535", "23-000121", "99-123456"], r"[0-9]{2}\-[0-9]{6}", "00-000000"),
        (["CUST-00042", "CUST-10042"], r"CUST\-[0-9]{5}", "CUST-00000"),
        (["ab12", "cd34"], "[a-z]{2}[0-9]{2}", "aa00"),
        (["a", "bb", "ccc"], None, None),
    ],
)
def test_id_shapes_are_learned_and_numbered(values, regex, first):
    learned = learn_id_regex(pd.Series(values))
    assert learned == regex
    if regex:
        numbered = number_in_shape(regex, np.arange(1_000))
        assert numbered[0] == first and len(set(numbered)) == 1_000
        assert pd.Series(numbered).str.fullmatch(regex).all()


def test_free_text_is_named_with_the_fix(adult):
    data = adult[["age", "workclass"]].copy()
    data["notes"] = [f"visit {i // 2}" for i in range(len(data))]
    problems = free_text_columns("t", data, {"workclass": "categorical", "notes": "categorical"}, 5, declared=())
    assert len(problems) == 1 and "'notes' (100% of its values seen in fewer than 5 rows" in problems[0]
    assert free_text_columns("t", data, {"notes": "categorical"}, 5, declared={"notes"}) == []
    assert free_text_columns("t", data, {"workclass": "categorical"}, 5, declared=()) == []


def test_personal_looking_columns_are_hinted_by_name_and_content():
    # Shape of input: emails, phone numbers and person names under neutral names
    data = pd.DataFrame(
        {
            "contact": [f"user{i}@example.org" for i in range(50)],
            "line": [f"+1 (555) 010-{i:04d}" for i in range(50)],
            "holder": ["James Smith", "Mary Jones"] * 25,
            "city": ["Porto"] * 50,
            "amount": range(50),
        }
    )
    hints = {h.column: h for h in looks_personal(data, declared=())}
    assert set(hints) == {"contact", "line", "holder", "city"}
    assert pii_line(hints.values()) == "pii: {contact: email, line: phone_number, holder: name, city: city}"
    assert looks_personal(data, declared={"contact", "line", "holder", "city"}) == []


@pytest.mark.parametrize(("rows", "fraction", "refused"), [(1, 0.2, True), (49, 0.2, True), (50, 0.2, False), (60, 0.1, True), (100, 0.1, False)])
def test_minimum_size(rows, fraction, refused):
    assert bool(check_source_rows("t", rows, fraction)) is refused
