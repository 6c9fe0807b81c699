"""The checks only a sequence table has: every synthetic sequence well formed (blocking), and
its mean length near the real one (warns).
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.split import SourceSplit, length_drift, sequence_problems
from synthpipe.config import TableConfig

__all__ = ["CHECK_SEQUENCES", "CHECK_SEQUENCE_LENGTHS", "SEQUENCE_LENGTH_TOLERANCE", "sequence_results", "sequence_specs"]

CHECK_SEQUENCES = "sequences"
CHECK_SEQUENCE_LENGTHS = "sequence_lengths"
# Mean synthetic sequence length this far (relative) from the real one raises a warning.
SEQUENCE_LENGTH_TOLERANCE = 0.5


def sequence_specs(table: TableConfig, synthetic_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    assert table.sequence is not None
    return [
        dg.AssetCheckSpec(
            CHECK_SEQUENCES,
            asset=synthetic_key,
            blocking=True,
            description=f"Every synthetic sequence has an entity, is ordered by `{table.sequence.order_by}` and is at most twice as long as the longest real one.",
        ),
        dg.AssetCheckSpec(
            CHECK_SEQUENCE_LENGTHS,
            asset=synthetic_key,
            blocking=False,
            description=f"Mean synthetic sequence length within {SEQUENCE_LENGTH_TOLERANCE:.0%} of the real mean (warns, does not block).",
        ),
    ]


def sequence_results(table: TableConfig, split: SourceSplit, data: pd.DataFrame) -> list[dg.AssetCheckResult]:
    assert table.sequence is not None
    entity, order_by = table.sequence.entity_key, table.sequence.order_by
    real_lengths = split.train.groupby(entity).size()
    lengths = data.groupby(entity).size()
    problems = sequence_problems(data, entity, order_by, real_lengths)
    drift = length_drift(data, entity, real_lengths)
    metadata = {
        keys.SEQUENCES: len(lengths),
        keys.MEAN_SEQUENCE_LENGTH: dg.FloatMetadataValue(round(float(lengths.mean()), 3)),
        keys.REAL_MEAN_SEQUENCE_LENGTH: dg.FloatMetadataValue(round(float(real_lengths.mean()), 3)),
        keys.MAX_SEQUENCE_LENGTH: int(lengths.max()),
        keys.REAL_MAX_SEQUENCE_LENGTH: int(real_lengths.max()),
        keys.SEQUENCE_LENGTH_DRIFT: dg.FloatMetadataValue(round(drift, 4)),
    }
    return [
        dg.AssetCheckResult(
            check_name=CHECK_SEQUENCES,
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(problems) or None,
            metadata=metadata,
        ),
        dg.AssetCheckResult(
            check_name=CHECK_SEQUENCE_LENGTHS,
            passed=drift <= SEQUENCE_LENGTH_TOLERANCE,
            severity=dg.AssetCheckSeverity.WARN,
            description=None
            if drift <= SEQUENCE_LENGTH_TOLERANCE
            else f"mean sequence length is {drift:.0%} away from the real mean (tolerance {SEQUENCE_LENGTH_TOLERANCE:.0%})",
            metadata=metadata,
        ),
    ]
