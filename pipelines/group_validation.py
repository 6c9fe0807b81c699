"""Checks of a relational group's configuration (`synthpipe.group_config`) before any fitting:
names, keys, relationships, what the group's backend can model (HMA's 5 tables and one level;
TabularARGN's one context key per child), and the group's gates."""

from __future__ import annotations

from synthpipe.config import GroupConfig
from synthpipe.config_base import NAME_PATTERN
from synthpipe.errors import closest
from synthpipe.resources.backends import BACKENDS
from synthpipe.shared_validation import duplicate_problems, evaluated_problems

__all__ = ["group_problems"]


_GROUP_OPTIONS = "split the group into smaller groups, drop a table from it, or synthesize some tables on their own under `tables`"


def _group_options(group: GroupConfig) -> str:
    if not BACKENDS[group.backend].capabilities.contexts:
        return f"set `synthesizer: argn` (TabularARGN takes any number of tables and levels), {_GROUP_OPTIONS}"
    return _GROUP_OPTIONS


def group_problems(group: GroupConfig) -> list[str]:
    where = f"group {group.name!r}"
    model = BACKENDS[group.backend]
    most_tables, most_levels = model.capabilities.max_tables, model.capabilities.max_depth
    problems = []
    names = [t.name for t in group.tables]
    for name in [group.name, *names]:
        if not NAME_PATTERN.match(name):
            problems.append(f"{where}: name {name!r} must be letters, digits and underscores (it becomes an asset key).")
    problems += [f"{where}: {p}" for p in duplicate_problems(names)]
    if len(names) < 2:
        problems.append(f"{where}: a group needs at least two related tables; declare a single table under `tables`.")
    if most_tables is not None and len(names) > most_tables:
        problems.append(f"{where}: has {len(names)} tables; {model.label} models at most {most_tables}. Options: {_group_options(group)}.")
    for table in group.tables:
        if isinstance(table.primary_key, list) and len(table.primary_key) > 1:
            problems.append(f"{where}: table {table.name!r} has a composite primary key {table.primary_key}; {_COMPOSITE_FIX}")
    for fk in group.foreign_keys:
        for end in (fk.parent, fk.child):
            if end not in names:
                problems.append(f"{where}: foreign key {fk.label()} names table {end!r}, which is not in the group.{closest(end, names)}")
        if any(isinstance(k, list) and len(k) > 1 for k in (fk.parent_key, fk.child_key)):
            problems.append(f"{where}: foreign key {fk.label()} is composite; {_COMPOSITE_FIX}")
    for fk in group.foreign_keys:
        if fk.parent == fk.child:
            problems.append(
                f"{where}: foreign key {fk.label()} points at its own table; {model.label} models no self-references. "
                f"Options: leave it out of `foreign_keys` and add {fk.child_key!r} to the table's `exclude_columns`, "
                "or move the referenced rows into a table of their own."
            )
    problems += _context_problems(group, where, model.label)
    depth = _depth(group)
    if depth is None and not any(fk.parent == fk.child for fk in group.foreign_keys):
        problems.append(f"{where}: its foreign keys form a cycle; relational synthesizers need a tree of parents and children.")
    elif most_levels is not None and depth > most_levels:
        problems.append(
            f"{where}: relationships are {depth} levels deep (a parent's child has children); {model.label} handles "
            f"{'one level' if most_levels == 1 else f'{most_levels} levels'}. Options: {_group_options(group)}."
        )
    if group.scale <= 0:
        problems.append(f"{where}: `scale` must be above 0; got {group.scale}. 1.0 keeps the source's size.")
    problems += evaluated_problems(group, where)
    children = {fk.child for fk in group.foreign_keys}
    if group.target is not None and group.foreign_keys and group.target.table not in children:
        problems.append(
            f"{where}: `target.table` {group.target.table!r} must be a child table (only child tables have a holdout); "
            f"children here: {', '.join(sorted(children)) or '(none)'}."
        )
    return problems


def _context_problems(group: GroupConfig, where: str, label: str) -> list[str]:
    """TabularARGN generates each child against one parent, its context."""
    marked = [fk for fk in group.foreign_keys if fk.context is not None]
    if not BACKENDS[group.backend].capabilities.contexts:
        return [f"{where}: `context` on foreign key {marked[0].label()} is TabularARGN's; {label} models every key alike. Remove it, or set `synthesizer: argn`."] if marked else []
    problems = []
    for child in sorted({fk.child for fk in group.foreign_keys}):
        contexts = [fk.label() for fk in group.foreign_keys if fk.child == child and fk.context]
        if len(contexts) > 1:
            problems.append(
                f"{where}: table {child!r} has {len(contexts)} context keys ({'; '.join(contexts)}); {label} generates a table against "
                "one parent. Keep `context: true` on one; the others become references, drawn among their parent's synthetic rows."
            )
    return problems


_COMPOSITE_FIX = (
    "SDV's relational synthesizers need single-column keys. Add a surrogate key column (for example in a "
    "`query` that concatenates the columns) or leave the table out of the group."
)


def _depth(group: GroupConfig) -> int | None:
    """Longest chain of parent -> child edges, or None when the edges form a cycle."""
    children: dict[str, set[str]] = {}
    for fk in group.foreign_keys:
        if fk.parent != fk.child:
            children.setdefault(fk.parent, set()).add(fk.child)
        else:
            return None

    def longest(node: str, seen: frozenset[str]) -> int | None:
        best = 0
        for child in children.get(node, ()):
            if child in seen:
                return None
            below = longest(child, seen | {child})
            if below is None:
                return None
            best = max(best, below + 1)
        return best

    depths = [longest(t.name, frozenset({t.name})) for t in group.tables]
    return None if any(d is None for d in depths) else max(depths, default=0)
