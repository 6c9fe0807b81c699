"""The checks on a single table's synthetic candidate: declared when definitions load, their
results built from the measures at run time. Gates with severity `error` block publication.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from synthpipe.assets.common import property_metadata
from synthpipe.assets.evaluation import QualityResult
from synthpipe.assets.gates import gate_result, gate_spec
from synthpipe.assets.leaks import LeakResult
from synthpipe.assets.privacy import PrivacyResult
from synthpipe.assets.stages import SourceSplit, length_drift, sequence_problems
from synthpipe.assets.suite_checks import user_suite_specs
from synthpipe import metadata_keys as keys
from synthpipe.config import TableConfig

__all__ = [
    "CHECK_DCR",
    "CHECK_EXACT_COPIES",
    "CHECK_EXPECTATIONS",
    "CHECK_QUALITY",
    "CHECK_SEQUENCES",
    "CHECK_SEQUENCE_LENGTHS",
    "CHECK_UTILITY",
    "CHECK_VALUE_LEAKS",
    "check_specs",
    "gate_results",
    "sequence_results",
    "value_leak_result",
]

CHECK_EXPECTATIONS = "expectations"
CHECK_QUALITY = "quality"
CHECK_EXACT_COPIES = "exact_copies"
CHECK_DCR = "dcr"
CHECK_VALUE_LEAKS = "value_leaks"
CHECK_UTILITY = "utility"
CHECK_SEQUENCES = "sequences"
CHECK_SEQUENCE_LENGTHS = "sequence_lengths"
# Mean synthetic sequence length this far (relative) from the real one raises a warning.
SEQUENCE_LENGTH_TOLERANCE = 0.5


def check_specs(table: TableConfig, synthetic_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The checks on the synthetic candidate: declared at load time, run with the sample."""
    specs = [
        dg.AssetCheckSpec(
            CHECK_EXPECTATIONS,
            asset=synthetic_key,
            blocking=True,
            description="Great Expectations suite derived from the source profile: columns, types, nulls, ranges, categories, row count.",
        ),
        gate_spec(CHECK_QUALITY, synthetic_key, table.quality_threshold, table.severity(CHECK_QUALITY)),
        gate_spec(CHECK_EXACT_COPIES, synthetic_key, table.max_exact_copy_share, table.severity(CHECK_EXACT_COPIES)),
        gate_spec(CHECK_DCR, synthetic_key, table.max_dcr_closer_share, table.severity(CHECK_DCR)),
        gate_spec(CHECK_VALUE_LEAKS, synthetic_key, table.max_value_leak_share, table.severity(CHECK_VALUE_LEAKS)),
    ]
    specs += user_suite_specs("suite", table.suites, synthetic_key)
    if table.target:
        specs.append(gate_spec(CHECK_UTILITY, synthetic_key, table.min_utility_ratio, table.severity(CHECK_UTILITY)))
    if table.sequence:
        specs += [
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
    return specs


def value_leak_result(check_name: str, leaks: LeakResult, threshold: float, severity: str, min_count: int) -> dg.AssetCheckResult:
    """The `value_leaks` gate: worst column's share, the worst columns with counts (no values)."""
    metadata = {
        keys.VALUE_LEAK_SHARE: dg.FloatMetadataValue(round(leaks.share, 6)),
        keys.VALUE_LEAK_COLUMNS: dg.MetadataValue.md(leaks.table()) if leaks.columns else dg.MetadataValue.text("none"),
        # settings and counts that do not move night to night: text, so the UI does not plot them
        keys.VALUE_LEAK_COLUMNS_MEASURED: dg.MetadataValue.text(str(leaks.measured)),
        keys.RARE_VALUE_MIN_COUNT: dg.MetadataValue.text(str(min_count)),
    }
    result = gate_result(check_name, leaks.share, threshold, severity, metadata)
    if result.passed:
        return result
    why = (
        f"{result.description}. Rare real values (seen in fewer than {min_count} training rows) were emitted in "
        f"{leaks.describe()}. Declare such columns in `pii` or `exclude_columns`, or raise `rare_value_min_count`."
    )
    return dg.AssetCheckResult(
        check_name=result.check_name, passed=False, severity=result.severity, description=why, metadata=result.metadata
    )


def gate_results(table: TableConfig, quality: QualityResult, privacy: PrivacyResult, leaks: LeakResult) -> list[dg.AssetCheckResult]:
    worst = "\n".join(f"- `{c}`: {s:.3f}" for c, s in quality.worst_columns)
    quality_metadata = {
        keys.QUALITY_SCORE: dg.FloatMetadataValue(round(quality.score, 4)),
        keys.QUALITY_THRESHOLD: dg.FloatMetadataValue(table.quality_threshold),
        **property_metadata(quality.properties),
        keys.WORST_COLUMNS: dg.MetadataValue.md(worst),
        keys.DIAGNOSTIC_SCORE: dg.FloatMetadataValue(round(quality.diagnostic_score, 4)),
        **property_metadata(quality.diagnostic_properties),
    }
    privacy_metadata = {
        keys.EXACT_COPY_SHARE: dg.FloatMetadataValue(round(privacy.exact_copy_share, 6)),
        keys.DCR_CLOSER_SHARE: dg.FloatMetadataValue(round(privacy.dcr_closer_to_training_share, 4)),
        keys.DCR_TRAINING_MEDIAN: dg.FloatMetadataValue(round(privacy.dcr_training_median, 4)),
        keys.DCR_HOLDOUT_MEDIAN: dg.FloatMetadataValue(round(privacy.dcr_holdout_median, 4)),
        keys.NNDR_MEDIAN: dg.FloatMetadataValue(round(privacy.nndr_median, 4)),
    }
    return [
        gate_result(CHECK_QUALITY, quality.score, table.quality_threshold, table.severity(CHECK_QUALITY), quality_metadata),
        gate_result(
            CHECK_EXACT_COPIES, privacy.exact_copy_share, table.max_exact_copy_share, table.severity(CHECK_EXACT_COPIES), privacy_metadata
        ),
        gate_result(
            CHECK_DCR, privacy.dcr_closer_to_training_share, table.max_dcr_closer_share, table.severity(CHECK_DCR), privacy_metadata
        ),
        value_leak_result(CHECK_VALUE_LEAKS, leaks, table.max_value_leak_share, table.severity(CHECK_VALUE_LEAKS), table.rare_value_min_count),
    ]


def sequence_results(table: TableConfig, split: SourceSplit, data: pd.DataFrame) -> list[dg.AssetCheckResult]:
    if table.sequence is None:
        return []
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
