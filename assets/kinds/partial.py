"""Partially synthetic and hybrid tables: real training rows with some cells generated.

- `synthesize_columns`: every training row keeps its real values except the named (sensitive)
  columns, which are generated given the row's other values.
- `impute`: every training row keeps its real values; the missing values of the named columns
  are drawn given the row's known values, and `<column>__imputed` marks each generated cell.

The model is fitted like a single table's; sampling is the backend's seeded generation with
the kept values as seed rows (`sample_remaining`). The holdout rows never appear in the
published table: they get the same columns generated, so the privacy gates can compare how well
the model reproduces rows it learned with rows it never saw (`assets.evaluation.partial`).
Such a table still holds real values and is no twin to hand out where a fully synthetic one is
needed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from synthpipe import metadata_keys as keys
from synthpipe.assets.kinds import Evaluation, register_kind
from synthpipe.assets.kinds.single import SingleTable
from synthpipe.assets.records import FittedModel, StagedSample
from synthpipe.assets.sample import stage_chunks
from synthpipe.assets.split import SourceSplit
from synthpipe.config import TableConfig
from synthpipe.errors import SynthesizerError
from synthpipe.resources.backends import backend_of
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.snapshots import DeltaSnapshotStore, StagedWriter
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["IMPUTED_SUFFIX", "PartialTable", "generate_cells"]

IMPUTED_SUFFIX = "__imputed"


# A model that learned a column's missing share may draw an empty cell; those are drawn again.
_REDRAWS = 10


def generate_cells(
    table: str, synthesizer: Any, rows: pd.DataFrame, columns: list[str], seed: int, gaps_only: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`rows` with the cells of `columns` generated given each row's known values: every cell,
    or with `gaps_only` the missing ones. Rows are grouped by which cells they miss, and each
    group is conditioned on all it knows; a generated cell that comes back empty is drawn again.
    Returns the rows and a frame of booleans marking the generated cells."""
    rows = rows.reset_index(drop=True)
    absent = rows.isna()
    if not gaps_only:
        absent[columns] = True
    out = _draw(table, synthesizer, rows, absent, columns, seed)
    marked = absent[columns]
    for attempt in range(1, _REDRAWS + 1):
        empty = out[columns].isna() & marked
        if not empty.to_numpy().any():
            break
        again = empty.any(axis=1)
        out.loc[again] = _draw(table, synthesizer, out.loc[again], out.loc[again].isna(), columns, seed + 1000 * attempt).to_numpy()
    if (out[columns].isna() & marked).to_numpy().any():
        raise SynthesizerError(f"Table {table!r}: the model kept drawing empty values for {columns} after {_REDRAWS} tries; train it longer.")
    return out.astype(rows.dtypes.to_dict(), errors="ignore"), marked


def _draw(table: str, synthesizer: Any, rows: pd.DataFrame, absent: pd.DataFrame, columns: list[str], seed: int) -> pd.DataFrame:
    """`rows` with their `absent` cells of `columns` drawn, group by group of rows missing the same cells."""
    entry, out = backend_of(synthesizer), rows.copy()
    for index, (pattern, group) in enumerate(absent.groupby(list(absent.columns), sort=True)):
        drawn_columns = [c for c, gap in zip(absent.columns, pattern) if gap and c in columns]
        if not drawn_columns:
            continue
        known = rows.loc[group.index, [c for c, gap in zip(absent.columns, pattern) if not gap]]
        drawn = entry.sample_remaining(synthesizer, known, seed + index)
        if len(drawn) != len(known):
            raise SynthesizerError(
                f"Table {table!r}: the model generated {len(drawn)} rows for {len(known)} rows given their known values ({', '.join(known.columns)}); "
                "Gaussian copula and the GANs draw such rows by rejection and may give up. Use `synthesizer: argn`, whose seeded "
                "generation answers every row."
            )
        out.loc[group.index, drawn_columns] = drawn[drawn_columns].to_numpy()
    return out


@dataclasses.dataclass(frozen=True)
class PartialTable(SingleTable):
    """A table configured with `synthesize_columns` or `impute`."""

    @property
    def generated(self) -> list[str]:
        return self.config.synthesize_columns or self.config.impute

    @property
    def hybrid(self) -> bool:
        return bool(self.config.impute)

    def lenient_columns(self) -> list[str]:
        return list(self.generated)

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        # A hybrid table is the real rows with gaps filled: whether a row equals its source row says
        # nothing about the filled cells (its `dcr` compares the imputer on training and holdout rows).
        return [s for s in super().check_specs(key) if not (self.hybrid and s.name == "exact_copies")]

    def sample(
        self, context: dg.AssetExecutionContext, read: SourceSplit, fitted: FittedModel, tracker: MlflowTracker, store: DeltaSnapshotStore
    ) -> StagedSample:
        schema = read.schema
        if self.hybrid and schema is not None:  # one boolean companion per imputed column
            schema = pa.schema([*schema, *(pa.field(c + IMPUTED_SUFFIX, pa.bool_()) for c in self.generated)])
        read = dataclasses.replace(read, schema=schema)
        return super().sample(context, read, fitted, tracker, store)

    def sample_into(
        self, context: dg.AssetExecutionContext, read: SourceSplit, fitted: FittedModel, synthesizer: Any, seed: int, writer: StagedWriter
    ) -> StagedSample:
        table, started, rows = self.config, time.perf_counter(), read.fit
        what = "Filling the missing values of" if self.hybrid else "Generating"
        context.log.info(f"{what} {self.generated} in {len(rows)} real training rows with {fitted.model_name} v{fitted.model_version}, seed {seed}")
        published, cells = generate_cells(table.name, synthesizer, rows, self.generated, seed, self.hybrid)
        holdout, _ = generate_cells(table.name, synthesizer, read.holdout, self.generated, seed + 1, False)
        sample = published.head(table.evaluation_rows)
        regenerated = generate_cells(table.name, synthesizer, rows.head(len(sample)), self.generated, seed + 2, False)[0] if self.hybrid else None
        staged = published.assign(**{c + IMPUTED_SUFFIX: cells[c] for c in self.generated}) if self.hybrid else published
        row_hash, _ = stage_chunks(writer, [staged], len(staged), len(staged))
        context.log.info(f"Generated {int(cells.to_numpy().sum())} cells of {cells.size} in {time.perf_counter() - started:.1f} s")
        return StagedSample(
            str(writer.folder), writer.rows, row_hash, sample, seed, 0, time.perf_counter() - started,
            holdout_generated=holdout, training_generated=regenerated, generated_cells=cells.head(len(sample)) if self.hybrid else None,
        )

    def evaluate(
        self, context: dg.AssetExecutionContext, read: SourceSplit, sampled: StagedSample, fitted: FittedModel,
        tracker: MlflowTracker, docs: DataDocsFolder,
    ) -> Evaluation:
        evaluation = super().evaluate(context, read, sampled, fitted, tracker, docs)
        declared = {s.name for s in self.check_specs(dg.AssetKey("unit"))}
        kept = self._kept_share(sampled)
        tracker.log_metrics(fitted.mlflow_run_id, {"real_cells_kept_share": kept})
        tracker.log_params(fitted.mlflow_run_id, {("impute" if self.hybrid else "synthesize_columns"): ",".join(self.generated)})
        metadata = {**evaluation.metadata, keys.REAL_CELLS_KEPT: dg.FloatMetadataValue(round(kept, 4))}
        return dataclasses.replace(evaluation, results=[r for r in evaluation.results if r.check_name in declared], metadata=metadata)

    def _kept_share(self, sampled: StagedSample) -> float:
        """The share of the published cells that are real."""
        cells = sampled.generated_cells
        generated = float(cells.to_numpy().mean()) * len(self.generated) if cells is not None else len(self.generated)
        return 1.0 - generated / max(sampled.sample.shape[1], 1)

    def publish(self, context: dg.AssetExecutionContext, candidate: Any, store: DeltaSnapshotStore, commit: dict[str, Any]) -> dict[str | None, Any]:
        setting = "impute" if self.hybrid else "synthesize_columns"
        return super().publish(context, candidate, store, {**commit, keys.GENERATED_COLUMNS: json.dumps({setting: self.generated})})


register_kind(lambda config: isinstance(config, TableConfig) and config.kept_real and config.sequence is None, PartialTable)
