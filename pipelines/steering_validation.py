"""Checks of what steers a single table's sampling, collected with the rest of the
configuration's problems by `synthpipe.validation`: `conditions` (which the synthesizer, or every
`auto` candidate, must be able to sample to), partially synthetic tables (`synthesize_columns`,
`impute`), `rebalance` and `fairness`, each against the columns the table keeps.
"""

from __future__ import annotations

from synthpipe.resources.backends import BACKENDS
from synthpipe.table_config import AUTO, TableConfig

__all__ = ["steering_problems"]


def steering_problems(table: TableConfig, where: str) -> list[str]:
    """Every problem of the table's conditions, partial synthesis, rebalancing and fairness."""
    return _condition_problems(table, where) + _partial_problems(table, where)


def _condition_problems(table: TableConfig, where: str) -> list[str]:
    """`conditions`, `rebalance` and `fairness` steer sampling through conditions; the source's
    values are checked when the table samples."""
    chosen = [name for name in ("conditions", "rebalance", "fairness") if getattr(table, name)]
    if not chosen:
        return []
    setting, problems = chosen[0], []
    if len(chosen) > 1:
        problems.append(f"{where}: set one of `conditions`, `rebalance` and `fairness`, not {', '.join(f'`{c}`' for c in chosen)}.")
    if table.sequence is not None:
        problems.append(f"{where}: `{setting}` applies to single tables; a sequential table samples whole sequences (`num_sequences`).")
    if table.num_rows is not None and table.conditions:
        problems.append(f"{where}: set `num_rows` or `conditions`, not both: the conditions' `rows` add up to the rows sampled.")
    for index, condition in enumerate(table.conditions, start=1):
        if condition.rows < 1 or not condition.values:
            problems.append(f"{where}: `conditions[{index}]` needs `values` and `rows` of at least 1; got {condition.model_dump()}.")
        named = sorted(set(condition.values) & (set(table.exclude_columns) | set(table.pii)))
        if named:
            problems.append(f"{where}: `conditions[{index}]` fixes {named}, which are left out or generated fresh (`exclude_columns`, `pii`).")
    problems += _rebalance_problems(table, where) + _fairness_problems(table, where)
    wanted = [table.candidate_backend(n) for n in table.auto_candidates] if table.backend == AUTO else [table.backend]
    for name in wanted:
        entry = BACKENDS.get(name)
        if entry is not None and not entry.capabilities.conditions:
            problems.append(f"{where}: {entry.label} does not sample under `{setting}`; choose another synthesizer or remove it.")
        if entry is not None and entry.capabilities.rules_by_rejection and table.enforced_rules:
            problems.append(
                f"{where}: {entry.label} enforces rules by drawing again, which `{setting}` would bias; set `enforce: false` on the "
                f"rules or remove `{setting}`."
            )
    return problems


def _partial_problems(table: TableConfig, where: str) -> list[str]:
    """`synthesize_columns` and `impute` keep real rows; they combine with no other way of sampling."""
    chosen = [name for name in ("synthesize_columns", "impute") if getattr(table, name)]
    if not chosen:
        return []
    setting, problems = chosen[0], []
    if len(chosen) > 1:
        problems.append(f"{where}: set `synthesize_columns` or `impute`, not both; a table is partially synthetic or hybrid.")
    others = [name for name in ("conditions", "rebalance", "fairness", "num_rows", "sequence") if getattr(table, name)]
    if others:
        problems.append(f"{where}: `{setting}` keeps the real rows, one row per training row; remove {', '.join(f'`{o}`' for o in others)}.")
    for name in chosen:
        columns = getattr(table, name)
        bad = sorted(c for c in columns if _left_out(table, c))
        if bad:
            problems.append(f"{where}: `{name}` names {bad}, which are left out or personal (`exclude_columns`, `pii`); name learned columns.")
        if len(set(columns)) < len(columns):
            problems.append(f"{where}: `{name}` names a column more than once: {columns}.")
    entry = BACKENDS.get(table.backend)
    if table.backend == AUTO or (entry is not None and not entry.capabilities.conditions):
        label = "auto" if table.backend == AUTO else entry.label  # type: ignore[union-attr]
        problems.append(f"{where}: `{setting}` needs a synthesizer that generates given known values; {label} does not. Choose argn or gaussian_copula.")
    return problems


def _left_out(table: TableConfig, column: str) -> bool:
    return column in table.exclude_columns or column in table.pii


def _rebalance_problems(table: TableConfig, where: str) -> list[str]:
    rebalance = table.rebalance
    if rebalance is None:
        return []
    problems = []
    if _left_out(table, rebalance.column):
        problems.append(f"{where}: `rebalance.column` {rebalance.column!r} is left out or personal (`exclude_columns`, `pii`); choose a learned column.")
    if not rebalance.shares:
        problems.append(f"{where}: `rebalance.shares` is empty; name at least one class and its share, e.g. {{Yes: 0.3}}.")
    bad = {c: s for c, s in rebalance.shares.items() if not 0.0 < s <= 1.0}
    if bad:
        problems.append(f"{where}: `rebalance.shares` must each be above 0 and at most 1; got {bad}.")
    total = sum(rebalance.shares.values())
    if total > 1.0 + 1e-9:
        problems.append(f"{where}: `rebalance.shares` add up to {total:.4g}, more than 1; lower them so the rest is left for the other classes.")
    return problems


def _fairness_problems(table: TableConfig, where: str) -> list[str]:
    fairness = table.fairness
    if fairness is None:
        return []
    problems = []
    if fairness.target == fairness.sensitive:
        problems.append(f"{where}: `fairness.target` and `fairness.sensitive` are both {fairness.target!r}; name two columns.")
    for setting, column in (("target", fairness.target), ("sensitive", fairness.sensitive)):
        if _left_out(table, column):
            problems.append(f"{where}: `fairness.{setting}` {column!r} is left out or personal (`exclude_columns`, `pii`); choose a learned column.")
    if not 0.0 <= fairness.max_parity_gap <= 1.0:
        problems.append(f"{where}: `fairness.max_parity_gap` must be between 0 and 1; got {fairness.max_parity_gap}.")
    entry = BACKENDS.get(table.backend)
    if fairness.method == "engine" and not (entry is not None and entry.capabilities.fairness):
        label = table.backend if entry is None else entry.label
        problems.append(f"{where}: `fairness.method: engine` needs a synthesizer with a fairness mode of its own (argn); {label} has none. Use `method: conditions`.")
    return problems
