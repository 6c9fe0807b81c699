"""The sequence kind: a table whose rows are sequences of an entity ordered in time (`sequence:`
in the table's configuration), modelled by SDV's PAR.

It is the single-table kind with whole entities on each side of the holdout, the entity key
and order column in the model's metadata, `num_sequences` sampled whole, and two checks of its
own (`assets.checks.sequences`).
"""

from __future__ import annotations

import dataclasses
import time

import dagster as dg
import pandas as pd
import pyarrow as pa

from synthpipe.assets.checks.sequences import sequence_results, sequence_specs
from synthpipe.assets.kinds import register_kind
from synthpipe.assets.kinds.single import SingleTable
from synthpipe.assets.records import FittedModel, StagedSample
from synthpipe.assets.split import SourceSplit, split_sequences
from synthpipe.config import SequenceConfig, TableConfig
from synthpipe.errors import closest
from synthpipe.resources.fingerprints import fingerprint
from synthpipe.resources.snapshots import StagedWriter
from synthpipe.resources.synthesizers import sample_sequences

__all__ = ["SequenceTable"]


@dataclasses.dataclass(frozen=True)
class SequenceTable(SingleTable):
    """A table with `sequence: {entity_key, order_by, context_columns}`."""

    @property
    def sequence(self) -> SequenceConfig:
        assert self.config.sequence is not None
        return self.config.sequence

    def sequence_key(self) -> tuple[str, str]:
        return self.sequence.entity_key, self.sequence.order_by

    def context_columns(self) -> tuple[str, ...]:
        return tuple(self.sequence.context_columns)

    def refusals(self, arrow: pa.Table) -> list[str]:
        named = (self.sequence.entity_key, self.sequence.order_by, *self.sequence.context_columns)
        missing = [c for c in named if c not in arrow.column_names]
        if not missing:
            return []
        hints = "".join(closest(c, arrow.column_names) for c in missing)
        return [f"`sequence` names columns the source does not have: {missing}.{hints} Columns: {', '.join(arrow.column_names)}."]

    def split(self, arrow: pa.Table) -> SourceSplit:
        return split_sequences(arrow, self.config.holdout_fraction, self.config.split_seed, self.sequence.entity_key)

    def lenient_columns(self) -> list[str]:
        return [self.sequence.order_by]  # synthetic timestamps are new values by design

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return [*super().check_specs(key), *sequence_specs(self.config, key)]

    def extra_results(self, split: SourceSplit, data: pd.DataFrame) -> list[dg.AssetCheckResult]:
        return sequence_results(self.config, split, data)

    def sample_into(
        self, context: dg.AssetExecutionContext, read: SourceSplit, fitted: FittedModel, synthesizer: object, seed: int, writer: StagedWriter
    ) -> StagedSample:
        """`num_sequences` whole sequences (default: as many as the source has entities)."""
        started, entity = time.perf_counter(), self.sequence.entity_key
        num_sequences = self.config.num_sequences or pd.concat([read.train[entity], read.holdout[entity]]).nunique()
        context.log.info(f"Sampling {num_sequences} sequences from {fitted.model_name} v{fitted.model_version} with seed {seed}")
        data = sample_sequences(synthesizer, int(num_sequences), seed)
        writer.write(data)
        return StagedSample(str(writer.folder), len(data), fingerprint(data), data, seed, 0, time.perf_counter() - started)


register_kind(lambda config: isinstance(config, TableConfig) and config.sequence is not None, SequenceTable)
