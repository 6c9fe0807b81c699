"""One large table sampled on many workers: each chunk of a plain draw is a Celery task.

With `execution: {executor: celery, chunk_tasks: true}`, the sample step of a table sends one
task per chunk of its chunk plan (`synthesizers.chunk_plan`: the same sizes, seeds and first rows
as in one process) to the fleet's chunk queue (`<execution.queue>-chunks`). A worker loads the registered model version
from MLflow (once per process and version), samples its chunk and writes it to the run's
staging folder on the shared data path; the step reads the chunks back in plan order and stages
them as it would have staged its own, so the published version (one Delta commit) holds the
same rows, in the same order, as a single-process refresh with the same seed.

Nothing but settings and paths travels through the broker: the rows go through the shared
folder. Credentials never do either: a tracking URI read from an environment variable travels
as the variable's name and is read on the worker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from synthpipe.errors import SynthpipeError
from synthpipe.execution_config import chunk_queue
from synthpipe.resources.sources import FROM_ENV_DESCRIPTION, read_from_env
from synthpipe.resources.synthesizers import chunk_plan, sample_one_chunk

__all__ = ["CHUNK_TASK", "ChunkSampler", "celery_app", "celery_settings", "register_chunk_task"]

CHUNK_TASK = "synthpipe.sample_chunk"


def celery_settings(queue: str) -> dict[str, Any]:
    """The Celery settings of the fleet, for the executor and the workers alike: steps go to
    `queue`; a task is acknowledged when it ends, not when it starts, so the broker hands the task
    of a worker lost mid-step (killed, out of memory) to another; one task at a time per worker
    process."""
    return {
        "task_default_queue": queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Redis hands an unacknowledged task to another worker after this long; keep it above the
        # longest step (a fit), or a slow step runs twice.
        "broker_transport_options": {"visibility_timeout": 6 * 3600},
        "result_expires": 24 * 3600,
    }


def celery_app(broker: str, backend: str, queue: str) -> Any:
    """A Celery app on the fleet's broker that knows Dagster's step task and the chunk task, and
    the fleet's two queues: `queue` for steps (with priorities, as Dagster's own) and its chunk queue."""
    from dagster_celery.make_app import make_app
    from kombu import Queue

    chunks = chunk_queue(queue)
    app = make_app({"broker": broker, "backend": backend, "include": [], "config_source": celery_settings(queue)})
    app.conf.task_queues = [Queue(queue, routing_key=f"{queue}.#", queue_arguments={"x-max-priority": 10}), Queue(chunks, routing_key=f"{chunks}.#")]
    app.conf.task_routes = {CHUNK_TASK: {"queue": chunks, "routing_key": f"{chunks}.sample"}}
    register_chunk_task(app)
    return app


_MODELS: dict[tuple[str, str, str], Any] = {}


def _sample_chunk_task(tracking_uri: str | None, tracking_uri_env: str | None, model_name: str, version: str,
                       rows: int, seed: int, start: int, path: str) -> dict[str, Any]:
    """The task: loads the model version (cached per worker process), samples one chunk, and
    writes it to `path` atomically (a half-written chunk is never read)."""
    from synthpipe.resources.tracking import MlflowTracker

    uri = os.environ.get(tracking_uri_env, "") if tracking_uri_env else tracking_uri
    if not uri:
        raise SynthpipeError(
            f"The chunk worker cannot reach MLflow: `mlflow.tracking_uri` names the environment variable {tracking_uri_env!r}, "
            f"which is unset on this worker. Export it where `synthpipe-fleet worker` runs."
        )
    key = (uri, model_name, version)
    if key not in _MODELS:
        _MODELS.clear()  # one model per process at a time: a fleet worker samples many tables
        _MODELS[key] = MlflowTracker(tracking_uri=uri).load_synthesizer(model_name, version)
    chunk = sample_one_chunk(_MODELS[key], rows, seed, start)
    target = Path(path)
    partial = target.with_suffix(".partial")
    chunk.to_pickle(partial)
    os.replace(partial, target)
    return {"rows": len(chunk), "worker": os.uname().nodename, "pid": os.getpid()}


def register_chunk_task(app: Any) -> Any:
    """Registers the chunk task on `app` (the workers' app and the sender's)."""
    return app.task(name=CHUNK_TASK, acks_late=True, reject_on_worker_lost=True)(_sample_chunk_task)


class ChunkSampler(ConfigurableResource):
    """Samples a model's chunks as Celery tasks on the fleet's workers (`execution.chunk_tasks`),
    or, with no broker, says that chunks are sampled in the step's own process.

    Examples:
        >>> ChunkSampler().remote
        False
    """

    broker: str | None = Field(default=None, description="Broker URL (or, with `from_env`, the variable holding it); None: no chunk tasks.")
    backend: str | None = Field(default=None, description="Result backend URL (or its variable).")
    queue: str = Field(default="synthpipe", description="The fleet's step queue; chunks go to `<queue>-chunks`.")
    tracking_uri: str | None = Field(default=None, description="The MLflow tracking URI the workers load models from (or its variable).")
    tracking_from_env: bool = Field(default=False, description="`tracking_uri` names an environment variable, read on each worker.")
    from_env: list[str] = Field(default_factory=list, description=FROM_ENV_DESCRIPTION, examples=[["broker"]])

    SETTINGS: ClassVar[dict[str, str]] = {"broker": "execution.broker", "backend": "execution.backend"}

    def create_resource(self, context: InitResourceContext) -> ChunkSampler:
        return read_from_env(self, self.from_env, self.SETTINGS) if self.from_env else self

    @property
    def remote(self) -> bool:
        return self.broker is not None

    def sample(self, model_name: str, version: str, num_rows: int, seed: int, chunk_rows: int, folder: Path) -> Iterator[pd.DataFrame]:
        """Sends every chunk of the plan as a task, then yields the chunks in plan order as their
        workers finish them. A failed chunk raises the worker's error; the tasks not yet done are
        revoked."""
        assert self.broker is not None and self.backend is not None
        app = celery_app(self.broker, self.backend, self.queue)
        folder = Path(folder) / "chunk-tasks"
        folder.mkdir(parents=True, exist_ok=True)
        env = self.tracking_uri if self.tracking_from_env else None
        uri = None if self.tracking_from_env else self.tracking_uri
        sent = []
        for index, (rows, seed_of_chunk, start) in enumerate(chunk_plan(num_rows, seed, chunk_rows)):
            path = folder / f"chunk-{index:05d}.pkl"
            result = app.send_task(CHUNK_TASK, args=[uri, env, model_name, version, rows, seed_of_chunk, start, str(path)], queue=chunk_queue(self.queue))
            sent.append((result, path))
        try:
            for result, path in sent:
                result.get(propagate=True, disable_sync_subtasks=False)
                chunk = pd.read_pickle(path)
                path.unlink()
                yield chunk
        finally:
            for result, _ in sent:
                if not result.ready():
                    result.revoke()
