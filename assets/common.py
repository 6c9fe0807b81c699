"""Helpers shared by the single-table and the group asset factories."""

import dataclasses
from importlib import metadata as importlib_metadata
from typing import Any

import dagster as dg
import pyarrow as pa

from synthpipe.assets.records import FittedModel
from synthpipe import metadata_keys as keys
from synthpipe.errors import SynthpipeError
from synthpipe.resources.run_storage import IN_PROGRESS
from synthpipe.resources.tracking import MlflowTracker

__all__ = [
    "asset_args",
    "block_run",
    "claim_model_run",
    "commit_metadata",
    "drop_excluded",
    "end_abandoned_runs",
    "end_run_quietly",
    "fitted_metadata",
    "model_requirements",
    "log_training_end",
    "progress_logger",
    "training_figures",
    "property_metadata",
    "register_candidate",
    "start_model_run",
]

_MODEL_REQUIREMENTS = ("sdv", "pandas", "numpy", "torch")
_ENGINE_REQUIREMENTS = ("mostlyai-engine", "opacus", "transformers", "datasets")


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


def model_requirements(synthesizer: Any = None) -> list[str]:
    """Pinned requirements of the logged pyfunc: SDV's stack, plus the engine's for TabularARGN."""
    pins = []
    engine = _ENGINE_REQUIREMENTS if type(synthesizer).__name__ == "ArgnSynthesizer" else ()
    for name in (*_MODEL_REQUIREMENTS, *engine):
        try:
            pins.append(f"{name}=={importlib_metadata.version(name).split('+')[0]}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return pins


def progress_logger(log: Any, label: str, every_seconds: float = 10.0) -> Any:
    """A training-progress handler that writes to the Dagster run log: the first report, then
    at most one every `every_seconds` (an epoch on a small table takes a second or two).
    """
    last = [-every_seconds]

    def report(progress: dict[str, Any]) -> None:
        if progress["elapsed_seconds"] - last[0] < every_seconds:
            return
        last[0] = progress["elapsed_seconds"]
        log.info(f"{label}: {describe_progress(progress)}")

    return report


def describe_progress(progress: dict[str, Any]) -> str:
    validation = progress.get("validation_loss")
    return (
        f"epoch {progress['epoch']}, training loss {progress['train_loss']}, "
        f"validation loss {validation if validation is not None else 'not yet measured'}, "
        f"{progress['elapsed_seconds']:.0f} s elapsed, {progress['seconds_left']:.0f} s left of the "
        f"{progress['budget_seconds']:.0f} s budget"
    )


def log_training_end(log: Any, label: str, synthesizer: Any) -> None:
    """The last progress report of a backend that reports one: where and why training stopped."""
    report = getattr(synthesizer, "training_report", None)
    if report:
        log.info(f"{label}: training ended at {describe_progress(report)}")


def training_figures(synthesizer: Any) -> dict[str, float]:
    """Where training stopped (epoch, validation loss), for backends that report it."""
    report = getattr(synthesizer, "training_report", None) or {}
    names = {"epoch": "training_epochs", "validation_loss": "validation_loss", "train_loss": "training_loss"}
    return {metric: float(report[key]) for key, metric in names.items() if report.get(key) is not None}


def end_run_quietly(tracker: MlflowTracker, run_id: str) -> None:
    """Marks the run FAILED after an error; a failure to do so must not hide that error."""
    try:
        tracker.end_run(run_id, "FAILED")
    except SynthpipeError:
        pass  # the original error is the one worth reporting


def start_model_run(context: dg.AssetExecutionContext, tracker: MlflowTracker, name: str, fingerprint: str) -> str:
    """Opens the one MLflow run of this table (or group) in this Dagster run, after ending the
    table's runs that a killed Dagster run left RUNNING."""
    end_abandoned_runs(context, tracker, name)
    return tracker.start_run(
        name, tags={keys.TABLE: name, keys.DAGSTER_RUN_ID: context.run.run_id, keys.SOURCE_FINGERPRINT: fingerprint}
    )


def _dagster_run_state(instance: dg.DagsterInstance, run_id: str | None) -> str | None:
    """None while the Dagster run is in progress; else its status, or why it is unknown."""
    if not run_id:
        return "unknown (the MLflow run names no Dagster run)"
    run = instance.get_run_by_id(run_id)
    if run is None:
        return "unknown to this Dagster instance"
    return None if run.status in IN_PROGRESS else run.status.value


def end_abandoned_runs(context: dg.AssetExecutionContext, tracker: MlflowTracker, name: str) -> list[str]:
    """Sets KILLED the MLflow runs of table `name` still RUNNING whose Dagster run is over (or
    unknown): a process killed mid-run never ends its MLflow run. Returns their ids.
    """
    ended = []
    for run in tracker.running_runs({keys.TABLE: name}):
        dagster_run_id = run.data.tags.get(keys.DAGSTER_RUN_ID)
        state = _dagster_run_state(context.instance, dagster_run_id)
        if state is None:
            continue  # a concurrent run of the same table: it ends its own MLflow run
        reason = f"its Dagster run {dagster_run_id} is {state}; ended when Dagster run {context.run.run_id} started"
        tracker.kill_run(run.info.run_id, reason)
        context.log.warning(f"MLflow run {run.info.run_id} of {name!r} was still RUNNING, but {reason}; set it KILLED")
        ended.append(run.info.run_id)
    return ended


def claim_model_run(context: dg.AssetExecutionContext, tracker: MlflowTracker, fitted: FittedModel) -> FittedModel:
    """The fitted model with an MLflow run of this Dagster run. A run that samples without
    fitting (only `synthetic/<t>` and `published/<t>` selected) reads a model fitted by an
    earlier run, whose MLflow run is over: tonight's seed, scores and outcome go to a new one
    that points at it, as when a champion is reused."""
    tags = tracker.run_tags(fitted.mlflow_run_id)
    if tags.get(keys.DAGSTER_RUN_ID) == context.run.run_id:
        return fitted
    run_id = start_model_run(context, tracker, fitted.table, fitted.source_fingerprint)
    tracker.set_tags(run_id, {keys.MODEL_REUSED: "true", keys.FITTED_BY_RUN: fitted.mlflow_run_id})
    tracker.log_params(run_id, {"table": fitted.table, "synthesizer": fitted.synthesizer, "reused_model_version": fitted.model_version})
    context.log.info(f"Sampling {fitted.model_name} v{fitted.model_version}, fitted by an earlier run; logging to MLflow run {run_id}")
    return dataclasses.replace(fitted, mlflow_run_id=run_id, reused_from=fitted.reused_from or fitted.mlflow_run_id)


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
    tracker.set_tags(fitted.mlflow_run_id, {keys.BLOCKED_BY: blocked})
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
        commit[keys.PARTITION] = context.partition_key
    return commit


def register_candidate(
    tracker: MlflowTracker, run_id: str, synthesizer: Any, model_name: str, name: str, tags: dict[str, str] | None = None
) -> tuple[str, str]:
    """Logs the fitted synthesizer as a pyfunc, registers it (with `tags`) and gives it the
    `candidate` alias. Returns the model's artifact URI and its registered version.
    """
    model_uri = tracker.log_synthesizer(run_id, synthesizer, model_requirements(synthesizer))
    version = tracker.register(model_name, model_uri, run_id, {keys.TABLE: name, **(tags or {})})
    tracker.set_alias(model_name, "candidate", version)
    return model_uri, version


def property_metadata(properties: dict[str, float]) -> dict[str, Any]:
    """SDMetrics report properties ("Column Shapes") as namespaced metadata (`synthpipe/column_shapes`)."""
    return {f"{keys.PREFIX}{name.lower().replace(' ', '_')}": dg.FloatMetadataValue(round(value, 4)) for name, value in properties.items()}
