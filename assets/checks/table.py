"""The checks on a single table's synthetic candidate: declared when definitions load, their
results built from the measures at run time (`candidate_results`). Gates with severity `error`
block publication. The measures themselves are `assets.evaluation`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.gates import bounded_gate, gate_specs, measured_gate, property_metadata
from synthpipe.assets.evaluation.attacks import AttackResult
from synthpipe.assets.checks.suites import log_user_suites, suite_check_result, user_check_name, user_suite_results, user_suite_specs
from synthpipe.assets.evaluation.leaks import LeakResult, evaluate_value_leaks
from synthpipe.assets.evaluation.partial import partial_privacy
from synthpipe.assets.evaluation.privacy import PrivacyResult, evaluate_privacy
from synthpipe.assets.evaluation.quality import QualityResult, evaluate_quality
from synthpipe.assets.evaluation.report import build_report
from synthpipe.assets.evaluation.utility import UtilityResult, table_utility
from synthpipe.assets.records import FittedModel, StagedSample
from synthpipe.assets.split import SourceSplit
from synthpipe.assets.steering import steered_reference
from synthpipe.config import TableConfig
from synthpipe.errors import SynthpipeError, closest
from synthpipe.expectations.profile import derive_suite
from synthpipe.expectations.runner import SuiteResult
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.synthesizers import chunk_plan
from synthpipe.resources.tracking import MlflowTracker

__all__ = [
    "CHECK_DCR",
    "CHECK_EXACT_COPIES",
    "CHECK_EXPECTATIONS",
    "CHECK_QUALITY",
    "CHECK_UTILITY",
    "CHECK_VALUE_LEAKS",
    "Measures",
    "candidate_results",
    "check_specs",
    "gate_results",
    "log_evaluation",
    "table_columns",
    "utility_gate",
    "value_leak_result",
]

CHECK_EXPECTATIONS = "expectations"
CHECK_QUALITY = "quality"
CHECK_EXACT_COPIES = "exact_copies"
CHECK_DCR = "dcr"
CHECK_VALUE_LEAKS = "value_leaks"
CHECK_UTILITY = "utility"


def check_specs(table: TableConfig, synthetic_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The checks on the synthetic candidate: declared at load time, run with the sample."""
    specs = [
        dg.AssetCheckSpec(
            CHECK_EXPECTATIONS,
            asset=synthetic_key,
            blocking=table.severity("expectations") == "error",
            description="Great Expectations suite derived from the source profile: columns, types, nulls, ranges, categories, row count.",
        ),
        *gate_specs(table, synthetic_key, [CHECK_QUALITY, CHECK_EXACT_COPIES, CHECK_DCR, CHECK_VALUE_LEAKS]),
    ]
    specs += gate_specs(table, synthetic_key, attack_gates(table))
    specs += user_suite_specs("suite", table.suites, synthetic_key)
    if table.target:
        specs += gate_specs(table, synthetic_key, [CHECK_UTILITY])
    return specs


def value_leak_result(leaks: LeakResult, settings: Any) -> dg.AssetCheckResult:
    """The `value_leaks` gate: worst column's share, the worst columns with counts (no values)."""
    min_count = settings.rare_value_min_count
    metadata = {
        keys.VALUE_LEAK_SHARE: dg.FloatMetadataValue(round(leaks.share, 6)),
        keys.VALUE_LEAK_COLUMNS: dg.MetadataValue.md(leaks.table()) if leaks.columns else dg.MetadataValue.text("none"),
        # settings and counts that do not move night to night: text, so the UI does not plot them
        keys.VALUE_LEAK_COLUMNS_MEASURED: dg.MetadataValue.text(str(leaks.measured)),
        keys.RARE_VALUE_MIN_COUNT: dg.MetadataValue.text(str(min_count)),
    }
    result = measured_gate(CHECK_VALUE_LEAKS, leaks.share, settings, metadata)
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
        measured_gate(CHECK_QUALITY, quality.score, table, quality_metadata),
        measured_gate(CHECK_EXACT_COPIES, privacy.exact_copy_share, table, privacy_metadata),
        bounded_gate(CHECK_DCR, privacy.dcr_closer_to_training_share, privacy.dcr_interval, table, privacy_metadata),
        value_leak_result(leaks, table),
    ]


@dataclass(frozen=True)
class Measures:
    """What was measured on one candidate, for its metadata and its MLflow run."""

    quality: QualityResult
    privacy: PrivacyResult
    leaks: LeakResult
    suite: SuiteResult
    report_uri: str
    attacks: AttackResult | None = None


ATTACK_GATES = ("singling_out", "linkability", "inference")


def attack_gates(table: TableConfig) -> list[str]:
    """The attack gates the table sets a threshold for (`max_<attack>_risk`); the others are measured only."""
    return [name for name in ATTACK_GATES if table.attack_rows and getattr(table, f"max_{name}_risk") is not None]


def measure_attacks(
    context: dg.AssetExecutionContext, table: TableConfig, synthetic: pd.DataFrame, training: pd.DataFrame, holdout: pd.DataFrame,
    columns: dict[str, Any], seed: int,
) -> tuple[AttackResult | None, list[dg.AssetCheckResult]]:
    """The attacks on seeded samples (`attack_rows`) and the gates set on them. Skipped, with a
    warning, when anonymeter is not installed and no gate needs it (validation refuses a gate
    without it)."""
    if not table.attack_rows:
        return None, []
    from synthpipe.assets.evaluation.attacks import AttackDependencyError, evaluate_attacks

    context.log.info(f"Measuring attack risks (anonymeter) on {table.attack_rows} training and holdout rows: singling out, linkability, inference")
    try:
        attacks = evaluate_attacks(synthetic, training, holdout, columns, seed, max_rows=table.attack_rows, synthetic_rows=len(synthetic))
    except AttackDependencyError as error:
        if attack_gates(table):
            raise
        context.log.warning(f"Attack risks not measured: {error}")
        return None, []
    table_md = attack_table(attacks)
    results = [
        bounded_gate(name, attacks.risk(name).risk, attacks.risk(name).ci, table, {keys.ATTACK_RISKS: dg.MetadataValue.md(table_md)})
        for name in attack_gates(table)
    ]
    return attacks, results


def attack_table(attacks: AttackResult) -> str:
    """Each attack's risk, interval, success rates and what was attacked, as markdown."""
    ori, syn, control = attacks.rows
    rows = [
        f"| {r.name} | {r.risk:.4f} | {r.ci[0]:.4f}-{r.ci[1]:.4f} | {r.attack_rate:.4f} | {r.control_rate:.4f} | {r.baseline_rate:.4f} | {r.n_attacks} | {r.detail} |"
        for r in [*attacks.risks, *attacks.inference_by_secret]
    ]
    head = ["| attack | risk | 95% interval | attack success | control success | random guess | attacks | detail |", "|---|---|---|---|---|---|---|---|"]
    return "\n".join([*head, *rows, "", f"Samples: {ori} training, {control} holdout (control), {syn} synthetic rows; {attacks.seconds:.1f} s."])


def table_columns(metadata: dict[str, Any], table: str) -> dict[str, Any]:
    """The column metadata of one table from SDV's metadata dictionary."""
    return (metadata["tables"][table] if "tables" in metadata else metadata)["columns"]


def candidate_results(
    context: dg.AssetExecutionContext,
    table: TableConfig,
    split: SourceSplit,
    staged: StagedSample,
    fitted: FittedModel,
    tracker: MlflowTracker,
    docs: DataDocsFolder,
    lenient: list[str],
) -> tuple[list[dg.AssetCheckResult], Measures]:
    """Every check on a table's candidate: the derived suite, the user suites, the gates
    (quality, exact copies, DCR, value leaks, utility); their measures logged to the model's
    run with the HTML report and the Data Docs site. `lenient`: columns whose derived
    expectations may drift by design."""
    data, seed, run_id = staged.sample, staged.seed, fitted.mlflow_run_id
    train, holdout = split.train, split.holdout
    context.log.info(
        f"Evaluating the candidate on {len(data)} of its {staged.rows} rows against {len(train)} training and "
        f"{len(holdout)} holdout rows: expectation suite and SDMetrics quality report"
    )
    columns = table_columns(fitted.table_metadata, table.name)
    # IDs are new by design (numbered past the source's range), like personal columns
    ids = [c for c, spec in columns.items() if spec.get("sdtype") == "id"]
    generated = list(dict.fromkeys([*table.generated_columns, *ids]))
    site = docs.site(table.name, context.run.run_id)
    derived = derive_suite(split.profile, None, generated, lenient, table.severity("expectations"))
    context.log.info(f"Validating the candidate: {len(derived)} derived expectations and {len(table.suites)} user suite(s)")
    suite, user_results, ran = user_suite_results(data, table.name, table.suites, split.fit, derived, site)
    context.log.info(f"Validated: {len(suite.failures)} of {suite.evaluated} derived expectations failed")
    # A steered twin (`conditions`, `rebalance`, `fairness`) is compared with the real rows drawn to its plan.
    reference = steered_reference(train, staged.plan, seed)
    quality = evaluate_quality(reference, data, fitted.table_metadata, progress=context.log.info)
    context.log.info("Measuring privacy: exact copies and distance to closest record")
    if table.kept_real:  # real rows with some cells generated: measured on the generated cells
        privacy, leaks = _kept_real_privacy(table, split, staged, columns)
    else:
        # against the rows the model was fitted on, so that a copied row finds its original
        privacy = evaluate_privacy(data, split.fit, holdout, columns, seed)
        leaks = evaluate_value_leaks(data, split.fit, columns, table.rare_value_min_count)
    attacks, attack_results = (None, []) if table.kept_real else measure_attacks(context, table, data, split.fit, holdout, columns, seed)
    context.log.info("Measuring utility: train on synthetic, test on real" if table.target else "No `target`: utility not measured")
    utility_results, utility_metrics = _utility_results(table, split, data, seed)
    # GX's site carries 3.3 MB of animated help images the pages do not need.
    docs_uri = tracker.log_folder(run_id, str(site), "data_docs", ignore=("*.gif",))
    context.log.info(f"Data Docs: {docs.link((site / 'index.html').as_uri())} (also in MLflow: {docs_uri})")
    overridden = len(derived) - len(ran)
    derived_extra = {keys.OVERRIDDEN_BY_USER_SUITES: overridden} if overridden else {}
    results = [
        suite_check_result(CHECK_EXPECTATIONS, suite, docs, derived_extra),
        *(suite_check_result(user_check_name("suite", s.name), r, docs) for s, _, r in user_results),
        *gate_results(table, quality, privacy, leaks),
        *attack_results,
        *utility_results,
    ]
    tracker.log_metrics(run_id, {**privacy.as_metrics(), "value_leak_share": leaks.share, **utility_metrics, **(attacks.as_metrics() if attacks else {})})
    label = f"candidate of Dagster run {context.run.run_id[:8]}, model v{fitted.model_version}, seed {seed}"
    # Served over HTTP by `synthpipe serve` when MLflow keeps artifacts in the data folder.
    report_uri = tracker.links.file(tracker.log_text(run_id, build_report(table.name, label, reference, data, quality, privacy, attacks.risks if attacks else ()), f"report/{table.name}.html"))
    context.log.info(f"Report: {report_uri}")
    tracker.log_dict(run_id, [s.__dict__ for s in ran], "expectations/derived_suite.json")
    log_user_suites(tracker, run_id, user_results)
    if staged.chunk_rows:  # each chunk's own seed, derived from the recorded seed
        plan = chunk_plan(staged.rows, seed, staged.chunk_rows)
        tracker.log_dict(run_id, [{"rows": r, "seed": s, "first_row": f} for r, s, f in plan], "sampling/chunks.json")
    return results, Measures(quality, privacy, leaks, suite, report_uri, attacks)


def _kept_real_privacy(table: TableConfig, split: SourceSplit, staged: StagedSample, columns: dict[str, Any]) -> tuple[PrivacyResult, LeakResult]:
    """A partially synthetic or hybrid table's privacy (`assets.evaluation.partial`) and its
    value leaks, counted in the generated cells only (kept cells are real by design)."""
    generated = table.synthesize_columns or table.impute
    data, cells = staged.sample, staged.generated_cells
    assert staged.holdout_generated is not None
    privacy = partial_privacy(split.fit.head(len(data)), data, split.holdout, staged.holdout_generated, generated, staged.training_generated)
    emitted = data[generated] if cells is None else data[generated].where(cells[generated].to_numpy())
    leaks = evaluate_value_leaks(emitted, split.fit[generated], {c: columns[c] for c in generated if c in columns}, table.rare_value_min_count)
    return privacy, leaks


def _utility_results(table: TableConfig, split: SourceSplit, data: pd.DataFrame, seed: int) -> tuple[list[dg.AssetCheckResult], dict[str, float]]:
    if not table.target:
        return [], {}
    if table.target not in split.train.columns:
        raise SynthpipeError(
            f"Table {table.name!r}: `target` {table.target!r} is not a column of the source.{closest(table.target, split.train.columns)} "
            f"Columns: {', '.join(split.train.columns)}."
        )
    utility = table_utility(table, split, data, seed)
    return [utility_gate(utility, table)], utility.as_metrics()


def utility_gate(utility: UtilityResult, settings: Any) -> dg.AssetCheckResult:
    """The `utility` gate: the synthetic-to-real ratio of the holdout score, both scores in metadata."""
    metadata = {
        keys.UTILITY_METRIC: utility.metric,
        keys.UTILITY_REAL_SCORE: dg.FloatMetadataValue(round(utility.real_score, 4)),
        keys.UTILITY_SYNTHETIC_SCORE: dg.FloatMetadataValue(round(utility.synthetic_score, 4)),
    }
    return measured_gate(CHECK_UTILITY, utility.ratio, settings, metadata)


def log_evaluation(
    tracker: MlflowTracker, fitted: FittedModel, table: TableConfig, staged: StagedSample, evaluation_seconds: float, measures: Measures
) -> None:
    """The sample's and the evaluation's figures in the model's run."""
    run_id, quality, rows = fitted.mlflow_run_id, measures.quality, staged.rows
    conditions = {"conditions": "; ".join(c.describe() for c in staged.plan)} if staged.plan else {}
    steering = {name: getattr(table, name).model_dump_json() for name in ("rebalance", "fairness") if getattr(table, name) is not None}
    tracker.log_params(run_id, {"seed": staged.seed, "num_rows": rows, "quality_threshold": table.quality_threshold, **conditions, **steering})
    metrics = {
        "sample_seconds": staged.sample_seconds,
        "sample_rows_per_second": rows / max(staged.sample_seconds, 1e-9),
        "evaluation_seconds": evaluation_seconds,
        "quality_score": quality.score,
        "expectations_evaluated": measures.suite.evaluated,
        "expectations_failed": len(measures.suite.failures),
        "diagnostic_score": quality.diagnostic_score,
    }
    for name, value in {**quality.properties, **quality.diagnostic_properties}.items():
        metrics[name.lower().replace(" ", "_")] = value
    for column, value in quality.column_scores.items():
        metrics[f"column_shape.{_metric_name(column)}"] = value
    tracker.log_metrics(run_id, metrics)


def _metric_name(column: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-. /" else "_" for ch in column)
