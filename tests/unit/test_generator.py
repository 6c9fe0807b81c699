"""The engine of generated sets: drawing tables from declarations, the goodness-of-fit tests,
and the load-time validation of declarations."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from synthpipe.assets.evaluation.distributions import correlation_tests, fit_tests
from synthpipe.errors import SynthesizerError
from synthpipe.generated_config import GeneratedConfig
from synthpipe.generated_validation import generated_problems
from synthpipe.resources.declarations import distribution
from synthpipe.resources.generator import Generator, trial_tables

pytestmark = pytest.mark.unit


def declare(*tables: dict[str, Any], **settings: Any) -> GeneratedConfig:
    return GeneratedConfig.model_validate({"name": "bank", "tables": list(tables), **settings})


def one_table(columns: dict[str, Any], rows: int = 2000, settings: dict[str, Any] | None = None, **table: Any) -> GeneratedConfig:
    return declare({"name": "t", "num_rows": rows, "columns": columns, **table}, **(settings or {}))


def draw(config: GeneratedConfig, seed: int = 0, twins: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    return Generator(config.model_dump(mode="json")).generate(seed, twins)


BANK = declare(
    {
        "name": "customers",
        "num_rows": 3000,
        "columns": {
            "customer_id": {"sequence": {"start": 1, "format": "C{:06d}"}},
            "name": {"faker": "name"},
            "age": {"distribution": "norm", "params": {"loc": 40, "scale": 12}, "round": 0},
            "income": {"distribution": "lognorm", "params": {"s": 0.8, "scale": 3000}, "null_share": 0.1},
            "segment": {"categories": {"retail": 0.7, "business": 0.3}},
            "product": {"categories": {"checking": 0.8, "savings": 0.2}},
            "kids": {"distribution": "poisson", "params": {"mu": 1.5}},
            "fee": {"formula": "income * 0.01", "round": 2},
        },
        "correlations": [{"columns": ["age", "income"], "rho": 0.5}],
        "rules": [
            {"inequality": {"low": "kids", "high": "age"}},
            {"conditional": {"when": {"segment": "business"}, "column": "product", "categories": {"loan": 0.6, "checking": 0.4}}},
        ],
    },
    {
        "name": "accounts",
        "parent": {"table": "customers", "key": "customer_id", "count": {"distribution": "poisson", "params": {"mu": 2}}},
        "columns": {
            "account_id": {"sequence": {}},
            "opened": {"distribution": "uniform", "params": {"loc": 0, "scale": 10}},
            "closed": {"distribution": "uniform", "params": {"loc": 2, "scale": 10}},
        },
        "rules": [{"inequality": {"low": "opened", "high": "closed"}}],
    },
)


# --- Drawing -------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_another_seed_differs() -> None:
    # Run
    first, again, other = draw(BANK, 7), draw(BANK, 7), draw(BANK, 8)

    # Assert
    assert list(first) == ["customers", "accounts"]
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["customers"]["income"].equals(other["customers"]["income"])
    assert not first["customers"]["name"].equals(other["customers"]["name"])


def test_saved_generator_loads_and_draws_the_same(tmp_path: Path) -> None:
    # Setup
    generator = Generator(BANK.model_dump(mode="json"))
    path = tmp_path / "generator.pkl"

    # Run
    generator.save(str(path))
    loaded = Generator.load(str(path))

    # Assert
    assert loaded.get_parameters() == generator.get_parameters()
    assert loaded.get_metadata() is None
    pd.testing.assert_frame_equal(loaded.generate(3)["accounts"], generator.generate(3)["accounts"])


def _check_sequence(frame: pd.DataFrame) -> None:
    assert frame["x"].tolist()[:3] == [10, 15, 20] and frame["x"].dtype == np.int64


def _check_formatted(frame: pd.DataFrame) -> None:
    assert frame["x"].tolist()[:2] == ["C000001", "C000002"] and frame["x"].is_unique


def _check_norm(frame: pd.DataFrame) -> None:
    assert frame["x"].dtype == np.float64 and abs(frame["x"].mean() - 5) < 0.2 and abs(frame["x"].std() - 2) < 0.2


def _check_discrete(frame: pd.DataFrame) -> None:
    assert frame["x"].dtype == np.int64 and abs(frame["x"].mean() - 4) < 0.2


def _check_round_0(frame: pd.DataFrame) -> None:
    assert frame["x"].dtype == np.int64


def _check_round_2(frame: pd.DataFrame) -> None:
    assert np.allclose(frame["x"], frame["x"].round(2)) and not np.allclose(frame["x"], frame["x"].round(1))


def _check_categories(frame: pd.DataFrame) -> None:
    assert set(frame["x"]) == {"a", "b"} and abs((frame["x"] == "a").mean() - 0.75) < 0.04


def _check_int_categories(frame: pd.DataFrame) -> None:
    assert frame["x"].dtype == np.int64 and set(frame["x"]) == {1, 2}


def _check_faker(frame: pd.DataFrame) -> None:
    assert frame["x"].map(lambda v: isinstance(v, str) and "@" in v).all()


def _check_formula(frame: pd.DataFrame) -> None:
    assert np.allclose(frame["x"], (frame["y"] * 2 + 1).round(1))


def _check_null_share(frame: pd.DataFrame) -> None:
    assert frame["x"].dtype == "Int64" and abs(frame["x"].isna().mean() - 0.2) < 0.03


def _check_string_nulls(frame: pd.DataFrame) -> None:
    assert abs(frame["x"].isna().mean() - 0.5) < 0.04 and set(frame["x"].dropna()) == {"a"}


SOURCES = [
    pytest.param({"x": {"sequence": {"start": 10, "step": 5}}}, _check_sequence, id="sequence"),
    pytest.param({"x": {"sequence": {"format": "C{:06d}"}}}, _check_formatted, id="sequence-format"),
    pytest.param({"x": {"distribution": "norm", "params": {"loc": 5, "scale": 2}}}, _check_norm, id="distribution"),
    pytest.param({"x": {"distribution": "poisson", "params": {"mu": 4}}}, _check_discrete, id="discrete"),
    pytest.param({"x": {"distribution": "norm", "params": {"scale": 9}, "round": 0}}, _check_round_0, id="round-0"),
    pytest.param({"x": {"distribution": "expon", "params": {"scale": 9}, "round": 2}}, _check_round_2, id="round-2"),
    pytest.param({"x": {"categories": {"a": 3, "b": 1}}}, _check_categories, id="categories"),
    pytest.param({"x": {"categories": {1: 1, 2: 1}}}, _check_int_categories, id="int-categories"),
    pytest.param({"x": {"faker": "email"}}, _check_faker, id="faker"),
    pytest.param({"y": {"distribution": "norm"}, "x": {"formula": "y * 2 + 1", "round": 1}}, _check_formula, id="formula"),
    pytest.param({"x": {"distribution": "poisson", "params": {"mu": 3}, "null_share": 0.2}}, _check_null_share, id="null-share"),
    pytest.param({"x": {"categories": {"a": 1}, "null_share": 0.5}}, _check_string_nulls, id="null-share-text"),
]


@pytest.mark.parametrize(("columns", "check"), SOURCES)
def test_each_column_source_draws_what_it_declares(columns: dict[str, Any], check: Any) -> None:
    # Run
    frame = draw(one_table(columns))["t"]

    # Assert
    assert len(frame) == 2000 and list(frame) == list(columns)
    check(frame)


def test_twin_columns_keep_the_twin_rows_joint_values() -> None:
    # Setup
    twin = pd.DataFrame({"age": np.arange(500), "double": np.arange(500) * 2, "label": [f"r{i}" for i in range(500)]})
    config = one_table({"a": {"twin": {"table": "adult", "column": "age"}}, "b": {"twin": {"table": "adult", "column": "double"}},
                        "c": {"twin": {"table": "adult", "column": "label"}}})

    # Run
    frame = draw(config, twins={"adult": twin})["t"]

    # Assert
    assert (frame["b"] == frame["a"] * 2).all()
    assert (frame["c"] == "r" + frame["a"].astype(str)).all()
    assert frame["a"].nunique() > 400  # drawn with replacement over the whole twin


def test_a_missing_twin_is_refused_by_name() -> None:
    config = one_table({"a": {"twin": {"table": "adult", "column": "age"}}})
    with pytest.raises(SynthesizerError, match=re.escape("draws columns from the twin 'adult', which was not given")):
        draw(config, twins={})


@pytest.mark.parametrize("rho", [0.7, -0.4])
def test_copula_reaches_the_declared_rank_correlation(rho: float) -> None:
    # Setup
    columns = {"a": {"distribution": "norm"}, "b": {"distribution": "lognorm", "params": {"s": 1.0}}, "c": {"distribution": "expon"}}
    config = one_table(columns, rows=20_000, correlations=[{"columns": ["a", "b"], "rho": rho}])

    # Run
    frame = draw(config, 1)["t"]

    # Assert
    expected = 6 / math.pi * math.asin(rho / 2)
    assert abs(stats.spearmanr(frame["a"], frame["b"]).statistic - expected) < 0.02
    assert abs(stats.spearmanr(frame["a"], frame["c"]).statistic) < 0.03
    assert stats.kstest(frame["b"], stats.lognorm(s=1.0).cdf).pvalue > 0.001  # the marginal is kept


def test_correlations_without_a_valid_matrix_are_refused() -> None:
    pairs = [{"columns": ["a", "b"], "rho": 0.9}, {"columns": ["b", "c"], "rho": 0.9}, {"columns": ["a", "c"], "rho": -0.9}]
    config = one_table({n: {"distribution": "norm"} for n in "abc"}, correlations=pairs)
    with pytest.raises(SynthesizerError, match=re.escape("table 't': the correlations a~b (rho 0.9)")):
        draw(config)


def test_child_rows_follow_parent_counts_and_keys_resolve() -> None:
    # Run
    tables = draw(BANK, 2)
    customers, accounts = tables["customers"], tables["accounts"]

    # Assert
    assert list(accounts) == ["account_id", "customer_id", "opened", "closed"]
    assert set(accounts["customer_id"]) <= set(customers["customer_id"])
    per_customer = customers["customer_id"].map(accounts["customer_id"].value_counts()).fillna(0)
    assert len(accounts) == per_customer.sum()
    assert abs(per_customer.mean() - 2) < 0.1 and (per_customer == 0).any()
    assert accounts["account_id"].tolist() == list(range(1, len(accounts) + 1))


RULES = [
    pytest.param({"inequality": {"low": "a", "high": "b"}}, lambda f: (f["a"] <= f["b"]).all(), id="inequality"),
    pytest.param({"inequality": {"low": "a", "high": "b", "strict": True}}, lambda f: (f["a"] < f["b"]).all(), id="strict"),
    pytest.param({"range": {"low": "a", "middle": "s", "high": "b"}}, lambda f: ((f["a"] < f["s"]) & (f["s"] < f["b"])).all(), id="range"),
    pytest.param(
        {"fixed_combinations": {"columns": ["k", "m"], "combinations": [["x", 1], ["y", 2]]}},
        lambda f: set(zip(f["k"], f["m"])) == {("x", 1), ("y", 2)},
        id="fixed-combinations",
    ),
]


@pytest.mark.parametrize(("rule", "holds"), RULES)
def test_rows_breaking_a_rule_are_drawn_again_until_every_row_meets_it(rule: dict[str, Any], holds: Any) -> None:
    # Setup
    columns = {
        "a": {"distribution": "norm"},
        "b": {"distribution": "norm", "params": {"loc": 1.5}},
        "s": {"distribution": "uniform", "params": {"loc": -0.5, "scale": 2.5}},
        "k": {"categories": {"x": 1, "y": 1}},
        "m": {"categories": {1: 3, 2: 3, 3: 1}},
        "total": {"formula": "a + b"},
    }
    generator = Generator(one_table(columns, rules=[rule], settings={"max_rejected_share": 0.9}).model_dump(mode="json"))

    # Run
    frame = generator.generate(0)["t"]

    # Assert
    assert holds(frame)
    assert np.allclose(frame["total"], frame["a"] + frame["b"])  # formulas recomputed for redrawn rows
    assert generator.rejected["t"] > 0


def test_too_many_broken_rows_stop_the_draw_with_the_setting_to_change() -> None:
    config = one_table({"a": {"distribution": "norm"}, "b": {"distribution": "norm"}}, rules=[{"inequality": {"low": "a", "high": "b"}}], settings={"max_rejected_share": 0.2})
    with pytest.raises(SynthesizerError, match=r"generated set 'bank', table 't': \d+ of 2000 rows \(.*rule 'a <= b'.*raise `max_rejected_share`"):
        draw(config)


def test_a_rule_only_twin_columns_break_cannot_be_met_by_drawing_again() -> None:
    twin = pd.DataFrame({"low": [0, 0, 0, 0, 0, 0, 0, 0, 0, 5], "high": [1] * 10})
    config = one_table(
        {"l": {"twin": {"table": "adult", "column": "low"}}, "h": {"twin": {"table": "adult", "column": "high"}}, "x": {"distribution": "norm"}},
        rows=50,
        rules=[{"inequality": {"low": "l", "high": "h"}}],
        settings={"max_rejected_share": 0.9},
    )
    with pytest.raises(SynthesizerError, match=re.escape("still break a rule after 100 rounds")):
        draw(config, twins={"adult": twin})


def test_conditional_rule_draws_its_categories_where_it_applies() -> None:
    # Run
    customers = draw(BANK, 4)["customers"]
    business = customers["segment"] == "business"

    # Assert
    assert set(customers.loc[business, "product"]) == {"loan", "checking"}
    assert abs((customers.loc[business, "product"] == "loan").mean() - 0.6) < 0.05
    assert set(customers.loc[~business, "product"]) == {"checking", "savings"}


def test_trial_tables_leave_twins_missing_and_rules_unenforced() -> None:
    # Setup
    config = one_table(
        {"a": {"distribution": "norm"}, "b": {"distribution": "norm"}, "t": {"twin": {"table": "adult", "column": "age"}}},
        rows=10,
        rules=[{"inequality": {"low": "a", "high": "b"}}],
    )

    # Run
    frame = trial_tables(config, rows=500)["t"]

    # Assert
    assert len(frame) == 500 and frame["t"].isna().all()
    assert (frame["a"] > frame["b"]).any()


def test_distribution_helper_names_the_closest_distribution() -> None:
    assert distribution("gamma", {"a": 2}).mean() == pytest.approx(2)
    with pytest.raises(SynthesizerError, match=re.escape("Did you mean 'lognorm'")):
        distribution("lognormal", {})


# --- Goodness of fit -----------------------------------------------------------------------


def test_fit_tests_pass_on_a_correct_generator() -> None:
    # Setup: without the inequalities, which cut into the marginals of their columns
    customers, accounts = BANK.tables
    free = BANK.model_copy(update={"tables": [customers.model_copy(update={"rules": customers.rules[1:]}), accounts.model_copy(update={"rules": []})]})
    tables = draw(free, 11)

    # Run
    tests = fit_tests(BANK, tables)

    # Assert
    by_column = {(t.table, t.column): t for t in tests}
    assert set(by_column) == {
        ("customers", "age"), ("customers", "income"), ("customers", "segment"), ("customers", "product"),
        ("customers", "product when segment='business'"), ("customers", "kids"),
        ("accounts", "opened"), ("accounts", "closed"), ("accounts", "customer_id per customers"),
    }  # fmt: skip
    assert all(t.passed for t in tests), [t for t in tests if not t.passed]
    assert all(t.fit > 0.95 for t in tests)
    assert by_column[("customers", "income")].test == "ks" and by_column[("customers", "age")].test == "chi2"
    assert by_column[("customers", "income")].rows == tables["customers"]["income"].notna().sum()
    assert by_column[("customers", "income")].declared == "lognorm(s=0.8, scale=3000)"


def _frame(column: str, values: Any) -> dict[str, pd.DataFrame]:
    return {"t": pd.DataFrame({column: values})}


RNG = np.random.default_rng(5)
WRONG = [
    pytest.param({"distribution": "norm"}, RNG.normal(0.3, 1, 5000), "ks", id="norm-shifted"),
    pytest.param({"distribution": "norm", "round": 1}, np.round(RNG.normal(0.3, 1, 5000), 1), "chi2", id="rounded-shifted"),
    pytest.param({"distribution": "poisson", "params": {"mu": 2}}, RNG.poisson(2.4, 5000), "chi2", id="poisson-mu"),
    pytest.param({"categories": {"a": 0.7, "b": 0.3}}, RNG.choice(["a", "b"], 5000), "chi2", id="categories-weights"),
    pytest.param({"categories": {"a": 0.7, "b": 0.3}}, ["a"] * 4999 + ["c"], "chi2", id="undeclared-category"),
]
RIGHT = [
    pytest.param({"distribution": "norm"}, RNG.normal(0, 1, 5000), "ks", id="norm"),
    pytest.param({"distribution": "norm", "round": 1}, np.round(RNG.normal(0, 1, 5000), 1), "chi2", id="rounded"),
    pytest.param({"distribution": "poisson", "params": {"mu": 2}}, RNG.poisson(2, 5000), "chi2", id="poisson"),
    pytest.param({"categories": {"a": 0.7, "b": 0.3}}, RNG.choice(["a", "b"], 5000, p=[0.7, 0.3]), "chi2", id="categories"),
]


@pytest.mark.parametrize(("spec", "values", "test"), WRONG)
def test_fit_tests_fail_on_data_from_another_distribution(spec: dict[str, Any], values: Any, test: str) -> None:
    # Run
    [result] = fit_tests(one_table({"x": spec}), _frame("x", values))

    # Assert
    assert result.test == test and not result.passed and result.p_value < 0.001


@pytest.mark.parametrize(("spec", "values", "test"), RIGHT)
def test_fit_tests_pass_on_data_from_the_declared_distribution(spec: dict[str, Any], values: Any, test: str) -> None:
    [result] = fit_tests(one_table({"x": spec}), _frame("x", values))
    assert result.test == test and result.passed and result.fit > 0.97


@pytest.mark.parametrize(("mu", "passed"), [(2.0, True), (2.4, False)])
def test_children_per_parent_are_tested_against_count(mu: float, passed: bool) -> None:
    # Setup
    config = declare(
        {"name": "p", "num_rows": 3000, "columns": {"id": {"sequence": {}}}},
        {"name": "c", "parent": {"table": "p", "key": "id", "count": {"distribution": "poisson", "params": {"mu": 2}}}, "columns": {"n": {"sequence": {}}}},
    )
    counts = np.random.default_rng(3).poisson(mu, 3000)
    tables = {"p": pd.DataFrame({"id": np.arange(1, 3001)}), "c": pd.DataFrame({"id": np.repeat(np.arange(1, 3001), counts)})}

    # Run
    [result] = fit_tests(config, tables)

    # Assert
    assert (result.table, result.column, result.rows) == ("c", "id per p", 3000)
    assert result.passed is passed


@pytest.mark.parametrize(("rho_of_data", "passed"), [(0.6, True), (0.3, False)])
def test_correlation_tests_compare_the_spearman_correlation(rho_of_data: float, passed: bool) -> None:
    # Setup
    config = one_table({"a": {"distribution": "norm"}, "b": {"distribution": "norm"}}, correlations=[{"columns": ["a", "b"], "rho": 0.6}])
    scores = np.random.default_rng(9).multivariate_normal([0, 0], [[1, rho_of_data], [rho_of_data, 1]], 5000)

    # Run
    [result] = correlation_tests(config, {"t": pd.DataFrame(scores, columns=["a", "b"])})

    # Assert
    assert result.expected == pytest.approx(6 / math.pi * math.asin(0.3))
    assert result.passed is passed and result.rows == 5000


def test_correlation_tests_pass_on_a_correct_generator() -> None:
    [result] = correlation_tests(BANK, draw(BANK, 12))
    assert result.passed and result.columns == ("age", "income")


# --- Validation ----------------------------------------------------------------------------


def _norm(**params: Any) -> dict[str, Any]:
    return {"distribution": "norm", "params": params}


def _table(columns: dict[str, Any], **table: Any) -> dict[str, Any]:
    return {"name": "t", "num_rows": 100, "columns": columns, **table}


PARENT = {"name": "p", "num_rows": 10, "columns": {"id": {"sequence": {}}, "v": _norm()}}
COUNT = {"distribution": "poisson", "params": {"mu": 2}}
BROKEN = [
    pytest.param({"name": "bad-name", "tables": [_table({"a": _norm()})]}, "name 'bad-name' must be letters", id="set-name"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, name="9t")]}, "name '9t' must be letters", id="table-name"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}), _table({"a": _norm()})]}, "table 't' is declared 2 times", id="duplicate"),
    pytest.param({"name": "s", "tables": [_table({"a": {}})]}, "column 'a': sets no source", id="no-source"),
    pytest.param({"name": "s", "tables": [_table({"a": {"distribution": "norm", "faker": "name"}})]}, "sets distribution and faker", id="two-sources"),
    pytest.param({"name": "s", "tables": [_table({"a": {"distribution": "lognormal"}})]}, "'lognormal' is not a scipy.stats distribution. Did you mean 'lognorm'", id="unknown-distribution"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(mean=1)})]}, "'norm' takes no parameter(s) 'mean'; it takes loc, scale", id="unknown-parameter"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(scale=-1)})]}, "parameters {'scale': -1.0} are invalid for 'norm'", id="bad-parameter"),
    pytest.param({"name": "s", "tables": [_table({"a": {"distribution": "gamma"}})]}, "missing 1 required positional argument: 'a'. It takes a, loc, scale", id="missing-shape"),
    pytest.param({"name": "s", "tables": [_table({"a": {"categories": {}}})]}, "column 'a': `categories` is {}", id="empty-categories"),
    pytest.param({"name": "s", "tables": [_table({"a": {"categories": {"x": 1, "y": 0}}})]}, "weights must be positive numbers; got {'y': 0.0}", id="zero-weight"),
    pytest.param({"name": "s", "tables": [_table({"a": {"faker": "nme"}})]}, "'nme' is not a Faker provider. Did you mean 'name'", id="unknown-faker"),
    pytest.param({"name": "s", "tables": [_table({"a": {"sequence": {"step": 0}}})]}, "`sequence.step` is 0", id="step-0"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(), "f": {"formula": "a + zz"}})]}, "formula 'a + zz' names unknown column(s) 'zz'", id="formula-unknown"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(), "f": {"formula": "a +"}})]}, "formula 'a +' is not a pandas expression", id="formula-syntax"),
    pytest.param({"name": "s", "tables": [_table({"a": {"categories": {"x": 1}}, "f": {"formula": "a * 2", "round": 1}})]}, "column 'f': formula 'a * 2'", id="formula-fails-on-trial"),
    pytest.param({"name": "s", "tables": [_table({"a": {"twin": {"table": "adlt", "column": "age"}}})]}, "`twin.table` 'adlt' is not a table learned by this configuration (learned tables: 'adult'). Did you mean 'adult'", id="unknown-twin"),
    pytest.param({"name": "s", "tables": [_table({"a": {**_norm(), "null_share": 1.0}})]}, "`null_share` must be at least 0 and below 1; got 1.0", id="null-share"),
    pytest.param({"name": "s", "tables": [_table({"a": {**_norm(), "round": -1}})]}, "`round` must be 0 (integers) or more decimals; got -1", id="round"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, num_rows=None)]}, "table 't': `num_rows` is missing", id="num-rows-missing"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, num_rows=0)]}, "`num_rows` must be at least 1; got 0", id="num-rows-0"),
    pytest.param({"name": "s", "tables": [PARENT, _table({"a": _norm()}, parent={"table": "p", "key": "id", "count": COUNT})]}, "`num_rows` (100) is set on a child table", id="child-num-rows"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, num_rows=None, parent={"table": "q", "key": "id", "count": COUNT})]}, "`parent.table` 'q' is not a table of the set", id="unknown-parent"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, num_rows=None, parent={"table": "p", "key": "id", "count": COUNT}), PARENT]}, "its parent 'p' is declared after it", id="parent-after"),
    pytest.param({"name": "s", "tables": [PARENT, _table({"a": _norm()}, num_rows=None, parent={"table": "p", "key": "key", "count": COUNT})]}, "`parent.key` 'key' is not a column of table 'p'", id="parent-key"),
    pytest.param({"name": "s", "tables": [PARENT, _table({"a": _norm()}, num_rows=None, parent={"table": "p", "key": "id", "count": {"distribution": "poisson"}})]}, "`parent.count`: distribution 'poisson' does not take parameters {}", id="count"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(), "c": {"categories": {"x": 1}}}, correlations=[{"columns": ["a", "c"], "rho": 0.5}])]}, "correlations[0]: column 'c' is a categories column", id="correlation-column"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(), "b": _norm()}, correlations=[{"columns": ["a", "b"], "rho": 1.0}])]}, "`rho` must be between -1 and 1 (exclusive); got 1.0", id="rho"),
    pytest.param(
        {"name": "s", "tables": [_table({n: _norm() for n in "abc"}, correlations=[{"columns": ["a", "b"], "rho": 0.9}, {"columns": ["b", "c"], "rho": 0.9}, {"columns": ["a", "c"], "rho": -0.9}])]},
        "make no valid correlation matrix (it is not positive definite)",
        id="not-positive-definite",
    ),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, rules=[{"inequality": {"low": "a", "high": "q"}}])]}, "rules[0]: names column 'q', which is not a column", id="rule-column"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm()}, rules=[{}])]}, "rules[0]: sets no rule", id="rule-none"),
    pytest.param({"name": "s", "tables": [_table({"a": _norm(), "b": _norm()}, rules=[{"inequality": {"low": "a", "high": "b"}, "range": {"low": "a", "middle": "b", "high": "b"}}])]}, "sets inequality and range", id="rule-several"),
    pytest.param(
        {"name": "s", "tables": [_table({"c": {"categories": {"x": 1}}, "d": {"categories": {"y": 1}}}, rules=[{"fixed_combinations": {"columns": ["c", "d"], "combinations": [["x"]]}}])]},
        "combination 0 ['x'] has 1 values; it needs one per column of ['c', 'd'] (2)",
        id="combination-length",
    ),
    pytest.param(
        {"name": "s", "tables": [_table({"c": {"categories": {"x": 1}}}, rules=[{"conditional": {"when": {"z": 1}, "column": "c", "categories": {"y": 1}}}])]},
        "rules[0]: names column 'z'",
        id="conditional-when",
    ),
    pytest.param(
        {"name": "s", "tables": [_table({"c": {"categories": {"x": 1}}, "n": _norm()}, rules=[{"conditional": {"when": {"c": "x"}, "column": "n", "categories": {"y": 1}}}])]},
        "`conditional.column` 'n' is a distribution column",
        id="conditional-column",
    ),
    pytest.param(
        {"name": "s", "tables": [_table({"c": {"categories": {"x": 1}}, "d": {"categories": {"x": 1}}}, rules=[{"conditional": {"when": {"c": "x"}, "column": "d", "categories": {"y": -1}}}])]},
        "`conditional.categories`: weights must be positive numbers",
        id="conditional-categories",
    ),
    pytest.param({"name": "s", "significance": 0.5, "tables": [_table({"a": _norm()})]}, "`significance` must be between 0 and 0.5 (exclusive); got 0.5", id="significance"),
    pytest.param({"name": "s", "max_rejected_share": 1.0, "tables": [_table({"a": _norm()})]}, "`max_rejected_share` must be between 0 and 1 (exclusive); got 1.0", id="max-rejected-share"),
    pytest.param(
        {"name": "s", "tables": [_table({"a": _norm(loc=10), "b": _norm()}, rules=[{"inequality": {"low": "a", "high": "b"}}])]},
        "table 't', rules[0]: none of 2000 trial rows meets rule 'a <= b'; in the trial, 'a' (norm(loc=10)) ranges from",
        id="rule-no-row-meets",
    ),
    pytest.param(
        {"name": "s", "tables": [_table({"a": _norm(loc=0.5), "b": _norm()}, rules=[{"inequality": {"low": "a", "high": "b"}}])]},
        "trial rows meet every rule ('a <= b') together, so",
        id="rules-reject-too-many",
    ),
]


@pytest.mark.parametrize(("declaration", "fragment"), BROKEN)
def test_broken_declarations_are_refused_with_the_fix(declaration: dict[str, Any], fragment: str) -> None:
    # Run
    problems = generated_problems(GeneratedConfig.model_validate(declaration), ["adult"])

    # Assert
    assert any(fragment in p for p in problems), problems
    assert all(p.startswith(f"generated set {declaration['name']!r}") for p in problems)


def test_a_valid_declaration_has_no_problems() -> None:
    assert generated_problems(BANK, []) == []


def test_twin_columns_and_formulas_of_them_are_left_out_of_the_trial() -> None:
    # Setup: in a trial the twin is missing, so neither the rule nor the text formulas can be judged
    columns = {"a": {"twin": {"table": "adult", "column": "age"}}, "b": _norm(loc=-10), "w": {"twin": {"table": "adult", "column": "workclass"}},
               "upper": {"formula": "w.str.upper()"}, "size": {"formula": "upper.str.len()"}}  # fmt: skip
    config = one_table(columns, rules=[{"inequality": {"low": "a", "high": "b"}}])

    # Run
    problems = generated_problems(config, ["adult"])

    # Assert
    assert problems == []


def test_every_problem_of_a_declaration_is_listed_at_once() -> None:
    config = GeneratedConfig.model_validate(
        {"name": "s", "tables": [_table({"a": {"distribution": "lognormal"}, "b": {"faker": "nme"}, "c": {"twin": {"table": "x", "column": "y"}}})]}
    )
    assert len(generated_problems(config, [])) == 3
