"""The checks on a relational group's candidate: per-table suites, referential integrity,
multi-table quality, and per child table exact copies, DCR, value leaks and utility.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from synthpipe.assets.checks.gates import property_metadata
from synthpipe.assets.checks.gates import bounded_gate, gate_specs, measured_gate
from synthpipe.assets.evaluation.leaks import combine_leaks, evaluate_value_leaks
from synthpipe.assets.evaluation.privacy import evaluate_privacy
from synthpipe.assets.checks.suites import user_suite_results, user_suite_specs
from synthpipe.assets.checks.table import (
    CHECK_DCR,
    CHECK_EXACT_COPIES,
    CHECK_EXPECTATIONS,
    CHECK_QUALITY,
    CHECK_UTILITY,
    CHECK_VALUE_LEAKS,
    utility_gate,
    value_leak_result,
)
from synthpipe.assets.evaluation.utility import evaluate_utility
from synthpipe.expectations.profile import derive_suite, profile_table
from synthpipe.expectations.runner import FailedExpectation, SuiteResult
from synthpipe import metadata_keys as keys
from synthpipe.config import GroupConfig
from synthpipe.errors import SynthpipeError, closest
from synthpipe.resources.relational import context_foreign_keys

if TYPE_CHECKING:
    from synthpipe.assets.kinds.group import GroupSource

__all__ = [
    "CHECK_INTEGRITY",
    "check_specs",
    "group_quality",
    "group_suites",
    "integrity_result",
    "non_keys",
    "privacy_and_utility",
    "quality_result",
    "value_leaks_result",
]

CHECK_INTEGRITY = "referential_integrity"


def check_specs(group: GroupConfig, synthetic_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CHECK_EXPECTATIONS,
            asset=synthetic_key,
            blocking=group.severity("expectations") == "error",
            description="Great Expectations suites derived from each source table's profile.",
        ),
        dg.AssetCheckSpec(
            CHECK_INTEGRITY,
            asset=synthetic_key,
            blocking=True,
            description="Every primary key is unique and present, every foreign key resolves to a parent row.",
        ),
        *gate_specs(group, synthetic_key, [CHECK_QUALITY, CHECK_VALUE_LEAKS]),
        *gate_specs(group, synthetic_key, [CHECK_EXACT_COPIES, CHECK_DCR] if group.foreign_keys else []),
        *gate_specs(group, synthetic_key, [CHECK_UTILITY] if group.target else []),
    ] + [
        spec for table in group.tables for spec in user_suite_specs("suite", table.suites, synthetic_key, table.name)
    ]


def group_suites(
    group: GroupConfig, read: GroupSource, sampled: dict[str, pd.DataFrame], metadata: dict, site: Path
) -> tuple[SuiteResult, list[tuple[str, Any, list, SuiteResult]]]:
    """Each table's derived suite, as one result (key columns get new values, so only their
    presence is expected; row counts of child tables vary, so only the columns and values are
    checked), and each table's user suites, the user's rule winning over the derived one."""
    failures: list[FailedExpectation] = []
    evaluated = 0
    user: list[tuple[str, Any, list, SuiteResult]] = []
    members = {table.name: table for table in group.tables}
    for name, real in read.tables.items():
        columns = metadata["tables"][name]["columns"]
        # keys and declared personal columns get new values by design: only their presence is expected
        generated = [c for c, meta in columns.items() if meta.get("sdtype") == "id" or meta.get("pii")]
        derived = derive_suite(profile_table(real), None, generated, severity=group.severity("expectations"))
        result, user_results, _ = user_suite_results(sampled[name], f"{group.name}/{name}", members[name].suites, real, derived, site)
        evaluated += result.evaluated
        failures += [
            FailedExpectation(
                f.type, f"{name}.{f.column}" if f.column else name, f.observed, f.unexpected_count, f.unexpected_examples, f.severity
            )
            for f in result.failures
        ]
        user += [(name, suite, pairs, outcome) for suite, pairs, outcome in user_results]
    return SuiteResult("group", evaluated, failures), user


def integrity_result(problems: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=CHECK_INTEGRITY,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or None,
        metadata={keys.INTEGRITY_PROBLEMS: len(problems)},
    )


def group_quality(read: GroupSource, sampled: dict[str, pd.DataFrame], metadata: dict) -> tuple[float, float, dict[str, float]]:
    from sdmetrics.reports.multi_table import DiagnosticReport, QualityReport

    quality = QualityReport()
    quality.generate(read.tables, sampled, metadata, verbose=False)
    diagnostic = DiagnosticReport()
    diagnostic.generate(read.tables, sampled, metadata, verbose=False)
    properties = {row.Property: float(row.Score) for row in quality.get_properties().itertuples()}
    return float(quality.get_score()), float(diagnostic.get_score()), properties


def quality_result(group: GroupConfig, score: float, diagnostic: float, properties: dict[str, float]) -> dg.AssetCheckResult:
    metadata = {
        keys.QUALITY_SCORE: dg.FloatMetadataValue(round(score, 4)),
        keys.DIAGNOSTIC_SCORE: dg.FloatMetadataValue(round(diagnostic, 4)),
        **property_metadata(properties),
    }
    return measured_gate(CHECK_QUALITY, score, group, metadata)


def value_leaks_result(group: GroupConfig, read: GroupSource, sampled: dict[str, pd.DataFrame], metadata: dict) -> dg.AssetCheckResult:
    """`value_leaks` over every table of the group: rare real values of the fitted rows."""
    per_table = {
        name: evaluate_value_leaks(sampled[name], real, metadata["tables"][name]["columns"], group.rare_value_min_count)
        for name, real in read.tables.items()
    }
    return value_leak_result(combine_leaks(per_table), group)


def non_keys(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """The table without its key columns, whose synthetic values are new by design."""
    return frame[[c for c in frame.columns if columns.get(c, {}).get("sdtype") != "id"]]


def in_context(
    name: str, read: GroupSource, sampled: dict[str, pd.DataFrame], metadata: dict, holdout: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A child table's rows as privacy measures them (training, synthetic, holdout, columns):
    each row with its context parent's non-key columns (`<parent>.<column>`), since a child row
    is what it says in its parent's context. An invoice line of one track at 0.99 is in every
    store; the same line on the same day's invoice of the same country is a copy."""
    columns = metadata["tables"][name]["columns"]
    frames = [non_keys(read.tables[name], columns), non_keys(sampled[name], columns), non_keys(holdout, columns)]
    fk = context_foreign_keys(read.foreign_keys).get(name)
    if fk is None:
        return (*frames, columns)  # type: ignore[return-value]
    key, parent_key = (k if isinstance(k, str) else k[0] for k in (fk.child_key, fk.parent_key))
    parent_columns = metadata["tables"][fk.parent]["columns"]
    measured = {c: m for c, m in parent_columns.items() if m.get("sdtype") != "id" and not m.get("pii")}
    real_parents = pd.concat([read.tables[fk.parent], read.holdout.get(fk.parent, read.tables[fk.parent].iloc[:0])], ignore_index=True)

    def joined(rows: pd.DataFrame, own: pd.DataFrame, parents: pd.DataFrame) -> pd.DataFrame:
        lookup = parents.drop_duplicates(parent_key).set_index(parent_key)[list(measured)]
        context = lookup.reindex(rows[key].to_numpy()).reset_index(drop=True).add_prefix(f"{fk.parent}.")
        return pd.concat([own.reset_index(drop=True), context], axis=1)

    train = joined(read.tables[name], frames[0], real_parents)
    synthetic = joined(sampled[name], frames[1], sampled[fk.parent])
    held = joined(holdout, frames[2], real_parents)
    return train, synthetic, held, {**columns, **{f"{fk.parent}.{c}": m for c, m in measured.items()}}


def privacy_and_utility(
    group: GroupConfig, read: GroupSource, sampled: dict[str, pd.DataFrame], metadata: dict, seed: int
) -> tuple[list[dg.AssetCheckResult], dict[str, float], dict[str, Any]]:
    """Per child table (the tables with a holdout): exact copies and DCR share, the worst table
    gating; and utility on the target's table.
    """
    results: list[dg.AssetCheckResult] = []
    metrics: dict[str, float] = {}
    privacy = {}
    for name, holdout in read.holdout.items():
        train, synthetic, held, columns = in_context(name, read, sampled, metadata, holdout)
        if train.shape[1] == 0:
            continue  # keys only, in a context of keys only: nothing a row could copy
        privacy[name] = evaluate_privacy(synthetic, train, held, columns, seed)
        metrics.update({f"{k}.{name}": v for k, v in privacy[name].as_metrics().items()})
    if privacy:
        worst_copy = max(privacy, key=lambda n: privacy[n].exact_copy_share)
        worst_dcr = max(privacy, key=lambda n: privacy[n].dcr_closer_to_training_share)
        per_table = {
            f"{keys.PREFIX}{n}/{k}": dg.FloatMetadataValue(round(v, 4))
            for n, p in privacy.items()
            for k, v in (("exact_copy_share", p.exact_copy_share), ("dcr_closer_to_training_share", p.dcr_closer_to_training_share))
        }
        results += [
            measured_gate(CHECK_EXACT_COPIES, privacy[worst_copy].exact_copy_share, group, {**per_table, keys.WORST_TABLE: worst_copy}),
            bounded_gate(
                CHECK_DCR, privacy[worst_dcr].dcr_closer_to_training_share, privacy[worst_dcr].dcr_interval, group,
                {**per_table, keys.WORST_TABLE: worst_dcr},
            ),
        ]
    if group.target is not None:
        name, column = group.target.table, group.target.column
        columns = metadata["tables"][name]["columns"]
        if column not in read.tables[name].columns:
            raise SynthpipeError(f"Group {group.name!r}: `target.column` {column!r} is not a column of {name!r}.{closest(column, read.tables[name].columns)}")
        if columns.get(column, {}).get("sdtype") == "id":
            raise SynthpipeError(f"Group {group.name!r}: `target.column` {column!r} is a key of {name!r}; keys get new synthetic values. Choose a non-key column.")
        utility = evaluate_utility(
            non_keys(read.tables[name], columns), non_keys(sampled[name], columns), non_keys(read.holdout[name], columns), column, seed
        )
        metrics.update(utility.as_metrics())
        results.append(
            utility_gate(utility, group)
        )
    return results, metrics, privacy
