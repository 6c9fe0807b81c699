"""The source stage: read, refuse, guard, split; the same asset for every kind of table.

`<unit>/source` reads the unit's real rows from the source resource, refuses what cannot be
synthesized safely (`assets.inspection`), runs the user suites that guard the source, holds out
rows that are never published and profiles the rest (`assets.split`). The kind decides what is
read and how it is split (`Kind.read`); the members' shared steps are here.
"""


from collections.abc import Sequence

import dagster as dg
import pandas as pd
import pyarrow as pa

from synthpipe.assets.inspection import PersonalHint, free_text_columns, looks_personal, pii_line, refuse
from synthpipe.assets.kinds import Kind
from synthpipe.assets.translator import stage_asset
from synthpipe.errors import SynthpipeError
from synthpipe.expectations.suites import UserSuite, missing_columns
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.synthesizers import check_modelable

__all__ = ["drop_excluded", "read_member", "refuse_free_text", "refuse_missing_suite_columns", "source_asset", "warn_looks_personal"]


def source_asset(kind: Kind, spec: dg.AssetSpec, pool: str | None = None) -> dg.AssetsDefinition:
    """`<unit>/source`: its value is what the kind's later stages read (a split, or a group's
    tables). `pool`: the Dagster pool whose limit bounds the reads of the source at once."""

    @stage_asset(spec, check_specs=kind.guard_specs(spec.key), pool=pool)
    def source(
        context: dg.AssetExecutionContext, synthpipe_source: SourceResource, synthpipe_data_docs: DataDocsFolder
    ):  # no return annotation: with check specs, Dagster would read it as a tuple of outputs
        read = kind.read(context, synthpipe_source, synthpipe_data_docs)
        return dg.MaterializeResult(value=read.value, metadata=read.metadata, check_results=read.checks)

    return source


def drop_excluded(table: object, arrow: pa.Table) -> pa.Table:
    """The source rows without the table's `exclude_columns`; an unknown name is an error."""
    excluded: Sequence[str] = getattr(table, "exclude_columns")
    missing = [c for c in excluded if c not in arrow.column_names]
    if missing:
        raise SynthpipeError(
            f"Table {getattr(table, 'name')!r}: `exclude_columns` names columns the source does not have: {missing}. "
            f"Source columns: {', '.join(arrow.column_names)}."
        )
    return arrow.drop_columns(list(excluded)) if excluded else arrow


def read_member(table: object, source: SourceResource) -> pa.Table:
    """One configured table's rows: read (with its `query` and `row_limit`), less its
    `exclude_columns`, every column of a type synthpipe models."""
    read = source.read_table(getattr(table, "source_name"), query=getattr(table, "query"), limit=getattr(table, "row_limit"))
    arrow = drop_excluded(table, read)
    check_modelable(getattr(table, "name"), arrow.schema)
    return arrow


def refuse_missing_suite_columns(members: Sequence[tuple[str, Sequence[UserSuite], Sequence[str]]]) -> None:
    """Every user suite naming a column its table lacks, for each (label, suites, columns), at once."""
    problems = [p for label, suites, columns in members for p in missing_columns(list(suites), list(columns), label)]
    if problems:
        raise SynthpipeError("\n".join(problems))


def refuse_free_text(
    label: str, table: str, rows: pd.DataFrame, sdtypes: dict[str, str], min_count: int, declared: set[str]
) -> None:
    """Refuses the table's undeclared free text (`assets.inspection.free_text_columns`)."""
    refuse(label, free_text_columns(table, rows, sdtypes, min_count, declared))


def warn_looks_personal(
    context: dg.AssetExecutionContext, label: str, rows: pd.DataFrame, declared: set[str], guessed: Sequence[str] = ()
) -> list[PersonalHint]:
    """Warns about columns that look personal (never replaced: only `pii` columns are), with
    the `pii:` line that would declare them. Returns the hints."""
    hints = looks_personal(rows, declared, guessed)
    if hints:
        listed = "; ".join(f"{h.column!r}: {h.reason}" for h in hints)
        context.log.warning(
            f"Table {label!r}: columns that look personal are learned from their real values, as configured: {listed}. "
            f"synthpipe replaces only declared columns; to generate these fresh instead, add to the table: {pii_line(hints)}"
        )
    return hints
