"""`synthesizer: auto`: fit several candidates within a time budget and keep the best.

Each candidate is fitted on the same training rows, sampled, and scored with the same
evaluation as the nightly gates (quality, exact copies, DCR share against the holdout, utility
when a `target` is set); each is logged as a nested MLflow run under the table's run. The rule:
candidates that pass every blocking gate come first, then the higher quality score, then the
shorter fit time. Candidates are started in the configured order until the budget is spent; the
first always runs, so a table never ends without a model. A backend that trains against a time
budget of its own (TabularARGN) is given at most what is left of this one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from assets.common import log_training_end, progress_logger, training_figures
from assets.evaluation import evaluate_quality
from assets.gates import GATES
from assets.privacy import evaluate_privacy
from assets.utility import evaluate_utility
from pipelines.config import TableConfig
from resources.synthesizers import build_synthesizer, cap_time_budget, fit_synthesizer, sample_rows
from resources.tracking import MlflowTracker

__all__ = ["Candidate", "choose_synthesizer", "rank"]

# Rows sampled per candidate for scoring: enough for stable scores, cheap on large tables.
SCORING_ROWS = 5_000


@dataclass
class Candidate:
    name: str
    fit_seconds: float
    figures: dict[str, float]
    gates_passed: bool
    run_id: str
    synthesizer: Any = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"synthesizer": self.name, "fit_seconds": round(self.fit_seconds, 3), "gates_passed": self.gates_passed, **self.figures}


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: passing every blocking gate, then higher quality, then faster fit."""
    return sorted(candidates, key=lambda c: (not c.gates_passed, -c.figures["quality_score"], c.fit_seconds))


def _figures(table: TableConfig, train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, metadata: Any) -> dict[str, float]:
    table_metadata = metadata.to_dict()["tables"][table.name]
    figures = {"quality_score": evaluate_quality(train, synthetic, table_metadata).score}
    privacy = evaluate_privacy(synthetic, train, holdout, table_metadata["columns"])
    figures.update(exact_copy_share=privacy.exact_copy_share, dcr_closer_to_training_share=privacy.dcr_closer_to_training_share)
    if table.target:
        figures["utility_ratio"] = evaluate_utility(train, synthetic, holdout, table.target).ratio
    return figures


def _passes(table: TableConfig, figures: dict[str, float]) -> bool:
    measured = {
        "quality": (figures["quality_score"], table.quality_threshold),
        "exact_copies": (figures["exact_copy_share"], table.max_exact_copy_share),
        "dcr": (figures["dcr_closer_to_training_share"], table.max_dcr_closer_share),
    }
    if "utility_ratio" in figures:
        measured["utility"] = (figures["utility_ratio"], table.min_utility_ratio)
    return all(GATES[g].passed(v, t) for g, (v, t) in measured.items() if table.severity(g) == "error")


def choose_synthesizer(
    log: Any,
    table: TableConfig,
    fit_data: pd.DataFrame,
    holdout: pd.DataFrame,
    metadata: Any,
    tracker: MlflowTracker,
    parent_run_id: str,
) -> tuple[Candidate, list[Candidate]]:
    """Fits the candidates within the budget; returns the winner and every candidate, ranked."""
    started = time.perf_counter()
    tried: list[Candidate] = []
    for name in table.auto_candidates:
        spent = time.perf_counter() - started
        if tried and spent >= table.auto_budget_seconds:
            log.info(f"auto: budget of {table.auto_budget_seconds:.0f} s spent after {len(tried)} candidates; not fitting {name}")
            continue
        # A backend with its own training-time budget (TabularARGN) gets what is left of this one.
        params = cap_time_budget(name, table.candidate_params.get(name, {}), table.auto_budget_seconds - spent)
        run_id = tracker.start_run(f"{table.name}-{name}", tags={"mlflow.parentRunId": parent_run_id, "synthpipe/candidate": name})
        log.info(f"auto: fitting candidate {name} {params or ''} ({spent:.0f} s of {table.auto_budget_seconds:.0f} s spent)")
        synthesizer = build_synthesizer(name, params, metadata, table.name, constraints=table.enforced_rules)
        fit_seconds = fit_synthesizer(synthesizer, table.name, fit_data, progress_logger(log, f"auto: {name}"))
        log_training_end(log, f"auto: {name}", synthesizer)
        synthetic = sample_rows(synthesizer, min(len(fit_data), SCORING_ROWS), seed=0)
        figures = _figures(table, fit_data, holdout, synthetic, metadata)
        candidate = Candidate(name, fit_seconds, figures, _passes(table, figures), run_id, synthesizer)
        tracker.log_params(run_id, {"synthesizer": name, **{f"synthesizer.{k}": v for k, v in params.items()}})
        tracker.log_metrics(
            run_id, {"fit_seconds": fit_seconds, **figures, **training_figures(synthesizer), "gates_passed": float(candidate.gates_passed)}
        )
        tracker.end_run(run_id)
        log.info(f"auto: {name}: {candidate.summary()}")
        tried.append(candidate)
    ranked = rank(tried)
    return ranked[0], ranked
