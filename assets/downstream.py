"""The downstream stage: `<table>/downstream`, the example consumer of a published version.

Gradient-boosting models for the table's `target`, one per `train_on` entry: trained on the real
training rows (`real`), on the latest published version (`synthetic`, the default) or on both
(`real+synthetic`), all scored on the same real held-out rows. Each model is an MLflow run of its
own, tagged with what it was trained on, whose dataset inputs are the rows it learned from; the
materialization compares them in one table. The loader hands over the latest version; pin one
with AssetIn metadata `{keys.VERSION: N}`.
"""

# No `from __future__ import annotations`: Dagster reads the asset function's annotations (resources).
from typing import Any

import dagster as dg
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.evaluation.utility import TrainingScore, score_training_set
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.split import SourceSplit
from synthpipe.assets.translator import stage_asset
from synthpipe.config import TableConfig
from synthpipe.resources.published import PublishedTable
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["downstream_asset", "training_frames", "train_downstream"]

# Every model is compared with the one trained on real rows, which is trained even when
# `train_on` does not list it.
BASELINE = "real"


def downstream_asset(table: TableConfig, spec: dg.AssetSpec, source_key: dg.AssetKey, published_key: dg.AssetKey) -> dg.AssetsDefinition:
    @stage_asset(spec, ins={"split": dg.AssetIn(source_key), "published": dg.AssetIn(published_key, input_manager_key="synthpipe_published")})
    def downstream(
        context: dg.AssetExecutionContext, split: SourceSplit, published: PublishedTable, synthpipe_mlflow: MlflowTracker
    ) -> dg.MaterializeResult:
        return train_downstream(context, table, split, published, synthpipe_mlflow)

    return downstream


def training_frames(table: TableConfig, split: SourceSplit, published: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows each entry of `train_on` (and the `real` baseline) learns from, plus the real
    holdout under `holdout`; the table's generated columns are no feature to learn from.

    Args:
        table: The table's configuration (its `target` set).
        split: The real training and holdout rows.
        published: The rows of the published version.
    """
    drop = [c for c in table.generated_columns if c != table.target]
    real, synthetic, holdout = (frame.drop(columns=drop) for frame in (split.train, published, split.holdout))
    frames = {"real": real, "synthetic": synthetic, "holdout": holdout}
    if "real+synthetic" in table.train_on:  # a copy of both: only when asked for
        frames["real+synthetic"] = pd.concat([real, synthetic[list(real.columns)]], ignore_index=True)
    return frames


def train_downstream(
    context: dg.AssetExecutionContext, table: TableConfig, split: SourceSplit, published: PublishedTable, tracker: MlflowTracker
) -> dg.MaterializeResult:
    """Trains one model per `train_on` entry, scores each on real held-out rows, logs the lineage."""
    assert table.target is not None
    context.log.info(
        f"Training models for {table.target!r} of {table.name!r} on {', '.join(table.train_on)} "
        f"(version {published.version}: {len(published.data)} rows; {len(split.train)} real training rows)"
    )
    frames = training_frames(table, split, published.data)
    scores = {
        name: score_training_set(frames[name], frames["holdout"], table.target, frames[BASELINE])
        for name in dict.fromkeys([BASELINE, *table.train_on])
    }
    runs = {name: _log_run(context, table, split, published, tracker, name, scores) for name in table.train_on}
    return dg.MaterializeResult(metadata=_metadata(table, published, tracker, scores, runs))


def _log_run(
    context: dg.AssetExecutionContext,
    table: TableConfig,
    split: SourceSplit,
    published: PublishedTable,
    tracker: MlflowTracker,
    train_on: str,
    scores: dict[str, TrainingScore],
) -> str:
    """The MLflow run of the model trained on `train_on`: tags, the rows it learned from as
    dataset inputs, parameters and metrics. Returns its id."""
    assert table.target is not None
    score, version = scores[train_on], published.version
    tags = {keys.TABLE: table.name, keys.DAGSTER_RUN_ID: context.run.run_id, keys.SNAPSHOT_VERSION: version, keys.STAGE: "downstream", keys.TRAIN_ON: train_on}
    run_id = tracker.start_run(f"{table.name}-downstream-{train_on}", tags=tags)
    with ModelRun(tracker, run_id):  # an error ends it FAILED, never left RUNNING
        if train_on != "synthetic":
            tracker.log_dataset(run_id, split.train, f"real-{table.name}-training", table.source_name, "training", table.target)
        if train_on != "real":
            tracker.log_dataset(run_id, published.data, f"synthpipe-{table.name}@v{version}", f"{published.uri}@v{version}", "training", table.target)
        params = {"target": table.target, "task": score.task, "snapshot_version": version, "model": "HistGradientBoosting"}
        tracker.log_params(run_id, {**params, "train_on": train_on, "training_rows": score.rows})
        tracker.log_metrics(run_id, score.as_metrics(train_on, scores[BASELINE]))
    tracker.end_run(run_id)
    return run_id


def _metadata(
    table: TableConfig, published: PublishedTable, tracker: MlflowTracker, scores: dict[str, TrainingScore], runs: dict[str, str]
) -> dict[str, Any]:
    """The version read, the comparison table, and the utility keys of the `synthetic` model
    (the real model's score and the metric always)."""
    real = scores[BASELINE]
    metadata: dict[str, Any] = {
        **published.metadata(),
        keys.DOWNSTREAM_COMPARISON: dg.MetadataValue.md(comparison_table(scores, runs, tracker)),
        keys.UTILITY_METRIC: real.metric,
        keys.UTILITY_REAL_SCORE: dg.FloatMetadataValue(round(real.score, 4)),
    }
    if "synthetic" in runs:
        synthetic = scores["synthetic"]
        metadata[keys.UTILITY_SYNTHETIC_SCORE] = dg.FloatMetadataValue(round(synthetic.score, 4))
        metadata[keys.UTILITY_RATIO] = dg.FloatMetadataValue(round(synthetic.ratio_to(real), 4))
        metadata[keys.MLFLOW_RUN_ID] = runs["synthetic"]
    return metadata


def comparison_table(scores: dict[str, TrainingScore], runs: dict[str, str], tracker: MlflowTracker | None = None) -> str:
    """A markdown table of the models trained on each `train_on` entry (the MLflow run linked
    where the MLflow UI's address is known)."""
    real = scores[BASELINE]
    minority = f" ({real.minority!r})" if real.minority is not None else ""
    rows = [
        f"| trained on | training rows | {real.metric} | ratio to real | minority recall{minority} | PR-AUC{minority} | MLflow run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run_id in runs.items():
        score = scores[name]
        link = tracker.links.run(tracker.experiment_id(), run_id) if tracker is not None else None
        cells = (name, f"{score.rows:,}", _number(score.score), _number(score.ratio_to(real)), _number(score.minority_recall), _number(score.pr_auc))
        rows.append("| " + " | ".join(cells) + f" | {f'[{run_id[:8]}]({link})' if link else f'`{run_id}`'} |")
    return "\n".join(rows)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
