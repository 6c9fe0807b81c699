"""Relational groups on SDV's multi-table API: metadata with declared keys, HMA fitting and
seeded `sample_scale`, plus the pure checks on keys (orphans in the source, referential
integrity of the synthetic set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthpipe.config import ForeignKeyConfig, GroupConfig
from synthpipe.errors import SourceError, SynthesizerError

__all__ = [
    "OrphanCount",
    "build_group_metadata",
    "context_foreign_keys",
    "effective_foreign_keys",
    "find_orphans",
    "integrity_problems",
    "resolve_orphans",
    "sample_group",
]


def _key(value: str | list[str]) -> str:
    return value[0] if isinstance(value, list) else value


@dataclass(frozen=True)
class OrphanCount:
    foreign_key: str
    rows: int
    examples: list[Any]

    def describe(self) -> str:
        return f"{self.foreign_key}: {self.rows} rows (e.g. {self.examples[:3]})"


def find_orphans(tables: Mapping[str, pd.DataFrame], foreign_keys: Sequence[ForeignKeyConfig]) -> list[OrphanCount]:
    """Child rows whose non-empty foreign key has no parent row, per foreign key."""
    found = []
    for fk in foreign_keys:
        child = tables[fk.child][_key(fk.child_key)]
        parents = set(tables[fk.parent][_key(fk.parent_key)].dropna())
        orphaned = child.notna() & ~child.isin(parents)
        if orphaned.any():
            examples = child[orphaned].drop_duplicates().head(5).tolist()
            found.append(OrphanCount(fk.label(), int(orphaned.sum()), examples))
    return found


def effective_foreign_keys(group: GroupConfig, tables: Mapping[str, pd.DataFrame]) -> list[ForeignKeyConfig]:
    """The declared foreign keys, or the ones SDV detects when none are declared."""
    if group.foreign_keys:
        return list(group.foreign_keys)
    from sdv.metadata import Metadata

    return foreign_keys_of(Metadata.detect_from_dataframes(dict(tables)))


def context_foreign_keys(foreign_keys: Sequence[ForeignKeyConfig]) -> dict[str, ForeignKeyConfig]:
    """Each child's context key (TabularARGN generates the child against that parent): the one
    marked `context: true`, else the child's first key not marked `context: false`."""
    chosen: dict[str, ForeignKeyConfig] = {}
    for fk in foreign_keys:
        if fk.context:
            chosen[fk.child] = fk
    for fk in foreign_keys:
        if fk.child not in chosen and fk.context is not False and fk.parent != fk.child:
            chosen[fk.child] = fk
    return chosen


def resolve_orphans(
    group: GroupConfig, tables: dict[str, pd.DataFrame], foreign_keys: Sequence[ForeignKeyConfig]
) -> tuple[dict[str, pd.DataFrame], list[OrphanCount]]:
    """Applies the group's `orphans` policy; `error` raises with every orphaned key listed."""
    orphans = find_orphans(tables, foreign_keys)
    if not orphans:
        return tables, []
    if group.orphans == "error":
        listed = "; ".join(o.describe() for o in orphans)
        raise SourceError(
            f"Group {group.name!r}: foreign keys with no parent row in the source: {listed}. Set `orphans: drop` "
            "(remove those child rows) or `orphans: null` (keep them with an empty key) on the group, or fix the source."
        )
    fixed = dict(tables)
    for fk in foreign_keys:
        child, key = fixed[fk.child], _key(fk.child_key)
        parents = set(fixed[fk.parent][_key(fk.parent_key)].dropna())
        orphaned = child[key].notna() & ~child[key].isin(parents)
        if group.orphans == "drop":
            fixed[fk.child] = child[~orphaned].reset_index(drop=True)
        else:
            fixed[fk.child] = child.assign(**{key: child[key].where(~orphaned)})
    return fixed, orphans


def integrity_problems(
    tables: Mapping[str, pd.DataFrame], primary_keys: Mapping[str, str], foreign_keys: Sequence[ForeignKeyConfig]
) -> list[str]:
    """Referential integrity of a set of tables: unique, non-empty primary keys and foreign keys
    that all resolve.
    """
    problems = []
    for table, key in primary_keys.items():
        column = tables[table][key]
        if column.isna().any():
            problems.append(f"{table}.{key}: {int(column.isna().sum())} empty primary keys")
        if column.duplicated().any():
            problems.append(f"{table}.{key}: {int(column.duplicated().sum())} duplicated primary keys")
    problems += [f"{o.describe()} do not resolve" for o in find_orphans(tables, foreign_keys)]
    return problems


def build_group_metadata(group: GroupConfig, tables: Mapping[str, pd.DataFrame]) -> Any:
    """SDV metadata for the group: detected, then the declared keys and relationships applied."""
    from sdv.metadata import Metadata

    from synthpipe.resources.metadata import set_pii, undo_personal_guesses

    metadata = Metadata.detect_from_dataframes(dict(tables))
    for table in group.tables:  # only declared columns are replaced; SDV's name-based guesses are learned
        if table.name in tables:
            undo_personal_guesses(metadata, table.name, tables[table.name], keep=set(table.metadata_overrides) | set(table.pii))
    if group.foreign_keys:
        for relation in list(metadata.relationships):
            metadata.remove_relationship(relation["parent_table_name"], relation["child_table_name"])
    try:
        for table in group.tables:
            if table.primary_key is not None:
                _set_primary_key(metadata, table.name, _key(table.primary_key), tables)
        for fk in group.foreign_keys:
            parent_key = _key(fk.parent_key)
            if metadata.tables[fk.parent].primary_key != parent_key:
                _set_primary_key(metadata, fk.parent, parent_key, tables)
            metadata.update_column(column_name=_key(fk.child_key), sdtype="id", table_name=fk.child)
            metadata.add_relationship(fk.parent, fk.child, parent_key, _key(fk.child_key))
        for table in group.tables:
            for column, override in table.metadata_overrides.items():
                values = dict(override)
                metadata.update_column(column_name=column, table_name=table.name, sdtype=values.pop("sdtype"), **values)
            for column, kind in table.pii.items():
                set_pii(metadata, table.name, tables[table.name], column, kind)
        metadata.validate()
    except SynthesizerError:
        raise
    except Exception as error:  # SDV raises several metadata error types
        raise SynthesizerError(f"Group {group.name!r}: SDV rejected the keys or column overrides: {error}") from None
    return metadata


def _set_primary_key(metadata: Any, table: str, column: str, tables: Mapping[str, pd.DataFrame]) -> None:
    if column not in tables[table].columns:
        raise SynthesizerError(
            f"Table {table!r}: key column {column!r} is not in the source. Columns: {', '.join(tables[table].columns)}."
        )
    metadata.update_column(column_name=column, sdtype="id", table_name=table)
    metadata.set_primary_key(column_name=column, table_name=table)


def primary_keys(metadata: Any) -> dict[str, str]:
    return {name: table.primary_key for name, table in metadata.tables.items() if isinstance(table.primary_key, str)}


def foreign_keys_of(metadata: Any) -> list[ForeignKeyConfig]:
    """The relationships SDV uses, as configuration entries (to show and to check)."""
    return [
        ForeignKeyConfig(
            parent=r["parent_table_name"],
            parent_key=r["parent_primary_key"],
            child=r["child_table_name"],
            child_key=r["child_foreign_key"],
        )
        for r in metadata.relationships
    ]


def sample_group(synthesizer: Any, scale: float, seed: int) -> dict[str, pd.DataFrame]:
    """Samples the whole group at `scale` reproducibly: same model and seed, same tables."""
    from synthpipe.resources.backends import backend_of

    sampled = backend_of(synthesizer).sample(synthesizer, scale, seed)
    return {name: frame.reset_index(drop=True) for name, frame in sampled.items()}
