"""Helpers shared by the single-table and the group asset factories."""

from importlib import metadata as importlib_metadata
from typing import Any

import dagster as dg
import pyarrow as pa

from assets.records import FittedModel
from pipelines import metadata_keys as keys
from pipelines.errors import SynthpipeError
from resources.tracking import MlflowTracker

__all__ = [
    "asset_args",
    "block_run",
    "commit_metadata",
    "drop_excluded",
    "end_run_quietly",
    "fitted_metadata",
    "model_requirements",
    "property_metadata",
    "register_candidate",
    "start_model_run",
]

_MODEL_REQUIREMENTS = ("sdv", "pandas", "numpy", "torch")


def asset_args(spec: dg.AssetSpec) -> dict[str, Any]:
    """The translator's spec as `@asset` arguments; the data flow (ins) is the factory's own."""
    return {
        "key": spec.key,
        "group_name": spec.group_name,
        "description": spec.description,
        "kinds": spec.kinds,
        "tags": {k: v for k, v in spec.tags.items() if not k.startswith("dagster/kind/")},
        "owners": spec.owners,
        "metadata": spec.metadata,
    }


def drop_excluded(table: Any, arrow: pa.Table) -> pa.Table:
    """The source rows without the table's `exclude_columns`; an unknown name is an error."""
    missing = [c for c in table.exclude_columns if c not in arrow.column_names]
    if missing:
        raise SynthpipeError(
            f"Table {table.name!r}: `exclude_columns` names columns the source does not have: {missing}. "
            f"Source columns: {', '.join(arrow.column_names)}."
        )
    return arrow.drop_columns(table.exclude_columns) if table.exclude_columns else arrow


def model_requirements() -> list[str]:
    pins = []
    for name in _MODEL_REQUIREMENTS:
        try:
            pins.append(f"{name}=={importlib_metadata.version(name).split('+')[0]}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return pins


def end_run_quietly(tracker: MlflowTracker, run_id: str) -> None:
    try:
        tracker.end_run(run_id, "FAILED")
    except SynthpipeError:
        pass  # the original error is the one worth reporting


def start_model_run(context: dg.AssetExecutionContext, tracker: MlflowTracker, name: str, fingerprint: str) -> str:
    """Opens the one MLflow run of this table (or group) in this Dagster run."""
    return tracker.start_run(
        name, tags={keys.TABLE: name, keys.DAGSTER_RUN_ID: context.run.run_id, keys.SOURCE_FINGERPRINT: fingerprint}
    )


def fitted_metadata(fitted: FittedModel) -> dict[str, Any]:
    """Materialization metadata of a synthesizer asset."""
    return {
        keys.SYNTHESIZER: fitted.synthesizer,
        keys.FIT_SECONDS: dg.FloatMetadataValue(round(fitted.fit_seconds, 3)),
        keys.TRAINING_ROWS: fitted.training_rows,
        keys.MLFLOW_RUN_ID: fitted.mlflow_run_id,
        keys.MODEL_NAME: fitted.model_name,
        keys.MODEL_VERSION: fitted.model_version,
        keys.MODEL_REUSED: fitted.reused_from is not None,
    }


def block_run(context: dg.AssetExecutionContext, tracker: MlflowTracker, fitted: FittedModel, checks: dict[str, bool]) -> None:
    """When a blocking check failed: marks the MLflow run FAILED with the checks that blocked it."""
    if all(checks.values()):
        return
    blocked = ", ".join(name for name, ok in checks.items() if not ok)
    tracker.set_tags(fitted.mlflow_run_id, {"synthpipe/blocked_by": blocked})
    tracker.end_run(fitted.mlflow_run_id, "FAILED")
    context.log.warning(f"Blocking checks failed ({blocked}); nothing of {fitted.table!r} will be published")


def commit_metadata(
    context: dg.AssetExecutionContext, model: FittedModel, seed: int, quality: float, checks: dict[str, bool]
) -> dict[str, Any]:
    """What every published Delta version records about how it was made."""
    commit = {
        keys.DAGSTER_RUN_ID: context.run.run_id,
        keys.MLFLOW_RUN_ID: model.mlflow_run_id,
        keys.MODEL_NAME: model.model_name,
        keys.MODEL_VERSION: model.model_version,
        keys.SYNTHESIZER: model.synthesizer,
        keys.SEED: seed,
        keys.QUALITY_SCORE: round(quality, 6),
        keys.SOURCE_FINGERPRINT: model.source_fingerprint,
        keys.CHECKS_PASSED: ",".join(sorted(checks)),
    }
    if context.has_partition_key:
        commit["synthpipe/partition"] = context.partition_key
    return commit


def register_candidate(
    tracker: MlflowTracker, run_id: str, synthesizer: Any, model_name: str, name: str, tags: dict[str, str] | None = None
) -> tuple[str, str]:
    """Logs the fitted synthesizer as a pyfunc, registers it (with `tags`) and gives it the
    `candidate` alias. Returns the model's artifact URI and its registered version.
    """
    model_uri = tracker.log_synthesizer(run_id, synthesizer, model_requirements())
    version = tracker.register(model_name, model_uri, run_id, {keys.TABLE: name, **(tags or {})})
    tracker.set_alias(model_name, "candidate", version)
    return model_uri, version


def property_metadata(properties: dict[str, float]) -> dict[str, Any]:
    """SDMetrics report properties ("Column Shapes") as namespaced metadata (`synthpipe/column_shapes`)."""
    return {f"{keys.PREFIX}{name.lower().replace(' ', '_')}": dg.FloatMetadataValue(round(value, 4)) for name, value in properties.items()}
