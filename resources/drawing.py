"""How one table of a generated set is drawn (`draw_table`), for `resources.generator`'s
`Generator` and for the configuration's trial draw.

`distribution` columns are `scipy.stats` quantiles of uniforms, joined by a Gaussian copula
where correlations are declared; `categories` are weighted draws, `faker` columns a seeded Faker
provider per row, `sequence` columns keys, `twin` columns whole rows of a published twin, and
`formula` columns `DataFrame.eval` of the others, computed last. Conditional rules redraw a
`categories` column where their `when` values match; rows breaking an inequality, range or
fixed-combination rule are drawn again (their drawn columns) up to `MAX_ROUNDS` rounds. A child
table has, per parent row, `max(0, floor(draw))` rows from its `count` distribution.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from synthpipe.errors import SynthesizerError
from synthpipe.generated_config import ColumnSpec, GeneratedConfig, GeneratedTableConfig
from synthpipe.resources.declarations import (
    DRAWN_SOURCES,
    TableRule,
    column_order,
    correlation_matrix,
    describe_distribution,
    distribution,
    is_discrete,
    matches,
    parameter_names,
    reads,
    table_rules,
)

__all__ = ["MAX_ROUNDS", "draw_table"]

# Rounds of redrawing the rows that break a rule before the run stops.
MAX_ROUNDS = 100
# Uniforms are kept this far from 0 and 1, so that no quantile is infinite.
_EPS = 1e-12


def _uniforms(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.clip(rng.random(size), _EPS, 1 - _EPS)


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
            if spec.formula is not None and reads(spec.formula) & plan.unknown:
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


def draw_table(
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
