"""How a refresh runs: in one process (the embedded default), in one process per step, or on
Celery workers over a broker (the production profile, docs/fleet.md).

Part of the configuration layer: it imports no synthpipe module but `synthpipe.config_base`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from synthpipe.config_base import EnvValue, Strict

__all__ = ["ExecutionConfig", "chunk_queue"]


def chunk_queue(queue: str) -> str:
    """The Celery queue of a fleet's sampling chunks, beside its step queue `queue`."""
    return f"{queue}-chunks"


class ExecutionConfig(Strict):
    """Where the steps of a refresh run. Selected here, not in code: the same tables run in one
    process on a laptop and on a fleet of workers in production."""

    executor: Literal["in_process", "multiprocess", "celery"] = Field(
        default="in_process",
        description="`in_process` (every step in the run's process; the default), `multiprocess` (one process per "
        "step on this machine, `max_concurrent` at once) or `celery` (every step a task on the Celery workers "
        "that consume `broker`; start them with `synthpipe-fleet worker`).",
        examples=["celery"],
    )
    max_concurrent: int | None = Field(
        default=None,
        description="executor multiprocess: steps at once. Default: the machine's cores.",
        examples=[4],
    )
    broker: str | EnvValue | None = Field(
        default=None,
        description="executor celery: the broker URL (`redis://host:6379/0`, `amqp://user@host:5672//`). One with a "
        "password belongs in an environment variable: {env: NAME}.",
        examples=[{"env": "SYNTHPIPE_BROKER_URL"}, "redis://127.0.0.1:6379/0"],
    )
    backend: str | EnvValue | None = Field(
        default=None,
        description="executor celery: where workers put results. Default: the broker for a Redis broker, `rpc://` "
        "for RabbitMQ; needed when `broker` is read from a variable.",
        examples=["redis://127.0.0.1:6379/1"],
    )
    chunk_tasks: bool = Field(
        default=False,
        description="executor celery: sample each chunk (`sample_chunk_rows`) of a plain draw as its own task on "
        "the `<queue>-chunks` queue, so one large table samples on many workers. The chunks are written to the "
        "shared data folder and published in one Delta commit, with the same seeds and rows as in one process.",
        examples=[True],
    )
    queue: str = Field(
        default="synthpipe",
        description="executor celery: the queue of the fleet's steps (its chunks go to `<queue>-chunks`). Fleets "
        "that share a broker need a name each; workers read it from the same file.",
        examples=["synthpipe-nightly"],
    )
    source_pool: str = Field(
        default="synthpipe-source",
        description="The Dagster pool every source read belongs to. A limit on it (`source_pool_limit`, or "
        "`dagster instance concurrency set <pool> <n>`) bounds the reads a fleet makes at once, across runs.",
        examples=["warehouse"],
    )
    source_pool_limit: int | None = Field(
        default=None,
        description="Source reads at once, across every run of the instance; `synthpipe-fleet run` sets it on the "
        "Dagster instance. Default: the instance's own setting (no limit unless it sets one).",
        examples=[2],
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExecutionConfig:
        problems = []
        if self.executor == "celery" and self.broker is None:
            problems.append(
                "`execution.executor: celery` needs `execution.broker`, the URL the workers consume "
                "(e.g. redis://127.0.0.1:6379/0, or {env: SYNTHPIPE_BROKER_URL})"
            )
        if self.executor == "celery" and isinstance(self.broker, EnvValue) and self.backend is None:
            problems.append(
                f"`execution.broker` is read from ${self.broker.env}, so synthpipe cannot tell Redis from RabbitMQ: set "
                "`execution.backend` too (`rpc://` for RabbitMQ; for Redis, the broker's URL or {env: NAME})"
            )
        if self.executor != "celery":
            named = [n for n in ("broker", "backend") if getattr(self, n) is not None] + (["chunk_tasks"] if self.chunk_tasks else [])
            if named:
                problems.append(f"`execution.{named[0]}` is a Celery setting but `execution.executor` is {self.executor!r}; set `executor: celery` or remove it")
        if self.max_concurrent is not None and (self.max_concurrent < 1 or self.executor != "multiprocess"):
            problems.append(f"`execution.max_concurrent` must be at least 1 and only applies to `executor: multiprocess`; got {self.max_concurrent} with {self.executor!r}")
        if self.source_pool_limit is not None and self.source_pool_limit < 1:
            problems.append(f"`execution.source_pool_limit` must be at least 1; got {self.source_pool_limit}. Omit it for no limit.")
        if not self.queue.strip() or any(c in self.queue for c in " #*"):
            problems.append(f"`execution.queue` must be a non-empty name without spaces, `#` or `*`; got {self.queue!r}")
        if not self.source_pool.strip():
            problems.append("`execution.source_pool` must name a pool; got an empty name")
        if problems:
            raise ValueError("; ".join(problems))
        return self
