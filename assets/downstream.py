"""The downstream stage: `<table>/downstream`, the example consumer of a published version.

A gradient-boosting model for the table's `target`, trained on the latest published version and
scored on real held-out rows, logged to MLflow with the synthetic version as its dataset input.
The loader hands over the latest version; pin one with AssetIn metadata `{keys.VERSION: N}`.
"""


import dagster as dg

from synthpipe import metadata_keys as keys
from synthpipe.assets.evaluation.utility import table_utility
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.translator import stage_asset
from synthpipe.assets.split import SourceSplit
from synthpipe.config import TableConfig
from synthpipe.resources.published import PublishedTable
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["downstream_asset", "train_downstream"]


def downstream_asset(table: TableConfig, spec: dg.AssetSpec, source_key: dg.AssetKey, published_key: dg.AssetKey) -> dg.AssetsDefinition:
    @stage_asset(spec, ins={"split": dg.AssetIn(source_key), "published": dg.AssetIn(published_key, input_manager_key="synthpipe_published")})
    def downstream(
        context: dg.AssetExecutionContext, split: SourceSplit, published: PublishedTable, synthpipe_mlflow: MlflowTracker
    ) -> dg.MaterializeResult:
        return train_downstream(context, table, split, published, synthpipe_mlflow)

    return downstream


def train_downstream(
    context: dg.AssetExecutionContext, table: TableConfig, split: SourceSplit, published: PublishedTable, tracker: MlflowTracker
) -> dg.MaterializeResult:
    """Trains on a published version, scores on real held-out rows, logs the lineage."""
    assert table.target is not None
    data, version = published.data, published.version
    context.log.info(f"Training a model for {table.target!r} on {table.name!r} version {version} ({len(data)} rows)")
    utility = table_utility(table, split, data)
    run_id = tracker.start_run(
        f"{table.name}-downstream",
        tags={keys.TABLE: table.name, keys.DAGSTER_RUN_ID: context.run.run_id, keys.SNAPSHOT_VERSION: version, keys.STAGE: "downstream"},
    )
    with ModelRun(tracker, run_id):  # an error ends it FAILED, never left RUNNING
        tracker.log_dataset(run_id, data, f"synthpipe-{table.name}@v{version}", f"{published.uri}@v{version}", "training", table.target)
        tracker.log_params(run_id, {"target": table.target, "task": utility.task, "snapshot_version": version, "model": "HistGradientBoosting"})
        tracker.log_metrics(run_id, utility.as_metrics())
    tracker.end_run(run_id)
    return dg.MaterializeResult(
        metadata={
            **published.metadata(),
            keys.UTILITY_METRIC: utility.metric,
            keys.UTILITY_REAL_SCORE: dg.FloatMetadataValue(round(utility.real_score, 4)),
            keys.UTILITY_SYNTHETIC_SCORE: dg.FloatMetadataValue(round(utility.synthetic_score, 4)),
            keys.UTILITY_RATIO: dg.FloatMetadataValue(round(utility.ratio, 4)),
            keys.MLFLOW_RUN_ID: run_id,
        }
    )
