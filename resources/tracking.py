"""The MLflow resource: an explicit, typed surface over `MlflowClient`.

One client per resource instance and no fluent (global) run state, so parallel steps never
share an active run. Every call is tried `max_attempts` times with backoff, each failed attempt
logged; a store that stays unreachable raises `TrackingError` naming the (redacted) URI and what
to check. MLflow's own HTTP retries are bounded, so an unreachable server fails in seconds, not
in the quarter of an hour MLflow's defaults allow.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from dagster import ConfigurableResource, InitResourceContext, get_dagster_logger
from pydantic import Field, PrivateAttr

from synthpipe import metadata_keys as keys
from synthpipe.errors import TrackingError
from synthpipe.resources.sources import FROM_ENV_DESCRIPTION, read_from_env
from synthpipe.resources.links import Links

# The MLflow experiment tag that decides which page its UI opens on, and synthpipe's kind.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

__all__ = ["HTTP_REQUEST_BOUNDS", "MlflowTracker", "redact_uri"]

T = TypeVar("T")
MODEL_ARTIFACT_PATH = "model"
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/]+)@")
# MLflow's defaults (7 retries, backoff factor 2, 120 s timeout) spend about 254 s on one call to
# a closed port before they raise: 13 minutes over synthpipe's three attempts, without a word.
# One quick retry of MLflow's own, a 30 s timeout per request, and synthpipe's logged attempts
# around them are enough for a blip.
HTTP_REQUEST_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def bound_http_requests() -> None:
    """Bounds MLflow's own HTTP retries and timeout, unless the operator set them.

    MLflow reads these variables from the environment at every request and offers no
    per-client setting, so they are set in the environment of the process. That is fine: they
    change only how long MLflow's REST calls wait and retry, a synthpipe run's process makes no
    MLflow calls but synthpipe's, and a value already set (by the operator) is left as it is.
    """
    for name, value in HTTP_REQUEST_BOUNDS.items():
        os.environ.setdefault(name, value)


@contextmanager
def _store_creation_lock(uri: str) -> Iterator[None]:
    """Holds an exclusive lock on a local SQLite store while a client opens it.

    A client creates or migrates the store's tables when it opens it; two runs that open a new
    store at once both run the migrations, and one fails ("duplicate column name"). Other
    stores (a tracking server, a database server) order this themselves.
    """
    if not uri.startswith("sqlite:///") or uri == "sqlite:///:memory:":
        yield
        return
    import fcntl

    database = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def _first_line(error: BaseException) -> str:
    """The error's first line, credentials hidden, at most about 300 characters; a connection
    error's cause (`[Errno 111] Connection refused`) is kept even when it sits further on."""
    text = redact_uri(str(error)).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    cause = _OS_ERROR.search(text)
    if cause and cause.group() not in line[:300]:
        return f"{line[:200]}... {cause.group().strip()}"
    return line[:300]


def _tolerate_existing(create: Callable[..., Any]) -> Callable[..., Any]:
    """`create`, quiet when the thing exists already (another run created it a moment before)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return create(*args, **kwargs)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return None

    return call


def _quoted(value: str) -> str:
    """A value for an MLflow search filter: single quotes doubled."""
    return value.replace("'", "''")


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
        >>> run_id = tracker.start_run("adult", tags={keys.TABLE: "adult"})  # doctest: +SKIP

        A URI with credentials comes from the environment when the run starts:

        >>> MlflowTracker(tracking_uri="MLFLOW_TRACKING_URI", from_env=["tracking_uri"])  # doctest: +SKIP
    """

    tracking_uri: str = Field(description="MLflow tracking URI; also the registry URI.")
    experiment: str = Field(default="synthpipe", description="Experiment that receives the runs.")
    artifact_location: str | None = Field(
        default=None,
        description="Artifact root for a newly created experiment (e.g. a local folder for the SQLite default).",
    )
    ui_url: str | None = Field(default=None, description="MLflow UI address for links to runs and model versions; None: no links.")
    files_root: str | None = Field(default=None, description="Data folder whose files `synthpipe serve` serves.")
    files_url: str | None = Field(default=None, description="Address of `synthpipe serve`; artifacts under `files_root` link there.")
    max_attempts: int = Field(default=3, ge=1, description="Attempts per MLflow call before giving up.")
    backoff_seconds: float = Field(default=0.5, description="First retry delay; doubles on each attempt.")
    from_env: list[str] = Field(default_factory=list, description=FROM_ENV_DESCRIPTION, examples=[["tracking_uri"]])

    SETTINGS: ClassVar[dict[str, str]] = {"tracking_uri": "mlflow.tracking_uri", "experiment": "mlflow.experiment"}

    _experiment_id: str | None = PrivateAttr(default=None)

    def create_resource(self, context: InitResourceContext) -> MlflowTracker:
        """The tracker the run uses: settings given as `{env: NAME}` are read now, at run start."""
        return read_from_env(self, self.from_env, self.SETTINGS) if self.from_env else self

    @cached_property
    def client(self) -> Any:
        from mlflow import MlflowClient

        if self.tracking_uri.startswith(("http://", "https://")):
            bound_http_requests()
        with _store_creation_lock(self.tracking_uri):
            return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @property
    def log(self) -> logging.Logger:
        """Dagster captures this logger: inside a run, its lines are in the run's log."""
        return get_dagster_logger("synthpipe.mlflow")

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from mlflow.exceptions import MlflowException

        delay = self.backoff_seconds
        where = redact_uri(self.tracking_uri)
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args, **kwargs)
            except (MlflowException, OSError, ConnectionError) as error:
                last = error
                then = f"retrying in {delay:g} s" if attempt < self.max_attempts else "giving up"
                self.log.warning(
                    f"MLflow {what} against {where!r} failed (attempt {attempt} of {self.max_attempts}): "
                    f"{_first_line(error)}; {then}"
                )
                if attempt < self.max_attempts:
                    time.sleep(delay)
                    delay *= 2
        raise TrackingError(
            f"MLflow {what} failed after {self.max_attempts} attempts against {where!r}: "
            f"{_first_line(last)}. Check `mlflow.tracking_uri` (or the environment variable it names) and that the store "
            "is reachable and writable; nothing was published."
        ) from None

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            found = self._call("experiment lookup", self.client.get_experiment_by_name, self.experiment)
            if found is None:
                found = self._create_experiment()
            self._experiment_id = found.experiment_id
        return self._experiment_id

    def _create_experiment(self) -> Any:
        """Creates the experiment; one a concurrent run created first is as good."""
        create = _tolerate_existing(self.client.create_experiment)
        # MLflow 3 treats an experiment of no declared kind as GenAI (traces first); this one is
        # for model training. (Its UI's GenAI / Model training switch can override the tag:
        # `?workflowType=machine_learning` in a link opens the runs.)
        self._call(
            "experiment creation", create, self.experiment, artifact_location=self.artifact_location,
            tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
        )
        found = self._call("experiment lookup", self.client.get_experiment_by_name, self.experiment)
        if found is None:
            raise TrackingError(
                f"MLflow experiment {self.experiment!r} was created but cannot be found in {redact_uri(self.tracking_uri)!r}. "
                "Check `mlflow.experiment` and that the store is writable."
            )
        return found

    def start_run(self, run_name: str, tags: Mapping[str, str]) -> str:
        run = self._call("run creation", self.client.create_run, self.experiment_id(), run_name=run_name, tags=dict(tags))
        return run.info.run_id

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self._call("run update", self.client.set_terminated, run_id, status=status)

    def running_runs(self, tags: Mapping[str, str]) -> list[Any]:
        """The runs of the experiment still RUNNING that carry every one of `tags`."""
        conditions = [f"tags.`{key}` = '{_quoted(value)}'" for key, value in tags.items()]
        query = " AND ".join([*conditions, "attributes.status = 'RUNNING'"])
        return list(self._call("run search", self.client.search_runs, [self.experiment_id()], filter_string=query, max_results=1000))

    def run_tags(self, run_id: str) -> dict[str, str]:
        """The tags of one run."""
        return dict(self._call("run lookup", self.client.get_run, run_id).data.tags)

    def kill_run(self, run_id: str, reason: str) -> None:
        """Ends a run that nobody will end any more as KILLED, with `reason` in its tags."""
        self.set_tags(run_id, {keys.ENDED_BECAUSE: reason})
        self.end_run(run_id, "KILLED")

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

    @property
    def links(self) -> Links:
        """Browser addresses of runs, model versions and artifacts (see `synthpipe.resources.links`)."""
        root = Path(self.files_root) if self.files_root else Path.cwd()
        return Links(root=root, files_url=self.files_url if self.files_root else None, mlflow_url=self.ui_url)

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

        from synthpipe.resources.pyfunc import SynthesizerModel, save_synthesizer

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
            # one a concurrent run registered first is as good
            self._call("model registration", _tolerate_existing(self.client.create_registered_model), model_name)
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
