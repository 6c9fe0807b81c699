"""The MLflow resource: an explicit, typed surface over `MlflowClient`.

One client per resource instance and no fluent (global) run state, so parallel steps never
share an active run. Every call is retried with backoff; a store that stays unreachable raises
`TrackingError` naming the (redacted) URI and what to check.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from pipelines.errors import TrackingError

__all__ = ["MlflowTracker", "redact_uri"]

T = TypeVar("T")
MODEL_ARTIFACT_PATH = "model"
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/]+)@")


def redact_uri(uri: str) -> str:
    """Hides the user and password of a URI, for logs and messages.

    Examples:
        >>> redact_uri("postgresql://bob:s3cret@db:5432/mlflow")
        'postgresql://***@db:5432/mlflow'
    """
    return _CREDENTIALS.sub(r"\g<scheme>***@", uri)


class MlflowTracker(ConfigurableResource):
    """Logs runs, models and scores to MLflow and manages registered model aliases.

    Examples:
        >>> tracker = MlflowTracker(tracking_uri="sqlite:///mlflow.db", experiment="synthpipe")  # doctest: +SKIP
        >>> run_id = tracker.start_run("adult", tags={"synthpipe/table": "adult"})  # doctest: +SKIP
    """

    tracking_uri: str = Field(description="MLflow tracking URI; also the registry URI.")
    experiment: str = Field(default="synthpipe", description="Experiment that receives the runs.")
    artifact_location: str | None = Field(
        default=None,
        description="Artifact root for a newly created experiment (e.g. a local folder for the SQLite default).",
    )
    max_attempts: int = Field(default=3, ge=1, description="Attempts per MLflow call before giving up.")
    backoff_seconds: float = Field(default=0.5, description="First retry delay; doubles on each attempt.")

    _experiment_id: str | None = PrivateAttr(default=None)

    @cached_property
    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from mlflow.exceptions import MlflowException

        delay = self.backoff_seconds
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args, **kwargs)
            except (MlflowException, OSError, ConnectionError) as error:
                last = error
                if attempt < self.max_attempts:
                    time.sleep(delay)
                    delay *= 2
        message = redact_uri(str(last)).splitlines()[0][:300]
        raise TrackingError(
            f"MLflow {what} failed after {self.max_attempts} attempts against {redact_uri(self.tracking_uri)!r}: "
            f"{message}. Check `mlflow.tracking_uri` (or the environment variable it names) and that the store "
            "is reachable and writable; nothing was published."
        ) from None

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            found = self._call("experiment lookup", self.client.get_experiment_by_name, self.experiment)
            if found is not None:
                self._experiment_id = found.experiment_id
            else:
                self._experiment_id = self._call(
                    "experiment creation",
                    self.client.create_experiment,
                    self.experiment,
                    artifact_location=self.artifact_location,
                )
        return self._experiment_id

    def start_run(self, run_name: str, tags: Mapping[str, str]) -> str:
        run = self._call("run creation", self.client.create_run, self.experiment_id(), run_name=run_name, tags=dict(tags))
        return run.info.run_id

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self._call("run update", self.client.set_terminated, run_id, status=status)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        batch = [Param(key, str(value)[:6000]) for key, value in params.items()]
        self._call("parameter logging", self.client.log_batch, run_id, params=batch)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(key, float(value), now, 0) for key, value in metrics.items()]
        self._call("metric logging", self.client.log_batch, run_id, metrics=batch)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        batch = [RunTag(key, str(value)) for key, value in tags.items()]
        self._call("tag logging", self.client.log_batch, run_id, tags=batch)

    def log_dict(self, run_id: str, data: Any, artifact_file: str) -> None:
        self._call("artifact logging", self.client.log_dict, run_id, data, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> str:
        """Writes `text` as an artifact of the run; returns the artifact's URI."""
        self._call("artifact logging", self.client.log_text, run_id, text, artifact_file)
        return self._artifact_uri(run_id, artifact_file)

    def _artifact_uri(self, run_id: str, path: str) -> str:
        run = self._call("run lookup", self.client.get_run, run_id)
        return f"{run.info.artifact_uri}/{path}"

    def log_folder(self, run_id: str, folder: str, artifact_path: str, ignore: tuple[str, ...] = ()) -> str:
        """Uploads a folder (a Data Docs site) under `artifact_path`, leaving out the files that
        match the `ignore` patterns; returns its URI."""
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            copy = shutil.copytree(folder, f"{scratch}/site", ignore=shutil.ignore_patterns(*ignore))
            self._call("artifact logging", self.client.log_artifacts, run_id, copy, artifact_path)
        return self._artifact_uri(run_id, artifact_path)

    def log_dataset(self, run_id: str, data: Any, name: str, source: str, context: str, targets: str | None = None) -> None:
        """Records a DataFrame as an input dataset of the run (name, digest, schema and source)."""
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag

        dataset = mlflow.data.from_pandas(data, source=source, name=name, targets=targets)
        entry = DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context)])
        self._call("dataset logging", self.client.log_inputs, run_id, datasets=[entry])

    def log_synthesizer(self, run_id: str, synthesizer: Any, pip_requirements: list[str]) -> str:
        """Saves the fitted synthesizer as a pyfunc model in the run; returns its artifact URI."""
        import mlflow.pyfunc

        from resources.pyfunc import SynthesizerModel, save_synthesizer

        with tempfile.TemporaryDirectory() as folder:
            saved = save_synthesizer(synthesizer, Path(folder))
            model_dir = Path(folder) / MODEL_ARTIFACT_PATH
            mlflow.pyfunc.save_model(
                path=str(model_dir),
                python_model=SynthesizerModel(),
                artifacts={SynthesizerModel.ARTIFACT: str(saved)},
                pip_requirements=pip_requirements,
                signature=SynthesizerModel.signature(synthesizer),
            )
            self._call("model upload", self.client.log_artifacts, run_id, str(model_dir), MODEL_ARTIFACT_PATH)
        run = self._call("run lookup", self.client.get_run, run_id)
        return f"{run.info.artifact_uri}/{MODEL_ARTIFACT_PATH}"

    def register(self, model_name: str, source: str, run_id: str, tags: Mapping[str, str]) -> str:
        """Registers a new version of `model_name` from `source`; returns the version number."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(model_name)
        except MlflowException:
            self._call("model registration", self.client.create_registered_model, model_name)
        version = self._call(
            "model version creation",
            self.client.create_model_version,
            model_name,
            source=source,
            run_id=run_id,
            tags=dict(tags),
        )
        return str(version.version)

    def set_alias(self, model_name: str, alias: str, version: str) -> None:
        self._call("alias update", self.client.set_registered_model_alias, model_name, alias, version)

    def model_version(self, model_name: str, alias: str) -> Any | None:
        """The registered version an alias points at (tags, run id, source), or None."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(model_name, alias)
        except MlflowException:
            return None

    def load_dict(self, run_id: str, artifact_file: str) -> Any:
        """Reads a JSON artifact of a run back."""
        import mlflow.artifacts

        with tempfile.TemporaryDirectory() as folder:
            local = self._call(
                "artifact download",
                mlflow.artifacts.download_artifacts,
                run_id=run_id,
                artifact_path=artifact_file,
                dst_path=folder,
                tracking_uri=self.tracking_uri,
            )
            return json.loads(Path(local).read_text())

    def load_synthesizer(self, model_name: str, version: str) -> Any:
        """Loads a registered version back as the fitted synthesizer (through the pyfunc)."""
        import mlflow.artifacts
        import mlflow.pyfunc

        uri = self._call("model lookup", self.client.get_model_version_download_uri, model_name, version)
        with tempfile.TemporaryDirectory() as folder:
            local = self._call(
                "model download",
                mlflow.artifacts.download_artifacts,
                artifact_uri=uri,
                dst_path=folder,
                tracking_uri=self.tracking_uri,
            )
            model = mlflow.pyfunc.load_model(local)
            return model.unwrap_python_model().synthesizer
