"""The MLflow run of one unit of synthesis (a table, a sequence table or a group) in one Dagster
run: started by the fit stage, carried by the sample stage, ended by exactly one of

- **failed**: any error inside `with run:` ends it FAILED and re-raises the error;
- **blocked**: a blocking check failed; FAILED, tagged with the checks that blocked it;
- **promoted**: published; the model version becomes `champion`, the run FINISHED;
- **killed**: a later Dagster run finds it RUNNING though its own Dagster run is over.

So no run is left RUNNING, whatever kind of table it belongs to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import dagster as dg

from synthpipe import metadata_keys as keys
from synthpipe.assets.records import FittedModel
from synthpipe.errors import SynthpipeError
from synthpipe.resources.run_storage import IN_PROGRESS
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["ModelRun", "end_abandoned_runs", "mlflow_links", "run_name"]


@dataclass
class ModelRun:
    """An open MLflow run; a context manager that ends it FAILED when its block raises."""

    tracker: MlflowTracker
    run_id: str

    @classmethod
    def start(cls, context: dg.AssetExecutionContext, tracker: MlflowTracker, name: str, fingerprint: str) -> ModelRun:
        """Opens the one MLflow run of `name` in this Dagster run, after ending the runs of
        `name` that a killed Dagster run left RUNNING."""
        end_abandoned_runs(context, tracker, name)
        run_id = tracker.start_run(
            run_name(name), tags={keys.TABLE: name, keys.DAGSTER_RUN_ID: context.run.run_id, keys.SOURCE_FINGERPRINT: fingerprint}
        )
        return cls(tracker, run_id)

    @classmethod
    def claim(cls, context: dg.AssetExecutionContext, tracker: MlflowTracker, fitted: FittedModel) -> tuple[ModelRun, FittedModel]:
        """The run of the fitted model if this Dagster run fitted it. A run that samples without
        fitting (only `<t>/synthetic` and `<t>/published` selected) reads a model fitted by an
        earlier run, whose MLflow run is over: tonight's seed, scores and outcome go to a new
        one that points at it, as when a champion is reused."""
        if tracker.run_tags(fitted.mlflow_run_id).get(keys.DAGSTER_RUN_ID) == context.run.run_id:
            return cls(tracker, fitted.mlflow_run_id), fitted
        run = cls.start(context, tracker, fitted.table, fitted.source_fingerprint)
        run.mark_reused(fitted.mlflow_run_id)
        tracker.log_params(run.run_id, {"table": fitted.table, "synthesizer": fitted.synthesizer, "reused_model_version": fitted.model_version})
        context.log.info(f"Sampling {fitted.model_name} v{fitted.model_version}, fitted by an earlier run; logging to MLflow run {run.run_id}")
        return run, dataclasses.replace(fitted, mlflow_run_id=run.run_id, reused_from=fitted.reused_from or fitted.mlflow_run_id)

    def __enter__(self) -> ModelRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if error is not None:
            self.fail()

    def mark_reused(self, fitted_by: str) -> None:
        self.tracker.set_tags(self.run_id, {keys.MODEL_REUSED: "true", keys.FITTED_BY_RUN: fitted_by})

    def fail(self) -> None:
        """Ends the run FAILED after an error; a failure to do so must not hide that error."""
        try:
            self.tracker.end_run(self.run_id, "FAILED")
        except SynthpipeError:
            pass  # the original error is the one worth reporting

    def block(self, context: dg.AssetExecutionContext, name: str, checks: dict[str, bool]) -> None:
        """When a blocking check failed: ends the run FAILED, tagged with the checks that blocked it."""
        if all(checks.values()):
            return
        blocked = ", ".join(check for check, ok in checks.items() if not ok)
        self.tracker.set_tags(self.run_id, {keys.BLOCKED_BY: blocked})
        self.tracker.end_run(self.run_id, "FAILED")
        context.log.warning(f"Blocking checks failed ({blocked}); nothing of {name!r} will be published")

    def promote(self, model: FittedModel, tags: dict[str, Any]) -> None:
        """After publication: the model version becomes `champion`; the run records what was
        published (`tags`) and ends FINISHED."""
        self.tracker.set_alias(model.model_name, "champion", model.model_version)
        self.tracker.set_tags(self.run_id, tags)
        self.tracker.end_run(self.run_id, "FINISHED")


def run_name(name: str, when: dt.datetime | None = None) -> str:
    """The MLflow run's name: the table (or group) and the UTC date and time it started, so a
    list of runs reads night by night (`adult 2026-12-03 02:00`)."""
    return f"{name} {(when or dt.datetime.now(dt.timezone.utc)):%Y-%m-%d %H:%M}"


def _dagster_run_state(instance: dg.DagsterInstance, run_id: str | None) -> str | None:
    """None while the Dagster run is in progress; else its status, or why it is unknown."""
    if not run_id:
        return "unknown (the MLflow run names no Dagster run)"
    run = instance.get_run_by_id(run_id)
    if run is None:
        return "unknown to this Dagster instance"
    return None if run.status in IN_PROGRESS else run.status.value


def end_abandoned_runs(context: dg.AssetExecutionContext, tracker: MlflowTracker, name: str) -> list[str]:
    """Sets KILLED the MLflow runs of `name` still RUNNING whose Dagster run is over (or
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


def mlflow_links(tracker: MlflowTracker, model: FittedModel) -> dict[str, Any]:
    """The model's MLflow run and registered version as links that open the MLflow UI."""
    links = tracker.links
    run = links.run(tracker.experiment_id(), model.mlflow_run_id)
    version = links.model_version(model.model_name, model.model_version)
    return {
        **({keys.MLFLOW_RUN: dg.MetadataValue.url(run)} if run else {}),
        **({keys.MODEL_VERSION_PAGE: dg.MetadataValue.url(version)} if version else {}),
    }
