"""The fit stage: `<unit>/synthesizer`, the same asset for every kind of table.

It opens the unit's MLflow run (`assets.lifecycle.ModelRun`), has the kind fit its backend (or
reuse the champion when nothing changed), logs the model as a pyfunc and registers it with the
alias `candidate`. What a kind fits and logs is its own (`Kind.fit`); registration, progress
reporting and champion reuse are shared and live here.
"""


from importlib import metadata as importlib_metadata
from typing import Any

import dagster as dg

from synthpipe import metadata_keys as keys
from synthpipe.assets.kinds import Kind
from synthpipe.assets.lifecycle import ModelRun, mlflow_links
from synthpipe.assets.records import FittedModel
from synthpipe.assets.translator import stage_asset
from synthpipe.resources.differential_privacy import privacy_metadata
from synthpipe.resources.tracking import MlflowTracker

__all__ = [
    "describe_progress",
    "fitted_metadata",
    "log_training_end",
    "model_requirements",
    "progress_logger",
    "register_candidate",
    "reusable_champion",
    "synthesizer_asset",
    "training_figures",
]

_MODEL_REQUIREMENTS = ("sdv", "pandas", "numpy", "torch")
_ENGINE_REQUIREMENTS = ("mostlyai-engine", "opacus", "transformers", "datasets")


def synthesizer_asset(kind: Kind, spec: dg.AssetSpec, source_key: dg.AssetKey) -> dg.AssetsDefinition:
    """`<unit>/synthesizer`: the registered model version the sample stage loads."""

    @stage_asset(spec, ins={"read": dg.AssetIn(source_key)})
    def synthesizer(context: dg.AssetExecutionContext, read: Any, synthpipe_mlflow: MlflowTracker) -> dg.MaterializeResult:
        with ModelRun.start(context, synthpipe_mlflow, kind.name, read.fingerprint) as run:
            fitted = kind.fit(context, read, synthpipe_mlflow, run)
        metadata = {**fitted_metadata(fitted), **mlflow_links(synthpipe_mlflow, fitted), **kind.fit_metadata(fitted, read)}
        return dg.MaterializeResult(value=fitted, metadata=metadata)

    return synthesizer


def fitted_metadata(fitted: FittedModel) -> dict[str, Any]:
    """What every synthesizer asset records."""
    return {
        keys.SYNTHESIZER: fitted.synthesizer,
        keys.FIT_SECONDS: dg.FloatMetadataValue(round(fitted.fit_seconds, 3)),
        keys.TRAINING_ROWS: fitted.training_rows,
        keys.MLFLOW_RUN_ID: fitted.mlflow_run_id,
        keys.MODEL_NAME: fitted.model_name,
        keys.MODEL_VERSION: fitted.model_version,
        keys.MODEL_REUSED: fitted.reused_from is not None,
        **{key: dg.FloatMetadataValue(value) for key, value in privacy_metadata(fitted.privacy).items()},
    }


def model_requirements(synthesizer: Any = None) -> list[str]:
    """Pinned requirements of the logged pyfunc: SDV's stack, plus the engine's for TabularARGN."""
    pins = []
    engine = _ENGINE_REQUIREMENTS if type(synthesizer).__module__.startswith("synthpipe.resources.argn") else ()
    for name in (*_MODEL_REQUIREMENTS, *engine):
        try:
            pins.append(f"{name}=={importlib_metadata.version(name).split('+')[0]}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return pins


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


def reusable_champion(model_name: str, fingerprint: str, fit_fingerprint: str, tracker: MlflowTracker) -> Any | None:
    """The `champion` model version when it was fitted on this very source content with the
    current fit settings; None when anything differs (or there is no champion yet).
    """
    champion = tracker.model_version(model_name, "champion")
    if champion is None:
        return None
    tags = champion.tags or {}
    same_source = tags.get(keys.SOURCE_FINGERPRINT) == fingerprint
    return champion if same_source and tags.get(keys.FIT_FINGERPRINT) == fit_fingerprint else None


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
    budget = progress.get("budget_seconds")
    left = "no time budget" if budget is None else f"{progress['seconds_left']:.0f} s left of the {budget:.0f} s budget"
    epsilon = progress.get("dp_epsilon")
    return (
        f"epoch {progress['epoch']}, training loss {progress['train_loss']}, "
        f"validation loss {validation if validation is not None else 'not yet measured'}, "
        f"{progress['elapsed_seconds']:.0f} s elapsed, {left}" + (f", ε {epsilon:g} spent" if epsilon is not None else "")
    )


def log_training_end(log: Any, label: str, synthesizer: Any, fit_seconds: float | None = None) -> None:
    """Where and why training stopped, for a backend that reports progress: its last report's
    epoch and losses, with the time the whole fit took (`fit_seconds`) rather than the time of
    that last report, which can be long before the fit ended."""
    report = getattr(synthesizer, "training_report", None)
    if not report:
        return
    if fit_seconds is not None:
        budget = report.get("budget_seconds")
        left = None if budget is None else max(budget - fit_seconds, 0.0)
        report = {**report, "elapsed_seconds": fit_seconds, "seconds_left": left}
    log.info(f"{label}: training ended at {describe_progress(report)}")


def training_figures(synthesizer: Any) -> dict[str, float]:
    """Where training stopped (epoch, validation loss), for backends that report it."""
    report = getattr(synthesizer, "training_report", None) or {}
    names = {"epoch": "training_epochs", "validation_loss": "validation_loss", "train_loss": "training_loss"}
    return {metric: float(report[key]) for key, metric in names.items() if report.get(key) is not None}
