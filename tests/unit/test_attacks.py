"""Anonymeter's attacks on real Adult rows: a verbatim copy of the training rows is at risk, a
fresh sample of the same population is not; results repeat for a seed; the samples are bounded."""

from __future__ import annotations

import dataclasses
import re
import sys

import numpy as np
import pandas as pd
import pytest

from synthpipe.assets.evaluation.attacks import (
    ANONYMETER_INSTALL,
    AttackDependencyError,
    AttackInputError,
    AttackResult,
    attack_frames,
    choose_secrets,
    evaluate_attacks,
)
from synthpipe.demo_data import load_adult

pytestmark = pytest.mark.unit

ROWS = 1_000


@pytest.fixture(scope="module")
def adult() -> dict:
    # 3,000 real rows in three disjoint parts: training, holdout (the control) and fresh rows of the
    # same population that neither the "model" nor the control saw.
    data = load_adult(rows=3 * ROWS, seed=7)
    parts = [data.iloc[i * ROWS : (i + 1) * ROWS].reset_index(drop=True) for i in range(3)]
    columns = {name: {"sdtype": "numerical" if pd.api.types.is_integer_dtype(data[name]) else "categorical"} for name in data.columns}
    return {"training": parts[0], "holdout": parts[1], "fresh": parts[2], "columns": columns}


@pytest.fixture(scope="module")
def results(adult) -> dict:
    def run(synthetic: pd.DataFrame) -> AttackResult:
        return evaluate_attacks(synthetic, adult["training"], adult["holdout"], adult["columns"], seed=0, max_rows=ROWS)

    return {"copy": run(adult["training"].copy()), "fresh": run(adult["fresh"])}


# Measured over seeds 0-4 (1,000 rows each): a copy's lower bounds 0.99 (singling out, inference)
# and 0.35-0.37 (linkability: ties among coarse columns pick another nearest row); the fresh rows'
# lower bounds 0, upper bounds at most 0.055 (singling out), 0.020 (linkability) and 0.24
# (inference, whose interval widens as the control guesses 50-70% of education or relationship).
@pytest.mark.parametrize(
    ("name", "copy_low", "fresh_high"),
    [("singling_out", 0.9, 0.15), ("linkability", 0.25, 0.1), ("inference", 0.9, 0.3)],
)
def test_a_copy_is_at_risk_and_fresh_rows_are_not(results, name, copy_low, fresh_high):
    # Run
    copy, fresh = results["copy"].risk(name), results["fresh"].risk(name)

    # Assert
    assert copy.ci[0] > copy_low and copy.attack_rate > copy.control_rate
    assert fresh.ci[0] == 0.0 and fresh.ci[1] < fresh_high
    assert results["copy"].rows == results["fresh"].rows == (ROWS, ROWS, ROWS)


def test_inference_reports_each_secret_and_the_riskiest(results):
    # Run
    result = results["fresh"]
    details = [risk.detail for risk in result.inference_by_secret]

    # Assert: the three highest-entropy categories of Adult, the headline risk the largest of them
    assert details == ["secret occupation", "secret education", "secret relationship"]
    assert result.risk("inference").risk == max(risk.risk for risk in result.inference_by_secret)
    assert [risk.name for risk in result.risks] == ["singling_out", "linkability", "inference"]


def _repeatable(result: AttackResult) -> AttackResult:
    risks = [dataclasses.replace(risk, baseline_rate=0.0) if risk.name == "singling_out" else risk for risk in result.risks]
    return dataclasses.replace(result, risks=risks, seconds=0.0)


def test_results_repeat_for_a_seed_and_leave_the_global_rng_alone(adult, results):
    # Setup
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)

    # Run
    again = evaluate_attacks(adult["fresh"], adult["training"], adult["holdout"], adult["columns"], seed=0, max_rows=ROWS)

    # Assert: all but the singling-out baseline, whose random queries Anonymeter draws from an
    # unordered polars `unique()` (it never enters the risk)
    assert _repeatable(again) == _repeatable(results["fresh"])
    assert np.random.random() == expected_next


def test_samples_and_attacks_are_bounded_by_max_rows(adult):
    # Run
    result = evaluate_attacks(adult["training"], adult["training"], adult["holdout"], adult["columns"], seed=1, max_rows=150, n_attacks=500)

    # Assert: training and control rows at most max_rows (distinct), synthetic at most twice that
    assert result.rows[0] == result.rows[2] <= 150 and result.rows[1] == 300
    assert all(risk.n_attacks == result.rows[0] for risk in [*result.risks, *result.inference_by_secret])


def test_missing_anonymeter_names_the_install_line(adult, monkeypatch):
    # Setup: `import anonymeter` fails as if it were not installed
    monkeypatch.setitem(sys.modules, "anonymeter", None)
    monkeypatch.setitem(sys.modules, "anonymeter.evaluators", None)

    # Run / Assert
    with pytest.raises(AttackDependencyError, match=re.escape(ANONYMETER_INSTALL)):
        evaluate_attacks(adult["fresh"], adult["training"], adult["holdout"], adult["columns"])


def _mixed(n: int, offset: int = 0) -> pd.DataFrame:
    index = np.arange(n) + offset
    frame = pd.DataFrame({
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(index, unit="h"),
        "flag": index % 3 == 0,
        "count": pd.array(index % 40, dtype="Int64"),
        "colour": pd.Series(np.where(index % 5 == 0, None, np.where(index % 2, "red", "blue")), dtype=object),
        "code": index % 4,
    })
    frame.loc[::7, "count"] = pd.NA
    frame.loc[::11, "when"] = pd.NaT
    return frame


MIXED_COLUMNS = {
    "key": {"sdtype": "id"},
    "when": {"sdtype": "datetime"},
    "flag": {"sdtype": "boolean"},
    "count": {"sdtype": "numerical"},
    "colour": {"sdtype": "categorical"},
    "code": {"sdtype": "categorical"},
}


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda f: f.assign(flag=f["flag"].astype(float)), "flag"),  # booleans as 1.0/0.0
        (lambda f: f.assign(flag=f["flag"].astype("boolean")), "flag"),  # pandas' nullable boolean
        (lambda f: f.assign(count=f["count"].astype(float)), "count"),  # Int64 with NA as float64
        (lambda f: f.assign(when=f["when"].dt.tz_localize("UTC")), "when"),  # time zone aware
        (lambda f: f.assign(when=f["when"].astype("datetime64[s]")), "when"),  # another resolution
        (lambda f: f.assign(code=f["code"].astype(float)), "code"),  # category codes as floats
        (lambda f: f.assign(colour=f["colour"].astype("category")), "colour"),
    ],
    ids=["bool-as-float", "nullable-bool", "int64-as-float", "tz-aware", "seconds", "float-codes", "pandas-category"],
)
def test_frames_have_one_dtype_and_spelling_whatever_the_input_dtype(change, column):
    # Setup: the synthetic rows are the training rows with one column's dtype changed
    training = _mixed(200)

    # Run
    ori, syn, control = attack_frames(change(training), training, _mixed(200, 1_000), MIXED_COLUMNS, max_rows=200)

    # Assert: same dtypes everywhere, and the same values as the training rows' own
    assert list(ori.columns) == ["when", "flag", "count", "colour", "code"]
    assert (ori.dtypes == syn.dtypes).all() and (ori.dtypes == control.dtypes).all()
    assert sorted(syn[column].astype(str)) == sorted(ori[column].astype(str))


def test_secrets_skip_constant_columns_and_dates():
    # Setup
    frame = pd.DataFrame(
        {"when": [1.0, 2.0, 3.0], "same": ["a", "a", "a"], "low": ["x", "x", "y"], "high": ["x", "y", "z"], "n": [1.0, 2.0, 2.0]}
    )
    measured = {"when": "datetime", "same": "categorical", "low": "categorical", "high": "boolean", "n": "numerical"}

    # Run / Assert: highest entropy first, numbers after categories, never a date or a constant
    assert choose_secrets(frame, measured, max_secrets=5) == ["high", "low", "n"]


@pytest.mark.parametrize(
    ("columns", "secrets", "message"),
    [
        ({"age": {"sdtype": "numerical"}}, None, "need at least 2 measured columns"),
        ({"age": {"sdtype": "numerical"}, "income": {"sdtype": "categorical"}}, ["fnlwgt"], "`secrets` ['fnlwgt']"),
    ],
    ids=["one-column", "unknown-secret"],
)
def test_unusable_inputs_are_refused(adult, columns, secrets, message):
    # Run / Assert
    with pytest.raises(AttackInputError, match=re.escape(message)):
        evaluate_attacks(adult["fresh"], adult["training"], adult["holdout"], columns, secrets=secrets, max_rows=50)


@pytest.mark.parametrize("n_neighbors", [1, 5])
def test_the_nearest_row_search_finds_anonymeters_neighbours_with_ties_in_row_order(adult, n_neighbors):
    # Setup: real Adult rows, scaled as Anonymeter scales them; their categories make many ties
    pytest.importorskip("anonymeter")
    from anonymeter.neighbors import mixed_types_kneighbors as knn
    from anonymeter.preprocessing.transformations import mixed_types_transform

    from synthpipe.assets.evaluation import neighbours
    from synthpipe.assets.evaluation.attacks import _anonymeter

    numbers = [name for name, meta in adult["columns"].items() if meta["sdtype"] == "numerical"]
    categories = [name for name in adult["columns"] if name not in numbers]
    candidates, queries = mixed_types_transform(adult["training"].head(300), adult["fresh"].head(20), numbers, categories)
    candidates, queries = (frame[numbers + categories].to_numpy() for frame in (candidates, queries))

    # Run
    _anonymeter()
    found, distances = neighbours.nearest_rows(queries, candidates, len(numbers), n_neighbors)

    # Assert: Anonymeter's search calls it; each query's neighbours are the first rows of a stable
    # sort of its distances to every candidate, by Anonymeter's own (uncompiled) distance
    assert knn._nearest_neighbors is neighbours.nearest_rows
    for row, query in enumerate(queries):
        every = np.array([knn.gower_distance.py_func(query, candidate, len(numbers)) for candidate in candidates])
        order = np.argsort(every, kind="stable")[:n_neighbors]
        np.testing.assert_array_equal(found[row], order)
        np.testing.assert_allclose(distances[row], every[order])
    assert (np.diff(distances, axis=1) >= 0).all()
