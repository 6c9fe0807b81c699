"""The engine of generated sets (`generated:`): tables drawn from their declarations.

A `Generator` is the registered "model" of a generated set. It holds the set's declaration as
plain data and draws every table of the set, in declaration order, from one seed:

- `distribution` columns are `scipy.stats` quantiles of uniforms (`dist.ppf(u)`), so that a
  Gaussian copula can join them: the correlated columns' uniforms are `norm.cdf` of correlated
  normal scores, and each column keeps its declared marginal;
- `categories` are weighted draws; `faker` columns call a seeded Faker provider per row;
  `sequence` columns are keys; `formula` columns are `DataFrame.eval` of the others, computed last;
- `twin` columns take whole rows of a published twin: one row draw per table and twin, shared by
  every column naming that twin, so the twin's joint values are kept;
- conditional rules redraw a `categories` column where their `when` values match;
- rows breaking an inequality, range or fixed-combination rule are drawn again (their drawn
  columns; keys, twins and parent keys stay), formulas recomputed, up to `MAX_ROUNDS` rounds;
- a child table has, per parent row, `max(0, floor(draw))` rows from its `count` distribution.

Every draw comes from numpy Generators spawned from `np.random.SeedSequence(seed)`, one per
table, so the same seed (and the same twins) gives identical frames.
"""

from __future__ import annotations

import ast
import math
import pickle
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from synthpipe.contracts import Rule, plain
from synthpipe.errors import SynthesizerError, closest
from synthpipe.generated_config import ColumnSpec, GeneratedConfig, GeneratedTableConfig

__all__ = [
    "DRAWN_SOURCES",
    "EVAL_FUNCTIONS",
    "MAX_ROUNDS",
    "Generator",
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
    "table_rules",
    "trial_tables",
]

# Rounds of redrawing the rows that break a rule before the run stops.
MAX_ROUNDS = 100
# Sources whose columns are drawn at random (and drawn again when a row breaks a rule).
DRAWN_SOURCES = ("distribution", "categories", "faker")
# Functions `DataFrame.eval` knows, so that a formula naming them names no column.
EVAL_FUNCTIONS = frozenset(
    "sin cos tan exp log expm1 log1p sqrt sinh cosh tanh arcsin arccos arctan arccosh arcsinh arctanh abs arctan2".split()
)
# Uniforms are kept this far from 0 and 1, so that no quantile is infinite.
_EPS = 1e-12


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


def _uniforms(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.clip(rng.random(size), _EPS, 1 - _EPS)


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


def _reads(formula: str) -> set[str]:
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


# --- Drawing -------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What drawing one table needs, worked out once from its declaration."""

    config: GeneratedConfig
    table: GeneratedTableConfig
    where: str
    dists: dict[str, Any] = field(default_factory=dict)
    correlated: list[str] = field(default_factory=list)
    cholesky: np.ndarray | None = None
    rules: list[TableRule] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)
    redrawn: list[str] = field(default_factory=list)
    formulas: list[str] = field(default_factory=list)
    # Formulas a trial cannot compute: they read twin columns, which a trial leaves missing.
    unknown: set[str] = field(default_factory=set)

    @property
    def specs(self) -> dict[str, ColumnSpec]:
        return self.table.columns


def _plan(config: GeneratedConfig, table: GeneratedTableConfig, *, trial: bool = False) -> _Plan:
    where = f"generated set {config.name!r}, table {table.name!r}"
    plan = _Plan(config, table, where)
    if trial:
        plan.unknown = {name for name, spec in table.columns.items() if spec.twin is not None}
        for name, spec in table.columns.items():
            if spec.formula is not None and _reads(spec.formula) & plan.unknown:
                plan.unknown.add(name)
    for name, spec in table.columns.items():
        if spec.distribution is not None:
            try:
                plan.dists[name] = distribution(spec.distribution, spec.params)
            except SynthesizerError as error:
                raise SynthesizerError(f"{where}, column {name!r}: {error}") from error
    plan.correlated, matrix = correlation_matrix(table)
    if plan.correlated:
        try:
            plan.cholesky = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError as error:
            pairs = ", ".join(f"{a}~{b} (rho {c.rho:g})" for c in table.correlations for a, b in [c.columns])
            raise SynthesizerError(
                f"{where}: the correlations {pairs} make no valid correlation matrix (it is not positive definite). "
                "Lower some |rho| so that the pairs agree (e.g. a~b and b~c both high but a~c low cannot all hold)."
            ) from error
    plan.rules = table_rules(config, table)
    keys = {t.parent.key for t in config.tables if t.parent is not None and t.parent.table == table.name}
    plan.drawn = [name for name, spec in table.columns.items() if spec.source() in DRAWN_SOURCES]
    plan.redrawn = [name for name in plan.drawn if name not in keys]
    plan.formulas = [name for name, spec in table.columns.items() if spec.formula is not None]
    return plan


def _typed(values: Sequence[Any]) -> np.ndarray:
    """Category values as the numpy array their types call for (bool, int64, float64, object)."""
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=bool)
    if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=np.int64)
    if values and all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=np.float64)
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _choose(categories: Mapping[Any, float], size: int, rng: np.random.Generator) -> np.ndarray:
    values = list(categories)
    weights = np.array([float(w) for w in categories.values()])
    chosen = rng.choice(len(values), size=size, p=weights / weights.sum())
    return _typed(values)[chosen]


def _with_nulls(series: pd.Series, mask: np.ndarray) -> pd.Series:
    """The column in its nullable dtype (Int64 for integers, boolean, float, object), with the
    masked rows missing. The dtype follows `null_share`, not the draw, so every draw agrees."""
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("boolean")
    elif pd.api.types.is_integer_dtype(series.dtype):
        series = series.astype("Int64")
    elif pd.api.types.is_float_dtype(series.dtype):
        return series.mask(mask)
    else:
        series = series.astype(object)
        series[mask] = None
        return series
    return series.mask(mask)


def _quantiles(plan: _Plan, name: str, u: np.ndarray) -> np.ndarray:
    spec, frozen = plan.specs[name], plan.dists[name]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(frozen.ppf(u), dtype=float)
    if not np.isfinite(values).all():
        raise SynthesizerError(
            f"{plan.where}, column {name!r}: {describe_distribution(spec.distribution or '', spec.params)} draws values that "
            f"are not numbers; its parameters are invalid (it takes {', '.join(parameter_names(spec.distribution or ''))})."
        )
    if is_discrete(frozen):
        return values.astype(np.int64)
    if spec.round is not None:
        values = np.round(values, spec.round)
        return values.astype(np.int64) if spec.round == 0 else values
    return values


def _draw(plan: _Plan, columns: Sequence[str], context: pd.DataFrame, rng: np.random.Generator, fakers: Mapping[str, Any]) -> pd.DataFrame:
    """The drawn columns (`distribution`, `categories`, `faker`) for the rows of `context` (the
    table's other columns at those rows), with conditionals and missing values applied."""
    size = len(context)
    uniforms: dict[str, np.ndarray] = {}
    copula = [c for c in plan.correlated if c in columns]
    if copula and plan.cholesky is not None:
        scores = rng.standard_normal((size, len(plan.correlated))) @ plan.cholesky.T
        probabilities = np.clip(stats.norm.cdf(scores), _EPS, 1 - _EPS)
        uniforms = {name: probabilities[:, i] for i, name in enumerate(plan.correlated)}
    out: dict[str, Any] = {}
    for name in columns:
        spec = plan.specs[name]
        if spec.distribution is not None:
            out[name] = _quantiles(plan, name, uniforms[name] if name in uniforms else _uniforms(rng, size))
        elif spec.categories is not None:
            out[name] = _choose(spec.categories, size, rng)
        else:
            provider = getattr(fakers[spec.locale], spec.faker or "")
            out[name] = _typed([provider() for _ in range(size)]) if size else np.empty(0, dtype=object)
    frame = pd.DataFrame(out, index=context.index)
    masks = {name: rng.random(size) < plan.specs[name].null_share for name in columns if plan.specs[name].null_share > 0}
    for name, mask in masks.items():
        frame[name] = _with_nulls(frame[name], mask)
    _conditionals(plan, frame, context, masks, rng)
    return frame


def _conditionals(plan: _Plan, frame: pd.DataFrame, context: pd.DataFrame, masks: Mapping[str, np.ndarray], rng: np.random.Generator) -> None:
    for declared in plan.table.rules:
        body = declared.conditional
        if body is None or body["column"] not in frame:
            continue
        target = body["column"]
        look = pd.concat([context.drop(columns=[c for c in frame if c in context]), frame], axis=1)
        chosen = matches(look, body["when"]) & ~masks.get(target, np.zeros(len(frame), dtype=bool))
        values = _choose(body["categories"], int(chosen.sum()), rng)
        if chosen.any():
            if values.dtype != frame[target].dtype and not isinstance(frame[target].dtype, pd.api.extensions.ExtensionDtype):
                frame[target] = frame[target].astype(object)
            frame.loc[chosen, target] = values


def _formulas(plan: _Plan, frame: pd.DataFrame) -> None:
    for name in plan.formulas:
        spec = plan.specs[name]
        if name in plan.unknown:
            frame[name] = np.nan
            continue
        try:
            result = frame.eval(spec.formula or "")
        except Exception as error:  # pandas raises many kinds; all mean the same to the user
            raise SynthesizerError(
                f"{plan.where}, column {name!r}: formula {spec.formula!r} failed: {type(error).__name__}: {error}. "
                "A formula is a pandas expression (`DataFrame.eval`) of the table's other columns, e.g. 'balance * 0.01'."
            ) from error
        if isinstance(result, pd.DataFrame):
            raise SynthesizerError(f"{plan.where}, column {name!r}: formula {spec.formula!r} assigns; write an expression, e.g. 'balance * 0.01'.")
        values = result if isinstance(result, pd.Series) else pd.Series(np.full(len(frame), result), index=frame.index)
        if spec.round is not None:
            try:
                values = values.round(spec.round)
            except TypeError as error:
                raise SynthesizerError(f"{plan.where}, column {name!r}: formula {spec.formula!r} is not numeric, so `round` cannot apply.") from error
            if spec.round == 0:
                values = values.astype("Int64") if values.isna().any() or spec.null_share > 0 else values.astype(np.int64)
        frame[name] = values.set_axis(frame.index)


def _fakers(plan: _Plan, rng: np.random.Generator) -> dict[str, Any]:
    locales = sorted({spec.locale for spec in plan.specs.values() if spec.faker is not None})
    if not locales:
        return {}
    from faker import Faker

    fakers = {}
    for locale in locales:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(int(rng.integers(2**32)))
    return fakers


def _counts(plan: _Plan, parent: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    count = plan.table.parent.count  # type: ignore[union-attr]
    try:
        frozen = distribution(count.distribution, count.params)
    except SynthesizerError as error:
        raise SynthesizerError(f"{plan.where}, `parent.count`: {error}") from error
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = np.asarray(frozen.ppf(_uniforms(rng, len(parent))), dtype=float)
    if not np.isfinite(draws).all():
        raise SynthesizerError(
            f"{plan.where}, `parent.count`: {describe_distribution(count.distribution, count.params)} draws values that are "
            f"not numbers; its parameters are invalid (it takes {', '.join(parameter_names(count.distribution))})."
        )
    return np.maximum(0, np.floor(draws)).astype(np.int64)


def _fixed(
    plan: _Plan, rows: int, rng: np.random.Generator, done: Mapping[str, pd.DataFrame], twins: Mapping[str, pd.DataFrame] | None, cap: int | None
) -> pd.DataFrame:
    """The columns that are not redrawn: sequences, the parent key, twin columns (missing
    in a trial, `twins is None`), each with its missing values."""
    table = plan.table
    out: dict[str, Any] = {}
    if table.parent is not None:
        parent = done.get(table.parent.table)
        if parent is None or table.parent.key not in parent:
            raise SynthesizerError(f"{plan.where}: parent table {table.parent.table!r} or its key {table.parent.key!r} was not drawn before this table.")
        keys = parent[table.parent.key].repeat(_counts(plan, parent, rng)).reset_index(drop=True)
        out[table.parent.child_column] = keys.iloc[:cap] if cap is not None else keys
        rows = len(out[table.parent.child_column])
    for name, spec in table.columns.items():
        if spec.sequence is not None:
            numbers = spec.sequence.start + spec.sequence.step * np.arange(rows, dtype=np.int64)
            out[name] = numbers if spec.sequence.format is None else _typed([spec.sequence.format.format(int(n)) for n in numbers])
    for twin_name in dict.fromkeys(spec.twin.table for spec in table.columns.values() if spec.twin is not None):
        named = {name: spec.twin.column for name, spec in table.columns.items() if spec.twin is not None and spec.twin.table == twin_name}
        if twins is None:
            out.update({name: np.full(rows, np.nan) for name in named})
            continue
        out.update(_twin_columns(plan, twin_name, named, twins, rows, rng))
    frame = pd.DataFrame(out, index=pd.RangeIndex(rows))
    for name in frame:
        spec = table.columns.get(name)
        if spec is not None and spec.null_share > 0:
            frame[name] = _with_nulls(frame[name], rng.random(rows) < spec.null_share)
    return frame


def _twin_columns(
    plan: _Plan, twin_name: str, named: Mapping[str, str], twins: Mapping[str, pd.DataFrame], rows: int, rng: np.random.Generator
) -> dict[str, pd.Series]:
    twin = twins.get(twin_name)
    if twin is None or len(twin) == 0:
        given = ", ".join(repr(t) for t in twins) or "none"
        raise SynthesizerError(
            f"{plan.where} draws columns from the twin {twin_name!r}, which was not given or has no rows (given: {given}). "
            f"Publish the twin first (table {twin_name!r} under `tables:`) and pass its latest version in `twins`."
        )
    missing = [column for column in named.values() if column not in twin]
    if missing:
        raise SynthesizerError(
            f"{plan.where}: the twin {twin_name!r} has no column(s) {missing}; its columns are {list(twin.columns)}. Fix `twin.column`."
        )
    chosen = rng.integers(0, len(twin), rows)  # one draw of rows per twin keeps its joint values
    return {name: twin[column].iloc[chosen].reset_index(drop=True) for name, column in named.items()}


def _draw_table(
    config: GeneratedConfig,
    table: GeneratedTableConfig,
    rng: np.random.Generator,
    done: Mapping[str, pd.DataFrame],
    twins: Mapping[str, pd.DataFrame] | None,
    *,
    enforce: bool,
    cap: int | None = None,
) -> tuple[pd.DataFrame, int]:
    plan = _plan(config, table, trial=twins is None)
    fakers = _fakers(plan, rng)
    # A trial draws `cap` rows whatever `num_rows` says, so that its shares are stable.
    rows = cap if cap is not None else (table.num_rows or 0)
    frame = _fixed(plan, rows, rng, done, twins, cap)
    drawn = _draw(plan, plan.drawn, frame, rng, fakers)
    frame = pd.concat([frame, drawn], axis=1)
    _formulas(plan, frame)
    rejected = _enforce(plan, frame, rng, fakers) if enforce and plan.rules else 0
    for name in plan.formulas:
        if plan.specs[name].null_share > 0:
            frame[name] = _with_nulls(frame[name], rng.random(len(frame)) < plan.specs[name].null_share)
    return frame[column_order(table)], rejected


def _broken(plan: _Plan, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    held = [(rule, rule.holds(frame)) for rule in plan.rules]
    broken = ~np.logical_and.reduce([h for _, h in held]) if held else np.zeros(len(frame), dtype=bool)
    return broken, {rule.rule.describe(): int((~h).sum()) for rule, h in held if (~h).any()}


def _enforce(plan: _Plan, frame: pd.DataFrame, rng: np.random.Generator, fakers: Mapping[str, Any]) -> int:
    """Draws the rows that break a rule again until every row meets every rule; returns the
    number of rows drawn again (a row drawn twice counts twice)."""
    broken, counts = _broken(plan, frame)
    limit = plan.config.max_rejected_share
    if len(frame) and broken.sum() / len(frame) > limit:
        raise SynthesizerError(
            f"{plan.where}: {int(broken.sum())} of {len(frame)} rows ({broken.mean():.1%}) break a rule in the first draw "
            f"({_rule_counts(counts)}); at most `max_rejected_share` = {limit:g} of the rows may be drawn again. The rules cut "
            "deep into the declared distributions: change the distributions so that most rows meet the rules, loosen the "
            "rules, or raise `max_rejected_share`."
        )
    rejected = 0
    for _ in range(MAX_ROUNDS):
        if not broken.any():
            return rejected
        rows = np.flatnonzero(broken)
        rejected += len(rows)
        part = frame.iloc[rows].copy()
        redrawn = _draw(plan, plan.redrawn, part, rng, fakers)
        for name in plan.redrawn:
            part[name] = redrawn[name]
        _formulas(plan, part)
        for name in [*plan.redrawn, *plan.formulas]:
            if part[name].dtype != frame[name].dtype:
                frame[name] = frame[name].astype(object)
            frame.loc[part.index, name] = part[name]
        still, counts = _broken(plan, part)
        broken = np.zeros(len(frame), dtype=bool)
        broken[rows[still]] = True
    raise SynthesizerError(
        f"{plan.where}: {int(broken.sum())} rows still break a rule after {MAX_ROUNDS} rounds of drawing them again "
        f"({_rule_counts(counts)}). Only drawn columns (distribution, categories, faker) are drawn again, never keys or "
        "twin columns; change the distributions or loosen the rule so that rows can meet it."
    )


def _rule_counts(counts: Mapping[str, int]) -> str:
    return "; ".join(f"rule {rule!r}: {count} rows" for rule, count in counts.items())


# --- The registered model ------------------------------------------------------------------


def _restore_keys(categories: Mapping[Any, float]) -> dict[Any, float]:
    """Category keys as declared, after JSON turned `1` into `'1'` and `True` into `'True'`."""
    keys = list(categories)
    if keys and all(isinstance(k, str) and re.fullmatch(r"-?[0-9]+", k) for k in keys):
        return {int(k): w for k, w in categories.items()}
    if keys and all(k in ("True", "False") for k in keys):
        return {k == "True": w for k, w in categories.items()}
    return dict(categories)


def _restored(config: Mapping[str, Any]) -> dict[str, Any]:
    data = pickle.loads(pickle.dumps(dict(config)))  # a deep copy of plain data
    for table in data.get("tables", []):
        for spec in table.get("columns", {}).values():
            if spec.get("categories"):
                spec["categories"] = _restore_keys(spec["categories"])
        for rule in table.get("rules", []):
            if (rule.get("conditional") or {}).get("categories"):
                rule["conditional"]["categories"] = _restore_keys(rule["conditional"]["categories"])
    return data


class Generator:
    """A generated set's registered model: its declaration as plain data, and the draw.

    Args:
        config: `GeneratedConfig.model_dump(mode="json")` (plain data, so the model pickles
            without pydantic classes), or the `GeneratedConfig` itself. JSON turns category keys
            into text; keys that are all integer numerals (`'1'`, `'2'`) or all `'True'`/`'False'`
            are read back as integers or booleans. Pass the model to keep declared types exactly.

    Examples:
        >>> generator = Generator(config.model_dump(mode="json"))
        >>> tables = generator.generate(seed=7, twins={"adult": latest_adult})
    """

    FILE_SUFFIX = ".generator.pkl"  # the registry's `file_suffix` of the `generator` backend

    def __init__(self, config: Mapping[str, Any] | GeneratedConfig):
        if isinstance(config, GeneratedConfig):
            self.config: dict[str, Any] = config.model_dump(mode="python")
            self._exact = True
        else:
            self.config = dict(config)
            self._exact = False
        self.rejected: dict[str, int] = {}
        self._declaration: GeneratedConfig | None = None

    @property
    def declaration(self) -> GeneratedConfig:
        """The set's declaration as the configuration model."""
        if self._declaration is None:
            self._declaration = GeneratedConfig.model_validate(self.config if self._exact else _restored(self.config))
        return self._declaration

    def fit(self, data: Any = None) -> Generator:
        """Nothing to learn: a generated set is its declaration."""
        return self

    def generate(self, seed: int, twins: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
        """Every table of the set, in declaration order.

        Args:
            seed: The draw's seed; the same seed and twins give identical frames.
            twins: The latest published version of each twin the set draws from, by table name.

        Raises:
            SynthesizerError: a declaration cannot be drawn (a twin missing, rules broken by too
                many rows or after `MAX_ROUNDS` rounds, a formula failing).
        """
        config = self.declaration
        generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(config.tables))]
        tables: dict[str, pd.DataFrame] = {}
        rejected: dict[str, int] = {}
        for table, rng in zip(config.tables, generators):
            tables[table.name], rejected[table.name] = _draw_table(config, table, rng, tables, twins or {}, enforce=True)
        self.rejected = rejected
        return tables

    def sample(self, num_rows: int | None = None, /, seed: int = 0) -> dict[str, pd.DataFrame]:
        """`generate(seed)` under the `Synthesizer` protocol's name; the declaration sets the
        rows, so `num_rows` is ignored."""
        return self.generate(seed)

    def get_parameters(self) -> dict[str, Any]:
        return dict(self.config)

    def get_metadata(self) -> None:
        return None

    def save(self, path: str) -> None:
        with open(path, "wb") as file:
            pickle.dump(self, file)

    @classmethod
    def load(cls, path: str) -> Generator:
        with open(path, "rb") as file:
            loaded = pickle.load(file)  # noqa: S301 - our own registered model file
        if not isinstance(loaded, cls):
            raise SynthesizerError(f"{path!r} holds a {type(loaded).__name__}, not a synthpipe Generator; register the generated set again.")
        return loaded

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "rejected": self.rejected, "_exact": self._exact}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._declaration = None


def trial_tables(config: GeneratedConfig, rows: int = 2000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A draw for validation: rules not enforced, twin columns missing (NaN), and so are the
    formulas that read them (directly or through another formula). A table without a
    parent has `rows` rows whatever its `num_rows` (so shares measured on it are stable); a
    child's rows follow its parent's counts, capped at `rows`.

    Raises:
        SynthesizerError: a declaration cannot be drawn (a formula failing, invalid parameters).
    """
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(config.tables))]
    tables: dict[str, pd.DataFrame] = {}
    for table, rng in zip(config.tables, generators):
        tables[table.name], _ = _draw_table(config, table, rng, tables, None, enforce=False, cap=rows)
    return tables

