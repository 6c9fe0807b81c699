"""Goodness of fit of a generated set to its declaration: does each column follow the
distribution or category weights it declares, does each child table have the declared number of
children per parent, and do correlated columns reach the declared rank correlation?

Which test measures what:

- a continuous `distribution` column: Kolmogorov-Smirnov against the declared cdf; fit is
  1 - the KS statistic;
- a continuous `distribution` column with `round` set: rounding makes it discrete (KS would
  refuse any large sample), so it is tested as what it is, the rounded distribution: a
  chi-squared test over bins of the rounding grid (bin edges halfway between grid values, so each
  bin's probability is exact); fit is 1 - the KS distance to the rounded distribution;
- a discrete `distribution` column, and a child table's children per parent
  (`max(0, floor(draw))` of its `count`): chi-squared over the integers, tail bins pooled so that
  every expected count is at least 5; fit is 1 - the total variation distance;
- a `categories` column: chi-squared against the normalised weights (rare categories pooled);
  fit is 1 - the total variation distance. Rows where a `conditional` rule of the column applies
  are left out, and each conditional rule gets its own test on its rows (column
  `"<column> when <col>=<value>"`). A value that is not a declared category fails the test.

Missing values are dropped; a column with no values left is not tested. More than
`MAX_TEST_ROWS` values are tested on a seeded sample of that many. Rules that redraw rows (an
inequality, a range) cut into the columns they name: the more rows they redraw, the further those
columns drift from their declared marginals, and their tests see it.

Correlations: the expected Spearman correlation of a Gaussian copula with correlation `rho` is
6/pi * asin(rho/2); the observed one is compared on Fisher's z scale with the standard error
1.06 / sqrt(n - 3) (Fieller, Hartley and Pearson). The expectation holds for continuous
marginals: ties (discrete or heavily rounded columns) pull the observed correlation towards 0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from synthpipe.config import GeneratedConfig
from synthpipe.contracts import plain
from synthpipe.generated_config import ColumnSpec, GeneratedTableConfig
from synthpipe.resources.declarations import describe_categories, describe_distribution, distribution, is_discrete, matches

__all__ = ["MAX_TEST_ROWS", "MIN_EXPECTED", "CorrelationTest", "FitTest", "correlation_tests", "fit_tests"]

# Values tested at most; more are sampled (seeded) down to this many.
MAX_TEST_ROWS = 100_000
# Least expected count of a chi-squared bin; smaller bins are pooled with their neighbours.
MIN_EXPECTED = 5.0
# Chi-squared bins of a discrete or rounded column: at most this many, about 50 rows each.
MAX_BINS = 50
_SAMPLE_SEED = 0


@dataclass(frozen=True)
class FitTest:
    """One column's (or one child table's counts') goodness of fit to its declaration."""

    table: str
    column: str
    test: str  # "ks" | "chi2"
    statistic: float
    p_value: float
    fit: float  # 1 - KS statistic (continuous), 1 - total variation distance (discrete, categories)
    rows: int
    passed: bool  # p_value >= significance
    declared: str  # "lognorm(s=0.8, scale=250)", "categories(retail=0.7, business=0.3)"


@dataclass(frozen=True)
class CorrelationTest:
    """One declared correlation: expected and observed Spearman rank correlation."""

    table: str
    columns: tuple[str, str]
    expected: float
    observed: float
    passed: bool
    rows: int


def _sample(values: np.ndarray) -> np.ndarray:
    if len(values) <= MAX_TEST_ROWS:
        return values
    rng = np.random.default_rng(_SAMPLE_SEED)
    return values[np.sort(rng.choice(len(values), MAX_TEST_ROWS, replace=False))]


def _pool(observed: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjacent bins merged until every expected count is at least `MIN_EXPECTED`."""
    pooled_o: list[float] = []
    pooled_e: list[float] = []
    acc_o = acc_e = 0.0
    for o, e in zip(observed, expected):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= MIN_EXPECTED:
            pooled_o.append(acc_o)
            pooled_e.append(acc_e)
            acc_o = acc_e = 0.0
    if acc_o or acc_e:
        if pooled_o:
            pooled_o[-1] += acc_o
            pooled_e[-1] += acc_e
        else:
            pooled_o.append(acc_o)
            pooled_e.append(acc_e)
    return np.array(pooled_o), np.array(pooled_e)


def _chi2(observed: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    observed, expected = _pool(observed, expected)
    if len(observed) < 2:
        return 0.0, 1.0  # one bin: nothing to compare
    result = stats.chisquare(observed, expected * observed.sum() / expected.sum())
    return float(result.statistic), float(result.pvalue)


def _grid_chi2(grid: np.ndarray, grid_cdf: Callable[[np.ndarray], np.ndarray], grid_quantile: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
    """Chi-squared of integer grid values against a distribution on the grid (`grid_cdf(k)` =
    P(value <= k)), over bins cut at its quantiles; each bin's probability is exact."""
    bins = int(np.clip(len(grid) // 50, 2, MAX_BINS))
    uppers = grid_quantile(np.linspace(0, 1, bins + 1)[1:-1])
    uppers = np.unique(uppers[np.isfinite(uppers)])
    probabilities = np.diff(np.concatenate([[0.0], grid_cdf(uppers), [1.0]]))
    observed = np.bincount(np.searchsorted(uppers, grid, side="left"), minlength=len(uppers) + 1)
    return _chi2(observed.astype(float), np.clip(probabilities, 0.0, None) * len(grid))


def _tvd(grid: np.ndarray, grid_cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """Total variation distance between the grid values' shares and the declared ones."""
    values, counts = np.unique(grid, return_counts=True)
    declared = np.clip(grid_cdf(values) - grid_cdf(values - 1), 0.0, 1.0)
    return float(min(1.0, 0.5 * (np.abs(counts / len(grid) - declared).sum() + max(0.0, 1.0 - declared.sum()))))


def _grid_ks(grid: np.ndarray, grid_cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """KS distance between the grid values and the declared distribution on the grid."""
    values, counts = np.unique(grid, return_counts=True)
    empirical = np.cumsum(counts) / len(grid)
    before = empirical - counts / len(grid)
    return float(max(np.abs(empirical - grid_cdf(values)).max(), np.abs(before - grid_cdf(values - 1)).max()))


def _quiet(function: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def call(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(function(np.asarray(values, dtype=float)), dtype=float)

    return call


def _numbers(series: pd.Series) -> np.ndarray:
    return _sample(pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float))


def _distribution_test(table: str, column: str, spec: ColumnSpec, series: pd.Series, significance: float) -> FitTest | None:
    values = _numbers(series)
    if not len(values):
        return None
    frozen = distribution(spec.distribution or "", spec.params)
    declared = describe_distribution(spec.distribution or "", spec.params)
    if is_discrete(frozen):
        grid = np.rint(values)
        cdf, quantile = _quiet(frozen.cdf), _quiet(frozen.ppf)
        statistic, p_value = _grid_chi2(grid, cdf, quantile)
        fit = 1.0 - _tvd(grid, cdf)
        test = "chi2"
    elif spec.round is not None:
        step = 10.0 ** -spec.round
        grid = np.rint(values / step)
        cdf = _quiet(lambda k: frozen.cdf((k + 0.5) * step))
        quantile = _quiet(lambda q: np.rint(frozen.ppf(q) / step))
        statistic, p_value = _grid_chi2(grid, cdf, quantile)
        fit = 1.0 - _grid_ks(grid, cdf)
        test, declared = "chi2", f"{declared} rounded to {spec.round} decimals"
    else:
        result = stats.kstest(values, frozen.cdf)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        fit, test = 1.0 - statistic, "ks"
    return FitTest(table, column, test, statistic, p_value, fit, len(values), p_value >= significance, declared)


def _label(value: Any) -> str:
    value = plain(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _categories_test(
    table: str, column: str, categories: Mapping[Any, float], series: pd.Series, significance: float, declared: str
) -> FitTest | None:
    values = series.dropna()
    if len(values) > MAX_TEST_ROWS:
        values = values.iloc[_sample(np.arange(len(values)))]
    if not len(values):
        return None
    counts = Counter(_label(v) for v in values)
    labels = [_label(k) for k in categories]
    weights = np.array([float(w) for w in categories.values()])
    shares = weights / weights.sum()
    observed = np.array([counts.get(label, 0) for label in labels], dtype=float)
    rows = len(values)
    unexpected = rows - observed.sum()
    tvd = 0.5 * (np.abs(observed / rows - shares).sum() + unexpected / rows)
    if unexpected:
        statistic, p_value = math.inf, 0.0  # a value the declaration never draws
    else:
        order = np.argsort(-shares, kind="stable")
        statistic, p_value = _chi2(observed[order], shares[order] * rows)
    return FitTest(table, column, "chi2", statistic, p_value, 1.0 - float(tvd), rows, p_value >= significance, declared)


def _when_text(when: Mapping[str, Any]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in when.items())


def _column_tests(table: GeneratedTableConfig, frame: pd.DataFrame, significance: float) -> list[FitTest]:
    tests: list[FitTest | None] = []
    for name, spec in table.columns.items():
        if name not in frame:
            continue
        if spec.distribution is not None:
            tests.append(_distribution_test(table.name, name, spec, frame[name], significance))
        elif spec.categories is not None:
            conditionals = [r.conditional for r in table.rules if r.conditional is not None and r.conditional.get("column") == name]
            applied = [matches(frame, c["when"]) for c in conditionals]
            base = ~np.logical_or.reduce(applied) if applied else np.ones(len(frame), dtype=bool)
            tests.append(_categories_test(table.name, name, spec.categories, frame[name][base], significance, describe_categories(spec.categories)))
            for i, conditional in enumerate(conditionals):
                later = np.logical_or.reduce(applied[i + 1 :]) if applied[i + 1 :] else np.zeros(len(frame), dtype=bool)
                rows = applied[i] & ~later  # a later conditional on the same column overrides this one
                when = _when_text(conditional["when"])
                declared = f"when {when}: {describe_categories(conditional['categories'])}"
                tests.append(_categories_test(table.name, f"{name} when {when}", conditional["categories"], frame[name][rows], significance, declared))
    return [t for t in tests if t is not None]


def _count_test(table: GeneratedTableConfig, frame: pd.DataFrame, parent: pd.DataFrame, significance: float) -> FitTest | None:
    link = table.parent
    assert link is not None
    if link.key not in parent or link.child_column not in frame:
        return None
    per_parent = frame[link.child_column].dropna().value_counts()
    counts = _sample(parent[link.key].dropna().map(per_parent).fillna(0).to_numpy(dtype=float))
    if not len(counts):
        return None
    frozen = distribution(link.count.distribution, link.count.params)
    shift = 0.0 if is_discrete(frozen) else 1.0  # count = max(0, floor(x)): P(count <= k) = P(x < k + 1)

    def cdf(k: np.ndarray) -> np.ndarray:
        return np.where(k < 0, 0.0, frozen.cdf(k + shift))

    def quantile(q: np.ndarray) -> np.ndarray:
        return np.maximum(0.0, np.floor(frozen.ppf(q)))

    statistic, p_value = _grid_chi2(counts, _quiet(cdf), _quiet(quantile))
    fit = 1.0 - _tvd(counts, _quiet(cdf))
    column = f"{link.child_column} per {link.table}"
    declared = describe_distribution(link.count.distribution, link.count.params)
    return FitTest(table.name, column, "chi2", statistic, p_value, fit, len(counts), p_value >= significance, declared)


def fit_tests(config: GeneratedConfig, tables: Mapping[str, pd.DataFrame], significance: float | None = None) -> list[FitTest]:
    """Every goodness-of-fit test of a generated set (module docstring says which).

    Args:
        config: The set's declaration.
        tables: The generated tables by name; a table not given is not tested.
        significance: A test passes when its p-value is at least this; default the set's
            `significance`.
    """
    level = config.significance if significance is None else significance
    tests: list[FitTest] = []
    for table in config.tables:
        frame = tables.get(table.name)
        if frame is None:
            continue
        tests += _column_tests(table, frame, level)
        if table.parent is not None and table.parent.table in tables:
            count = _count_test(table, frame, tables[table.parent.table], level)
            tests += [count] if count is not None else []
    return tests


def correlation_tests(config: GeneratedConfig, tables: Mapping[str, pd.DataFrame], significance: float | None = None) -> list[CorrelationTest]:
    """Each declared correlation's observed Spearman correlation against 6/pi * asin(rho/2).

    A test passes when |atanh(observed) - atanh(expected)| * sqrt(n - 3) / 1.06 is below
    `norm.ppf(1 - significance / 2)`; pairs with fewer than 4 complete rows are not tested.
    """
    level = config.significance if significance is None else significance
    critical = float(stats.norm.ppf(1 - level / 2))
    tests = []
    for table in config.tables:
        frame = tables.get(table.name)
        if frame is None:
            continue
        for correlation in table.correlations:
            a, b = correlation.columns
            if a not in frame or b not in frame:
                continue
            pair = frame[[a, b]].apply(pd.to_numeric, errors="coerce").dropna().to_numpy(dtype=float)
            if len(pair) > MAX_TEST_ROWS:
                pair = pair[np.sort(np.random.default_rng(_SAMPLE_SEED).choice(len(pair), MAX_TEST_ROWS, replace=False))]
            rows = len(pair)
            if rows < 4:
                continue
            expected = 6 / math.pi * math.asin(correlation.rho / 2)
            observed = float(stats.spearmanr(pair[:, 0], pair[:, 1]).statistic)
            if math.isnan(observed) or abs(observed) >= 1:
                passed = False
            else:
                distance = abs(math.atanh(observed) - math.atanh(expected)) * math.sqrt(rows - 3) / 1.06
                passed = distance < critical
            tests.append(CorrelationTest(table.name, (a, b), expected, observed, passed, rows))
    return tests
