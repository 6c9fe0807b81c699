"""Checks of a generated set's declaration (`synthpipe.generated_config`) when definitions load:
names, each column's one source and its settings (a `scipy.stats` distribution that exists and
takes its parameters, positive category weights, a Faker provider, a twin among the learned
tables, ...), parents, correlations and rules, and the set's own settings.

When the rest is valid, a trial draw (`synthpipe.generated_trial`) shows whether the rules can be
met: a rule no trial row meets, or rules that together would have too many rows drawn again, are
refused before any nightly run.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

import numpy as np

from synthpipe.config_base import NAME_PATTERN
from synthpipe.errors import SynthesizerError, closest
from synthpipe.generated_config import ColumnSpec, GeneratedConfig, GeneratedRule, GeneratedTableConfig
from synthpipe.resources.declarations import (
    EVAL_FUNCTIONS,
    correlation_matrix,
    describe_distribution,
    distribution,
    formula_names,
    parameter_names,
)
from synthpipe.generated_trial import trial_problems

__all__ = ["generated_problems"]

SOURCES = ("distribution", "categories", "faker", "sequence", "formula", "twin")
RULE_KEYS = {
    "inequality": ({"low", "high"}, {"strict"}),
    "range": ({"low", "middle", "high"}, {"strict"}),
    "fixed_combinations": ({"columns", "combinations"}, set()),
    "conditional": ({"when", "column", "categories"}, set()),
}


def generated_problems(config: GeneratedConfig, learned_tables: Collection[str]) -> list[str]:
    """Every problem of a generated set's declaration, each naming the set, table and setting,
    quoting the bad value and saying what to do instead; empty when the set is valid.

    Args:
        config: The set's declaration.
        learned_tables: The tables learned from sources (under `tables:`), which twins name.
    """
    where = f"generated set {config.name!r}"
    problems = _set_problems(config, where)
    names = [t.name for t in config.tables]
    for position, table in enumerate(config.tables):
        problems += _table_problems(config, table, position, names, sorted(learned_tables), where)
    if not problems:
        problems += trial_problems(config, where)
    return problems


# --- The set -------------------------------------------------------------------------------


def _set_problems(config: GeneratedConfig, where: str) -> list[str]:
    problems = []
    if not NAME_PATTERN.match(config.name):
        problems.append(f"{where}: name {config.name!r} must be letters, digits and underscores, not starting with a digit (it becomes an asset key).")
    if not config.tables:
        problems.append(f"{where}: declares no tables; add at least one under `tables`.")
    names = [t.name for t in config.tables]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{where}: table {name!r} is declared {names.count(name)} times; table names must be unique within the set.")
    if not 0.0 < config.significance < 0.5:
        problems.append(f"{where}: `significance` must be between 0 and 0.5 (exclusive); got {config.significance}. 0.001 is the default.")
    if not 0.0 < config.max_rejected_share < 1.0:
        problems.append(
            f"{where}: `max_rejected_share` must be between 0 and 1 (exclusive); got {config.max_rejected_share}. 0.5 (the default) lets "
            "up to half the rows be drawn again."
        )
    if not 0.0 <= config.quality_threshold <= 1.0:
        problems.append(f"{where}: `quality_threshold` must be between 0 and 1; got {config.quality_threshold}. 0.9 is the default.")
    if config.seed is not None and config.seed < 0:
        problems.append(f"{where}: `seed` must be 0 or more; got {config.seed}.")
    return problems


# --- Tables --------------------------------------------------------------------------------


def _table_problems(
    config: GeneratedConfig, table: GeneratedTableConfig, position: int, names: list[str], learned: list[str], where: str
) -> list[str]:
    tw = f"{where}, table {table.name!r}"
    problems = []
    if not NAME_PATTERN.match(table.name):
        problems.append(f"{tw}: name {table.name!r} must be letters, digits and underscores, not starting with a digit (it becomes an asset key).")
    if not table.columns:
        problems.append(f"{tw}: declares no columns; add at least one under `columns`.")
    if table.parent is None:
        if table.num_rows is None:
            problems.append(f"{tw}: `num_rows` is missing; a table without a `parent` needs it, e.g. `num_rows: 1000`.")
        elif table.num_rows < 1:
            problems.append(f"{tw}: `num_rows` must be at least 1; got {table.num_rows}.")
    else:
        if table.num_rows is not None:
            problems.append(
                f"{tw}: `num_rows` ({table.num_rows}) is set on a child table; its rows come from its parent's `count` "
                f"({table.parent.table!r}). Remove `num_rows`, or remove `parent` to draw a table of its own."
            )
        problems += _parent_problems(config, table, position, names, tw)
    for name, spec in table.columns.items():
        problems += _column_problems(table, name, spec, learned, f"{tw}, column {name!r}")
    problems += _correlation_problems(table, tw)
    for index, rule in enumerate(table.rules):
        problems += _rule_problems(table, rule, f"{tw}, rules[{index}]")
    return problems


def _parent_problems(config: GeneratedConfig, table: GeneratedTableConfig, position: int, names: list[str], tw: str) -> list[str]:
    parent = table.parent
    assert parent is not None
    problems = []
    if parent.table == table.name:
        return [f"{tw}: `parent.table` is the table itself; name another table of the set, declared before this one."]
    if parent.table not in names:
        known = ", ".join(repr(n) for n in names if n != table.name) or "none"
        problems.append(f"{tw}: `parent.table` {parent.table!r} is not a table of the set (tables: {known}).{closest(parent.table, names)}")
    else:
        if names.index(parent.table) > position:
            problems.append(f"{tw}: its parent {parent.table!r} is declared after it; move {parent.table!r} before {table.name!r} under `tables`.")
        columns = config.table(parent.table).columns
        if parent.key not in columns:
            problems.append(
                f"{tw}: `parent.key` {parent.key!r} is not a column of table {parent.table!r} (columns: {', '.join(map(repr, columns)) or 'none'})."
                f"{closest(parent.key, columns)}"
            )
        elif columns[parent.key].source() not in ("sequence", "faker"):
            problems.append(
                f"{tw}: `parent.key` {parent.key!r} is a {columns[parent.key].source() or 'sourceless'} column of {parent.table!r}; a key "
                "must be unique: make it a `sequence` (or `faker`) column."
            )
    if parent.child_column in table.columns:
        problems.append(
            f"{tw}, column {parent.child_column!r}: it holds the parent's key {parent.key!r}, filled from {parent.table!r}; leave it out "
            "of `columns` (or set `parent.column` to another name)."
        )
    problems += _distribution_problems(parent.count.distribution, parent.count.params, f"{tw}, `parent.count`")
    return problems


def _column_problems(table: GeneratedTableConfig, name: str, spec: ColumnSpec, learned: list[str], cw: str) -> list[str]:
    sources = [s for s in SOURCES if getattr(spec, s) is not None]
    if not sources:
        return [f"{cw}: sets no source; set exactly one of {', '.join(SOURCES)}."]
    if len(sources) > 1:
        return [f"{cw}: sets {' and '.join(sources)}; a column has exactly one source, keep one of them."]
    source = sources[0]
    problems = []
    if source == "distribution":
        problems += _distribution_problems(spec.distribution or "", spec.params, cw)
    elif spec.params:
        problems.append(f"{cw}: `params` {spec.params} are read only with `distribution`; remove them.")
    if source == "categories":
        problems += _categories_problems(spec.categories or {}, f"{cw}: `categories`")
    elif source == "faker":
        problems += _faker_problems(spec.faker or "", spec.locale, cw)
    elif source == "sequence":
        problems += _sequence_problems(spec, cw)
    elif source == "formula":
        problems += _formula_problems(table, name, spec.formula or "", cw)
    elif source == "twin" and spec.twin is not None and spec.twin.table not in learned:
        known = ", ".join(repr(t) for t in learned) or "none; declare the source table under `tables:`"
        problems.append(
            f"{cw}: `twin.table` {spec.twin.table!r} is not a table learned by this configuration (learned tables: {known}).{closest(spec.twin.table, learned)}"
        )
    if not 0.0 <= spec.null_share < 1.0:
        problems.append(f"{cw}: `null_share` must be at least 0 and below 1; got {spec.null_share}. 0.05 leaves 5% of the rows empty.")
    if spec.round is not None:
        if spec.round < 0:
            problems.append(f"{cw}: `round` must be 0 (integers) or more decimals; got {spec.round}.")
        if source not in ("distribution", "formula"):
            problems.append(f"{cw}: `round` applies to `distribution` and `formula` columns only; remove it from this {source} column.")
    return problems


def _distribution_problems(name: str, params: Mapping[str, float], where: str) -> list[str]:
    try:
        takes = parameter_names(name)
    except SynthesizerError as error:
        return [f"{where}: {error}"]
    unknown = [p for p in params if p not in takes]
    if unknown:
        hints = "".join(closest(p, takes) for p in unknown)
        return [f"{where}: {name!r} takes no parameter(s) {', '.join(map(repr, unknown))}; it takes {', '.join(takes)}.{hints}"]
    try:
        frozen = distribution(name, params)
    except SynthesizerError as error:
        return [f"{where}: {error}"]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            draws = np.asarray(frozen.ppf([0.25, 0.75]), dtype=float)
        except Exception as error:  # scipy's own complaint about the values
            return [f"{where}: {describe_distribution(name, params)} cannot be drawn: {error}. It takes {', '.join(takes)}."]
    if not np.isfinite(draws).all():
        return [
            f"{where}: parameters {dict(params)} are invalid for {name!r}: its draws are not numbers. Check their ranges (`scale` "
            f"must be positive, shapes within the distribution's domain); it takes {', '.join(takes)}."
        ]
    return []


def _categories_problems(categories: Any, where: str) -> list[str]:
    if not isinstance(categories, Mapping) or not categories:
        return [f"{where} is {categories!r}; give at least one value with a positive weight, e.g. {{retail: 0.7, business: 0.3}}."]
    bad = {k: w for k, w in categories.items() if not isinstance(w, (int, float)) or isinstance(w, bool) or not math.isfinite(w) or w <= 0}
    if bad:
        return [f"{where}: weights must be positive numbers; got {bad}. Remove the value, or give it a positive weight."]
    return []


@cache
def _faker(locale: str) -> Any:
    from faker import Faker

    return Faker(locale)


def _faker_problems(provider: str, locale: str, cw: str) -> list[str]:
    from faker.config import AVAILABLE_LOCALES

    try:
        fake = _faker(locale)
    except (AttributeError, ValueError) as error:
        return [f"{cw}: `locale` {locale!r} is not a Faker locale ({error}).{closest(locale, AVAILABLE_LOCALES)}"]
    generator = fake.factories[0]
    providers = [m for m in dir(generator) if not m.startswith("_") and callable(getattr(generator, m, None))]
    if provider.startswith("_") or provider not in providers:
        return [f"{cw}: {provider!r} is not a Faker provider.{closest(provider, providers)} See https://faker.readthedocs.io/en/master/providers.html."]
    try:
        getattr(fake, provider)()
    except Exception as error:  # a provider that needs arguments, or fails for this locale
        return [f"{cw}: Faker provider {provider!r} cannot be called without arguments ({error}); choose one that can, e.g. 'name' or 'iban'."]
    return []


def _sequence_problems(spec: ColumnSpec, cw: str) -> list[str]:
    sequence = spec.sequence
    assert sequence is not None
    problems = []
    if sequence.step == 0:
        problems.append(f"{cw}: `sequence.step` is 0, so every key would be {sequence.start}; use a step such as 1.")
    if sequence.format is not None:
        try:
            first, second = sequence.format.format(sequence.start), sequence.format.format(sequence.start + (sequence.step or 1))
        except (ValueError, IndexError, KeyError) as error:
            problems.append(f"{cw}: `sequence.format` {sequence.format!r} is not a Python format of one number ({error}); e.g. 'C{{:06d}}'.")
        else:
            if first == second:
                problems.append(f"{cw}: `sequence.format` {sequence.format!r} has no `{{}}` for the number, so every key is {first!r}; e.g. 'C{{:06d}}'.")
    return problems


def _formula_problems(table: GeneratedTableConfig, name: str, formula: str, cw: str) -> list[str]:
    try:
        read = formula_names(formula)
    except SyntaxError as error:
        return [f"{cw}: formula {formula!r} is not a pandas expression ({error.msg}); e.g. 'balance * 0.01'."]
    columns = list(table.columns) + ([table.parent.child_column] if table.parent is not None else [])
    formulas = [n for n, s in table.columns.items() if s.formula is not None]
    problems = []
    unknown = sorted(n for n in read if n not in columns and n not in EVAL_FUNCTIONS)
    if unknown:
        hints = "".join(closest(n, columns) for n in unknown)
        problems.append(f"{cw}: formula {formula!r} names unknown column(s) {', '.join(map(repr, unknown))}; the table's columns are {', '.join(map(repr, columns))}.{hints}")
    if name in read:
        problems.append(f"{cw}: formula {formula!r} reads its own column; a formula is computed from the other columns.")
    later = [n for n in read if n in formulas and formulas.index(n) > formulas.index(name)]
    if later:
        problems.append(
            f"{cw}: formula {formula!r} reads formula column(s) {', '.join(map(repr, later))} declared after it; formulas are computed in "
            "declaration order, so declare those first."
        )
    return problems


# --- Correlations and rules ----------------------------------------------------------------


def _correlation_problems(table: GeneratedTableConfig, tw: str) -> list[str]:
    problems = []
    seen: set[frozenset[str]] = set()
    for index, correlation in enumerate(table.correlations):
        cw = f"{tw}, correlations[{index}]"
        a, b = correlation.columns
        if a == b:
            problems.append(f"{cw}: names column {a!r} twice; a correlation joins two different columns.")
        for column in dict.fromkeys((a, b)):
            spec = table.columns.get(column)
            if spec is None:
                problems.append(f"{cw}: column {column!r} is not a column of the table.{closest(column, table.columns)}")
            elif spec.distribution is None:
                problems.append(f"{cw}: column {column!r} is a {spec.source() or 'sourceless'} column; correlations join `distribution` columns.")
        if not -1.0 < correlation.rho < 1.0:
            problems.append(f"{cw}: `rho` must be between -1 and 1 (exclusive); got {correlation.rho}.")
        if frozenset((a, b)) in seen:
            problems.append(f"{cw}: the pair {a!r}, {b!r} is declared twice; keep one `rho` for it.")
        seen.add(frozenset((a, b)))
    if not problems and table.correlations:
        _, matrix = correlation_matrix(table)
        if np.linalg.eigvalsh(matrix).min() <= 1e-10:
            pairs = ", ".join(f"{a}~{b} ({c.rho:g})" for c in table.correlations for a, b in [c.columns])
            problems.append(
                f"{tw}: the correlations {pairs} make no valid correlation matrix (it is not positive definite); lower some |rho| so "
                "that the pairs agree (a~b and b~c both high but a~c low cannot all hold)."
            )
    return problems


def _rule_problems(table: GeneratedTableConfig, rule: GeneratedRule, rw: str) -> list[str]:
    kinds = [k for k in RULE_KEYS if getattr(rule, k) is not None]
    if not kinds:
        return [f"{rw}: sets no rule; set one of {', '.join(RULE_KEYS)}."]
    if len(kinds) > 1:
        return [f"{rw}: sets {' and '.join(kinds)}; write each rule as its own item of `rules`."]
    kind = kinds[0]
    body = rule.body()
    required, optional = RULE_KEYS[kind]
    problems = [f"{rw}: `{kind}` has no `{key}`; it needs {', '.join(sorted(required))}." for key in sorted(required - set(body))]
    for key in sorted(set(body) - required - optional):
        problems.append(f"{rw}: `{kind}` takes no `{key}`; it takes {', '.join(sorted(required | optional))}.{closest(key, required | optional)}")
    if "strict" in body and not isinstance(body["strict"], bool):
        problems.append(f"{rw}: `strict` must be true or false; got {body['strict']!r}.")
    if problems:
        return problems
    columns = list(table.columns) + ([table.parent.child_column] if table.parent is not None else [])
    if kind in ("inequality", "range"):
        named = [body[k] for k in ("low", "middle", "high") if k in body]
        return _unknown_columns(named, columns, rw)
    if kind == "fixed_combinations":
        return _combination_problems(body, columns, rw)
    return _conditional_problems(table, body, columns, rw)


def _unknown_columns(named: list[Any], columns: list[str], rw: str) -> list[str]:
    return [
        f"{rw}: names column {c!r}, which is not a column of the table (columns: {', '.join(map(repr, columns))}).{closest(str(c), columns)}"
        for c in named
        if not isinstance(c, str) or c not in columns
    ]


def _combination_problems(body: Mapping[str, Any], columns: list[str], rw: str) -> list[str]:
    named, combinations = body["columns"], body["combinations"]
    if not isinstance(named, list) or len(named) < 2:
        return [f"{rw}: `fixed_combinations.columns` must list at least two columns; got {named!r}."]
    problems = _unknown_columns(named, columns, rw)
    if not isinstance(combinations, list) or not combinations:
        return [*problems, f"{rw}: `fixed_combinations.combinations` must list the allowed combinations, e.g. [[DE, EUR], [US, USD]]; got {combinations!r}."]
    for index, combination in enumerate(combinations):
        if not isinstance(combination, list) or len(combination) != len(named):
            problems.append(
                f"{rw}: combination {index} {combination!r} has {len(combination) if isinstance(combination, list) else 'no list of'} values; "
                f"it needs one per column of {named} ({len(named)})."
            )
    return problems


def _conditional_problems(table: GeneratedTableConfig, body: Mapping[str, Any], columns: list[str], rw: str) -> list[str]:
    when, column = body["when"], body["column"]
    problems = []
    if not isinstance(when, Mapping) or not when:
        problems.append(f"{rw}: `conditional.when` must map columns to values, e.g. {{segment: business}}; got {when!r}.")
    else:
        problems += _unknown_columns(list(when), columns, rw)
        for name in when:
            spec = table.columns.get(name)
            if spec is not None and spec.formula is not None:
                problems.append(f"{rw}: `conditional.when` names the formula column {name!r}, computed after the draw; name a drawn column.")
        if column in when:
            problems.append(f"{rw}: `conditional.when` names its own `column` {column!r}; a condition reads other columns.")
    spec = table.columns.get(column) if isinstance(column, str) else None
    if spec is None:
        problems += _unknown_columns([column], columns, rw)
    elif spec.categories is None:
        problems.append(f"{rw}: `conditional.column` {column!r} is a {spec.source() or 'sourceless'} column; a conditional redraws a `categories` column.")
    problems += _categories_problems(body["categories"], f"{rw}: `conditional.categories`")
    return problems
