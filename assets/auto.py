"""`synthesizer: auto`: fit several candidates within a time budget and keep the best.

Each candidate is fitted on the same training rows, sampled, and scored with every blocking
check the synthetic asset runs: the quality, exact-copy, DCR and (with a `target`) utility gates,
the expectation suite derived from the source profile, and the table's user suites. Each is
logged as a nested MLflow run under the table's run. The rule: candidates that pass every
blocking check come first, then the higher quality score, then the shorter fit time; skipped
and stopped candidates come last, with the reason.

The budget (`auto_budget_seconds`) covers the whole stage, fitting and scoring, and no
candidate starts that cannot finish in what is left, with `MARGIN` to spare:

- scoring a candidate is assumed to take as long as the longest scoring so far;
- a torch-based SDV candidate (ctgan, tvae, copula_gan) is probed first: two timed fits on the
  fit rows (`PROBE_EPOCHS` epochs, then one) give its fixed cost and its seconds per epoch
  (`EpochProbe`); its `epochs` are then cut to what fits (`plan_epochs`), and it is skipped if
  fewer than `MIN_EPOCHS` would;
- a backend that trains against a time budget of its own (TabularARGN) is given what is left,
  less the scoring, and is skipped if that is under `MIN_TRAINING_SECONDS`;
- any other candidate (gaussian_copula) is assumed to fit at least as fast as the fastest fit
  so far.

Estimates can still run over (another process takes the cores: a CTGAN fit sized at 58 s took
193 s here with the load at 3 on 2 cores), so a torch-based SDV fit or probe also has a deadline,
`OVERRUN` times the budget less the scoring: past it, the fit is stopped at its next optimizer
step, and the candidate is dropped as `stopped` (SDV cannot keep a fit that was cut short).

The first candidate always runs (sized in the same way, but never skipped or stopped), so a
table never ends without a model; it alone can take the stage past its budget.

With `privacy`, only the candidates that fit with a differential-privacy guarantee are tried
(TabularARGN), each with the table's budget (`private_candidates`).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from synthpipe.assets.budget import MARGIN, MIN_EPOCHS, OVERRUN, PROBE_EPOCHS, Clock, EpochProbe, PastDeadline, Stopped, plan_epochs, stop_at
from synthpipe.assets.fit import log_training_end, progress_logger, training_figures
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.evaluation.quality import evaluate_quality
from synthpipe.assets.checks.gates import GATES
from synthpipe.assets.evaluation.leaks import evaluate_value_leaks
from synthpipe.assets.evaluation.privacy import evaluate_privacy
from synthpipe.assets.checks.sequences import sequence_results
from synthpipe.assets.checks.suites import user_check_name
from synthpipe.assets.checks.table import CHECK_EXPECTATIONS
from synthpipe.assets.split import SourceSplit
from synthpipe.assets.evaluation.utility import evaluate_utility
from synthpipe.expectations.profile import derive_suite
from synthpipe.expectations.runner import SuiteResult, validate
from synthpipe.expectations.suites import merge_suites
from synthpipe import metadata_keys as keys
from synthpipe.config import TableConfig
from synthpipe.errors import SynthesizerError
from synthpipe.resources.differential_privacy import dp_capable, with_privacy
from synthpipe.resources.synthesizers import build_synthesizer, cap_time_budget, fit_synthesizer, sample_rows, sample_sequences, synthesizer_class
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["Candidate", "EpochProbe", "PastDeadline", "blocking_failures", "choose_synthesizer", "plan_epochs", "private_candidates", "rank", "stop_at"]

# Rows sampled per candidate for scoring: enough for stable scores, cheap on large tables.
SCORING_ROWS = 5_000
# SDV candidates trained for a number of epochs, which `auto` sizes to the budget.
EPOCH_CANDIDATES = ("ctgan", "tvae", "copula_gan", "par")
EPOCHS_PARAM = "epochs"
# TabularARGN with less training time than this is skipped.
MIN_TRAINING_SECONDS = 5.0


@dataclass
class Candidate:
    """One candidate of `auto`: `fitted` and scored, `skipped` before it started or `stopped` at
    the stage's deadline (`reason` says why)."""

    name: str
    fit_seconds: float = 0.0
    figures: dict[str, float | None] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    run_id: str | None = None
    epochs: int | None = None
    scoring_seconds: float = 0.0
    status: str = "fitted"
    reason: str | None = None
    probe: EpochProbe | None = None
    synthesizer: Any = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """Fitted, and passed every blocking check."""
        return self.status == "fitted" and not self.failed_checks

    def describe(self) -> str:
        """The candidate in one readable line for the run log."""
        if self.status != "fitted":
            return f"{self.status}: {self.reason or '-'}"
        verdict = "passed every blocking check" if self.passed else f"failed {', '.join(self.failed_checks)}"
        figures = ", ".join(f"{name.removesuffix('_score').replace('_', ' ')} {value:.4f}" for name, value in self.figures.items() if value is not None)
        timing = f"fit {self.fit_seconds:.1f} s, scoring {self.scoring_seconds:.1f} s" + (f", {self.epochs} epochs" if self.epochs else "")
        return "; ".join(part for part in (verdict, figures, timing) if part)

    def summary(self) -> dict[str, Any]:
        """One row of the candidates table (MLflow's `auto/candidates.json`, the asset metadata):
        the same keys, in the same order, for every candidate of a table."""
        return {
            "synthesizer": self.name,
            "status": self.status,
            "passed": self.passed,
            "failed_checks": ", ".join(self.failed_checks) or ("none" if self.status == "fitted" else "-"),
            **self.figures,
            "epochs": self.epochs if self.epochs is not None else "-",
            "fit_seconds": round(self.fit_seconds, 3),
            "scoring_seconds": round(self.scoring_seconds, 3),
            "probe_seconds_per_epoch": round(self.probe.seconds_per_epoch, 4) if self.probe else "-",
            "reason": self.reason or "-",
        }


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: fitted, passing every blocking check, then higher quality, then faster fit;
    skipped and stopped candidates last."""

    def key(c: Candidate) -> tuple[bool, bool, float, float]:
        quality = c.figures.get("quality_score")
        return (c.status != "fitted", not c.passed, -(quality if quality is not None else -math.inf), c.fit_seconds)

    return sorted(candidates, key=key)


def blocking_failures(table: TableConfig, figures: Mapping[str, float | None], suites: Mapping[str, SuiteResult]) -> list[str]:
    """The blocking checks a candidate fails, named as the synthetic asset names its checks:
    gates with severity `error` whose figure misses the threshold, and suites with a failed
    `error` expectation."""
    measured = {
        "quality": (figures["quality_score"], table.quality_threshold),
        "exact_copies": (figures["exact_copy_share"], table.max_exact_copy_share),
        # decided on the interval's lower bound, as the `dcr` gate is
        "dcr": (figures.get("dcr_closer_share_low", figures["dcr_closer_to_training_share"]), table.max_dcr_closer_share),
        "value_leaks": (figures["value_leak_share"], table.max_value_leak_share),
    }
    if figures.get("utility_ratio") is not None:
        measured["utility"] = (figures["utility_ratio"], table.min_utility_ratio)
    gates = [g for g, (v, t) in measured.items() if table.severity(g) == "error" and not GATES[g].passed(v, t)]
    return gates + [name for name, result in suites.items() if result.blocking_failures]


def _figures(table: TableConfig, split: SourceSplit, synthetic: pd.DataFrame, table_metadata: dict[str, Any]) -> dict[str, float | None]:
    train, holdout = split.fit, split.holdout
    figures: dict[str, float | None] = {"quality_score": evaluate_quality(train, synthetic, table_metadata).score}
    privacy = evaluate_privacy(synthetic, train, holdout, table_metadata["columns"])
    figures.update(
        exact_copy_share=privacy.exact_copy_share,
        dcr_closer_to_training_share=privacy.dcr_closer_to_training_share,
        dcr_closer_share_low=privacy.dcr_interval[0],
    )
    figures["value_leak_share"] = evaluate_value_leaks(synthetic, train, table_metadata["columns"], table.rare_value_min_count).share
    if table.target:
        figures["utility_ratio"] = evaluate_utility(train, synthetic, holdout, table.target).ratio
    return figures


def _suites(table: TableConfig, split: SourceSplit, synthetic: pd.DataFrame, table_metadata: dict[str, Any]) -> dict[str, SuiteResult]:
    """The derived expectation suite and each user suite on the candidate's rows, as the
    synthetic asset runs them (a user suite's rule wins over the derived one), without Data Docs."""
    ids = [c for c, spec in table_metadata["columns"].items() if spec.get("sdtype") == "id"]
    derived = derive_suite(split.profile, None, list(dict.fromkeys([*table.generated_columns, *ids])), severity=table.severity("expectations"))
    user = [(s, s.synthetic_specs(split.fit)) for s in table.suites if s.checks_synthetic]
    kept, _ = merge_suites(derived, [spec for _, pairs in user for spec, _ in pairs])
    name = table.name.replace("/", ".")
    results = {CHECK_EXPECTATIONS: validate(synthetic, name, f"{name}.auto.derived", kept)}
    for suite, pairs in user:
        results[user_check_name("suite", suite.name)] = validate(
            synthetic, name, f"{name}.auto.{suite.name}", [x for x, _ in pairs], None, [w for _, w in pairs]
        )
    return results


@dataclass
class _Stage:
    """What one `choose_synthesizer` call shares between its candidates."""

    log: Any
    table: TableConfig
    split: SourceSplit
    metadata: Any
    clock: Clock
    scoring_seconds: float = 0.0  # the longest scoring so far
    fastest_fit: float = 0.0  # the shortest fit so far

    def build(self, name: str, params: Mapping[str, Any]) -> Any:
        context = self.table.sequence.context_columns if self.table.sequence else ()
        backend = self.table.candidate_backend(name)
        params = with_privacy(backend, params, self.table.privacy)  # `privacy`: every candidate tried gives the guarantee
        return build_synthesizer(backend, params, self.metadata, self.table.name, context, self.table.enforced_rules)

    def deadline(self, name: str, first: bool) -> float | None:
        """When a torch-based SDV fit of this candidate must have ended (`perf_counter` time):
        `OVERRUN` times the budget, less the longest scoring; None for the first candidate."""
        if first or name not in EPOCH_CANDIDATES:
            return None
        return self.clock.started + OVERRUN * self.clock.budget - self.scoring_seconds

    def fit(self, synthesizer: Any, deadline: float | None, on_progress: Any = None) -> float:
        """`fit_synthesizer`, stopped at `deadline`; raises `Stopped` then."""
        started = time.perf_counter()
        try:
            with stop_at(deadline):
                return fit_synthesizer(
                    synthesizer, self.table.name, self.split.fit, on_progress, self.table.rare_value_min_count, self.table.split_seed,
                    self.table.enforced_rules,
                )
        except SynthesizerError as error:
            if isinstance(error.__cause__, PastDeadline):
                raise Stopped(time.perf_counter() - started) from None
            raise

    def timed_fit(self, name: str, params: Mapping[str, Any], first: bool) -> float:
        return self.fit(self.build(name, params), self.deadline(name, first))

    def room(self) -> str:
        if self.clock.left <= 0:
            return f"the {self.clock.budget:g} s budget is spent ({self.clock.spent:.1f} s in)"
        return f"{self.clock.left:.1f} s left of the {self.clock.budget:g} s budget"


def _default(name: str, param: str) -> Any:
    return inspect.signature(synthesizer_class(name).__init__).parameters[param].default


def _draw(stage: _Stage, synthesizer: Any) -> pd.DataFrame:
    """The rows a candidate is scored on: as many sequences as the training side has entities,
    or up to `SCORING_ROWS` rows."""
    if stage.table.sequence is not None:
        return sample_sequences(synthesizer, int(stage.split.fit[stage.table.sequence.entity_key].nunique()), seed=0)
    return sample_rows(synthesizer, min(len(stage.split.fit), SCORING_ROWS), seed=0)


def _size_epochs(stage: _Stage, name: str, params: dict[str, Any], first: bool) -> tuple[dict[str, Any], EpochProbe | None, str | None]:
    """`params` with `epochs` cut to what fits, the probe, and why the candidate is skipped (or None)."""
    configured = int(params.get(EPOCHS_PARAM, _default(name, EPOCHS_PARAM)))
    if configured <= PROBE_EPOCHS:  # the probe would cost as much as the fit itself
        return {**params, EPOCHS_PARAM: configured}, None, None
    long = stage.timed_fit(name, {**params, EPOCHS_PARAM: PROBE_EPOCHS}, first)
    if not first and stage.clock.left < MARGIN * (stage.scoring_seconds + long):
        return params, None, f"its {PROBE_EPOCHS}-epoch probe took {long:.1f} s; {stage.room()}, too little for a fit and its scoring"
    probe = EpochProbe(PROBE_EPOCHS, long, stage.timed_fit(name, {**params, EPOCHS_PARAM: 1}, first))
    epochs = plan_epochs(probe, stage.clock.left, stage.scoring_seconds, configured)
    stage.log.info(
        f"auto: {name} probe: {probe.one_epoch_seconds:.1f} s for one epoch, {probe.seconds_per_epoch:.3f} s per further epoch; "
        f"{stage.room()} -> {epochs or 'no'} of the {configured} configured epochs fit"
    )
    if epochs:
        return {**params, EPOCHS_PARAM: epochs}, probe, None
    minimum = min(MIN_EPOCHS, configured)
    if first:
        stage.log.info(f"auto: {name} is the first candidate and runs anyway, with {minimum} epochs")
        return {**params, EPOCHS_PARAM: minimum}, probe, None
    return params, probe, f"{minimum} epochs would take {probe.predicted_seconds(minimum):.1f} s and scoring {stage.scoring_seconds:.1f} s; {stage.room()}"


def _plan(stage: _Stage, name: str, first: bool) -> tuple[dict[str, Any], EpochProbe | None, str | None]:
    """The candidate's parameters within what is left, its probe, and why it is skipped (or None)."""
    params = dict(stage.table.candidate_params.get(name, {}))
    left = stage.clock.left
    if not first and left <= MARGIN * (stage.scoring_seconds + stage.fastest_fit):
        return params, None, f"{stage.room()}; the fastest fit took {stage.fastest_fit:.1f} s and scoring {stage.scoring_seconds:.1f} s"
    if name in EPOCH_CANDIDATES:
        return _size_epochs(stage, name, params, first)
    backend = stage.table.candidate_backend(name)
    if getattr(synthesizer_class(backend), "TIME_BUDGET_PARAM", None):
        training = left / MARGIN - stage.scoring_seconds
        if training < MIN_TRAINING_SECONDS and not first:
            return params, None, f"{stage.room()}: {max(training, 0):.1f} s of training after scoring, under the {MIN_TRAINING_SECONDS:.0f} s minimum"
        return cap_time_budget(backend, params, max(training, MIN_TRAINING_SECONDS)), None, None
    return params, None, None


def _stopped(name: str, seconds: float, epochs: int | None, probe: EpochProbe | None) -> Candidate:
    predicted = f" (its probe predicted {probe.predicted_seconds(epochs):.1f} s)" if probe and epochs else ""
    reason = f"stopped after {seconds:.1f} s of fitting{predicted} at the stage's deadline: {OVERRUN:.1f} x the budget, less scoring"
    return Candidate(name, seconds, epochs=epochs, status="stopped", reason=reason, probe=probe)


def _fit_and_score(
    stage: _Stage, name: str, params: dict[str, Any], probe: EpochProbe | None, first: bool, tracker: MlflowTracker, parent_run_id: str
) -> Candidate:
    table, log = stage.table, stage.log
    run_id = tracker.start_run(f"{table.name}-{name}", tags={"mlflow.parentRunId": parent_run_id, keys.CANDIDATE: name})
    with ModelRun(tracker, run_id):  # an error ends the candidate's run FAILED
        log.info(f"auto: fitting candidate {name} {params or ''} ({stage.clock.spent:.0f} s of {stage.clock.budget:g} s spent)")
        synthesizer = stage.build(name, params)
        try:
            fit_seconds = stage.fit(synthesizer, stage.deadline(name, first), progress_logger(log, f"auto: {name}"))
        except Stopped as stopped:
            candidate = _stopped(name, stopped.seconds, params.get(EPOCHS_PARAM), probe)
            tracker.set_tags(run_id, {keys.STOPPED: candidate.reason})
            tracker.end_run(run_id, "KILLED")
            return candidate
        log_training_end(log, f"auto: {name}", synthesizer, fit_seconds)
        started = time.perf_counter()
        table_metadata = stage.metadata.to_dict()["tables"][table.name]
        synthetic = _draw(stage, synthesizer)
        figures = _figures(table, stage.split, synthetic, table_metadata)
        failed = blocking_failures(table, figures, _suites(table, stage.split, synthetic, table_metadata))
        if table.sequence is not None:  # the sequences' own blocking check
            failed += [r.check_name for r in sequence_results(table, stage.split, synthetic) if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR]
        candidate = Candidate(name, fit_seconds, figures, failed, run_id, params.get(EPOCHS_PARAM), time.perf_counter() - started, probe=probe, synthesizer=synthesizer)
        tracker.log_params(run_id, {"synthesizer": name, **{f"synthesizer.{k}": v for k, v in params.items()}})
        probed = {"probe_seconds_per_epoch": probe.seconds_per_epoch, "probe_one_epoch_seconds": probe.one_epoch_seconds} if probe else {}
        numbers = {k: v for k, v in figures.items() if v is not None}
        tracker.log_metrics(
            run_id,
            {"fit_seconds": fit_seconds, "scoring_seconds": candidate.scoring_seconds, **numbers, **training_figures(synthesizer),
             **probed, "passed": float(candidate.passed), "checks_failed": float(len(failed))},
        )
        tracker.set_tags(run_id, {keys.FAILED_CHECKS: ",".join(failed) or "none"})
        tracker.end_run(run_id)
    return candidate


def private_candidates(log: Any, table: TableConfig) -> list[str]:
    """The candidates `auto` tries: with `privacy`, only those that give a differential-privacy
    guarantee (validation refuses a table with none), the others named in the log."""
    if table.privacy is None:
        return list(table.auto_candidates)
    kept = [name for name in table.auto_candidates if dp_capable(table.candidate_backend(name))]
    left_out = [name for name in table.auto_candidates if name not in kept]
    if left_out:
        log.info(f"auto: `privacy` is set; trying {', '.join(kept)} only, not {', '.join(left_out)} (no differential-privacy guarantee)")
    return kept


def choose_synthesizer(
    log: Any,
    table: TableConfig,
    split: SourceSplit,
    metadata: Any,
    tracker: MlflowTracker,
    parent_run_id: str,
) -> tuple[Candidate, list[Candidate]]:
    """Fits the candidates within the budget (module docstring); returns the winner and every
    candidate, ranked, the skipped and stopped ones last.

    Args:
        log: Where progress and skip reasons are written (the Dagster run log).
        table: The table's configuration (`auto_candidates`, `auto_budget_seconds`, gates, suites).
        split: The source rows: `fit` is fitted on, `holdout` and the profile score the candidates.
        metadata: SDV metadata of the table.
        tracker: MLflow, for one nested run per fitted candidate.
        parent_run_id: The table's run.
    """
    stage = _Stage(log, table, split, metadata, Clock(table.auto_budget_seconds))
    tried: list[Candidate] = []
    for index, name in enumerate(private_candidates(log, table)):
        try:
            params, probe, skipped = _plan(stage, name, first=index == 0)
        except Stopped as stopped:  # in its probe
            tried.append(_stopped(name, stopped.seconds, None, None))
            log.info(f"auto: not fitting {name}: its probe was {tried[-1].reason}")
            continue
        if skipped:
            log.info(f"auto: not fitting {name}: {skipped}")
            tried.append(Candidate(name, status="skipped", reason=skipped, probe=probe))
            continue
        candidate = _fit_and_score(stage, name, params, probe, index == 0, tracker, parent_run_id)
        if candidate.status == "stopped":
            log.info(f"auto: {name} {candidate.reason}")
            tried.append(candidate)
            continue
        stage.scoring_seconds = max(stage.scoring_seconds, candidate.scoring_seconds)
        stage.fastest_fit = min(stage.fastest_fit, candidate.fit_seconds) if stage.fastest_fit else candidate.fit_seconds
        log.info(f"auto: {name}: {candidate.describe()}")
        tried.append(candidate)
    figure_names = next(c.figures for c in tried if c.status == "fitted")
    for candidate in tried:
        if candidate.status != "fitted":  # the same columns in every row of the candidates table
            candidate.figures = {k: None for k in figure_names}
    spent = stage.clock.spent
    tracker.log_metrics(parent_run_id, {"auto.seconds": spent, "auto.budget_seconds": table.auto_budget_seconds})
    fitted = sum(c.status == "fitted" for c in tried)
    log.info(f"auto: {fitted} of {len(tried)} candidates fitted and scored in {spent:.1f} s of the {table.auto_budget_seconds:g} s budget")
    ranked = rank(tried)
    return ranked[0], ranked
