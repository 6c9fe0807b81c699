"""What a generated set declares, read for drawing and for validation: `scipy.stats`
distributions by name and their descriptions, the names a formula reads, a table's column order
and correlation matrix, `when` matches, and its inequality, range and fixed-combination rules
(`TableRule`).

The drawing itself is `resources.generator`; the configuration's checks
(`pipelines.generated_validation`) use the same readings, so both agree on what a declaration
means.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from synthpipe.contracts import Rule, plain
from synthpipe.errors import SynthesizerError, closest
from synthpipe.generated_config import GeneratedConfig, GeneratedTableConfig

__all__ = [
    "DRAWN_SOURCES",
    "EVAL_FUNCTIONS",
    "TableRule",
    "column_order",
    "correlation_matrix",
    "describe_categories",
    "describe_distribution",
    "distribution",
    "distribution_names",
    "formula_names",
    "is_discrete",
    "matches",
    "parameter_names",
    "reads",
    "table_rules",
]

# Sources whose columns are drawn at random (and drawn again when a row breaks a rule).
DRAWN_SOURCES = ("distribution", "categories", "faker")
# Functions `DataFrame.eval` knows, so that a formula naming them names no column.
EVAL_FUNCTIONS = frozenset(
    "sin cos tan exp log expm1 log1p sqrt sinh cosh tanh arcsin arccos arctan arccosh arcsinh arctanh abs arctan2".split()
)


# --- Distributions -------------------------------------------------------------------------


@cache
def distribution_names() -> tuple[str, ...]:
    """Every distribution `scipy.stats` offers (continuous and discrete)."""
    return tuple(sorted(n for n in dir(stats) if isinstance(getattr(stats, n, None), (stats.rv_continuous, stats.rv_discrete))))


def _family(name: str) -> Any:
    family = getattr(stats, name, None) if not name.startswith("_") else None
    if not isinstance(family, (stats.rv_continuous, stats.rv_discrete)):
        raise SynthesizerError(
            f"{name!r} is not a scipy.stats distribution.{closest(name, distribution_names())} "
            "Use a name of https://docs.scipy.org/doc/scipy/reference/stats.html, e.g. 'norm', 'lognorm', 'gamma' or 'poisson'."
        )
    return family


def parameter_names(name: str) -> list[str]:
    """The parameters a distribution takes: its shapes, `loc`, and `scale` if continuous.

    Raises:
        SynthesizerError: `name` is no `scipy.stats` distribution.
    """
    family = _family(name)
    shapes = [s.strip() for s in (family.shapes or "").split(",") if s.strip()]
    return [*shapes, "loc"] + (["scale"] if isinstance(family, stats.rv_continuous) else [])


def distribution(name: str, params: Mapping[str, float]) -> Any:
    """The frozen `scipy.stats` distribution `name(**params)`.

    Raises:
        SynthesizerError: `name` is no `scipy.stats` distribution (with the closest names), or
            it does not take `params` (with the parameters it takes).

    Examples:
        >>> distribution("lognorm", {"s": 0.8, "scale": 250}).median()
        250.0
    """
    family = _family(name)
    try:
        return family(**dict(params))
    except TypeError as error:
        raise SynthesizerError(
            f"distribution {name!r} does not take parameters {dict(params)}: {error}. "
            f"It takes {', '.join(parameter_names(name))}."
        ) from error


def is_discrete(frozen: Any) -> bool:
    """Whether a frozen distribution is discrete (its draws are integers)."""
    return isinstance(frozen.dist, stats.rv_discrete)


def _number(value: float) -> str:
    return f"{value:g}"


def describe_distribution(name: str, params: Mapping[str, float]) -> str:
    """A distribution as it is declared: `lognorm(s=0.8, scale=250)`."""
    return f"{name}({', '.join(f'{k}={_number(v)}' for k, v in params.items())})"


def describe_categories(categories: Mapping[Any, float]) -> str:
    """Categories with their shares: `categories(retail=0.7, business=0.3)`."""
    total = sum(categories.values()) or 1.0
    return f"categories({', '.join(f'{k}={v / total:.3g}' for k, v in categories.items())})"


# --- Declarations --------------------------------------------------------------------------


def formula_names(formula: str) -> set[str]:
    """The names a formula reads (columns, or `EVAL_FUNCTIONS`); backtick-quoted names count.

    Raises:
        SyntaxError: the formula is no expression.
    """
    quoted = re.findall(r"`([^`]*)`", formula)
    plain_text = re.sub(r"`[^`]*`", "__quoted__", formula)
    tree = ast.parse(plain_text.strip(), mode="eval")
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - {"__quoted__", "True", "False", "None"}
    return names | set(quoted)


def reads(formula: str) -> set[str]:
    try:
        return formula_names(formula)
    except SyntaxError:
        return set()  # `DataFrame.eval` reports it, with the column's name


def column_order(table: GeneratedTableConfig) -> list[str]:
    """The table's columns in order: declared ones, with a child's parent-key column (when not
    declared) after the leading `sequence` columns."""
    names = list(table.columns)
    if table.parent is None or table.parent.child_column in table.columns:
        return names
    leading = 0
    while leading < len(names) and table.columns[names[leading]].sequence is not None:
        leading += 1
    return [*names[:leading], table.parent.child_column, *names[leading:]]


def correlation_matrix(table: GeneratedTableConfig) -> tuple[list[str], np.ndarray]:
    """The copula's columns (in declaration order) and their correlation matrix: each
    correlation's `rho`, 1 on the diagonal, 0 elsewhere."""
    pairs = [tuple(c.columns) for c in table.correlations]
    involved = {name for pair in pairs for name in pair}
    columns = [name for name in table.columns if name in involved]
    position = {name: i for i, name in enumerate(columns)}
    matrix = np.eye(len(columns))
    for correlation in table.correlations:
        a, b = (position[c] for c in correlation.columns)
        if a != b:
            matrix[a, b] = matrix[b, a] = correlation.rho
    return columns, matrix


def matches(frame: pd.DataFrame, when: Mapping[str, Any]) -> np.ndarray:
    """Per row, whether every column in `when` holds its value (compared as values, or as text
    when the types differ: a category `1` read back from JSON as `'1'`)."""
    matched = np.ones(len(frame), dtype=bool)
    for column, value in when.items():
        values = frame[column]
        equal = np.asarray((values == value).fillna(False), dtype=bool) if len(values) else np.zeros(0, dtype=bool)
        if not equal.any() and len(values):
            equal = values.map(_label).to_numpy() == _label(value)
        matched &= equal
    return matched


def _label(value: Any) -> str:
    """A value as text, the same for `1`, `np.int64(1)`, `1.0` and `'1'`; missing is `''`."""
    value = plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "\x00missing"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


@dataclass(frozen=True)
class TableRule:
    """An inequality, range or fixed-combination rule of a generated table, as a contract
    `Rule` with its allowed combinations."""

    rule: Rule
    allowed: frozenset[tuple[Any, ...]] = frozenset()

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row, whether the rule holds; a row with a missing value in its columns passes."""
        part = frame[self.rule.columns]
        missing = part.isna().any(axis=1).to_numpy()
        held = np.ones(len(part), dtype=bool)
        if (~missing).any():
            present = part[~missing]
            present = present.astype({c: "float64" for c in present if _numeric_extension(present[c])})
            try:
                held[~missing] = self.rule.holds(present, self.allowed)
            except TypeError as error:
                raise SynthesizerError(
                    f"{self.rule.where}: rule {self.rule.describe()!r} compares values that cannot be compared ({error}); "
                    "an inequality or range needs numeric (or all-date) columns."
                ) from error
        return held


def _numeric_extension(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(series.dtype)


def table_rules(config: GeneratedConfig, table: GeneratedTableConfig) -> list[TableRule]:
    """The table's inequality, range and fixed-combination rules (conditionals are draws, not
    rules), each a `Rule` with `where` naming the set, table and rule position."""
    rules = []
    for position, declared in enumerate(table.rules):
        kind = declared.kind()
        if kind not in ("inequality", "range", "fixed_combinations"):
            continue
        body = declared.body()
        where = f"generated set {config.name!r}, table {table.name!r}, rules[{position}]"
        if kind == "fixed_combinations":
            allowed = frozenset(tuple(plain(v) for v in combination) for combination in body.get("combinations", []))
            rules.append(TableRule(Rule(kind, {"columns": list(body["columns"])}, where), allowed))
        else:
            rules.append(TableRule(Rule(kind, dict(body), where)))
    return rules
