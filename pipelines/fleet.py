"""The nightly fleet on Dagster's distributed engine: Celery workers and the refresh run.

`synthpipe-fleet worker --config synthpipe.yaml` starts a Celery worker on the configured broker
(`execution.broker`) that runs Dagster's steps (the `execution.queue` queue) or, with
`--queues chunks`, sampling chunks (`execution.chunk_tasks`). `synthpipe-fleet run --config
synthpipe.yaml` starts one refresh on the Dagster instance of `$DAGSTER_HOME` (PostgreSQL-backed in
production: `dagster-fleet.yaml` beside this module) and waits for it; its steps go to the
workers. Workers and runs find the same definitions through `SYNTHPIPE_CONFIG`, which both
commands set from `--config`, so every machine of the fleet needs the same file and the same
environment variables. See docs/fleet.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import dagster as dg

from synthpipe.config import SynthpipeConfig
from synthpipe.config_input import read_yaml
from synthpipe.errors import SynthpipeError
from synthpipe.execution_config import chunk_queue
from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs, celery_backend
from synthpipe.resources.chunk_tasks import celery_app
from synthpipe.validation import load_config

__all__ = ["CONFIG_ENV", "INSTANCE_TEMPLATE", "apply_pool_limit", "defs", "main", "refresh_job", "require_workers", "run_refresh"]

# The configuration file the fleet's definitions are built from, on every machine.
CONFIG_ENV = "SYNTHPIPE_CONFIG"
# The production instance settings: storage on PostgreSQL, pools, queued runs.
INSTANCE_TEMPLATE = Path(__file__).with_name("dagster-fleet.yaml")


def _config_path() -> Path:
    value = os.environ.get(CONFIG_ENV)
    if not value:
        raise SynthpipeError(
            f"${CONFIG_ENV} is unset: the fleet's workers and runs build their definitions from the configuration file it "
            "names. Start them with `synthpipe-fleet worker --config FILE` / `synthpipe-fleet run --config FILE`, or export it."
        )
    return Path(value)


def _load(path: Path | None = None) -> SynthpipeConfig:
    path = path or _config_path()
    raw = dict(read_yaml(path))
    # a relative data folder is the file's folder's, whichever directory a worker starts in
    if isinstance(raw.get("data_dir"), str) and not Path(raw["data_dir"]).is_absolute():
        raw["data_dir"] = str((path.parent / raw["data_dir"]).resolve())
    return load_config(raw)


def refresh_job(config_path: str) -> dg.JobDefinition:
    """The refresh job of the configuration file `config_path`: the reconstructable target each
    worker rebuilds. The path travels with every step, so one worker serves any fleet whose file
    it can read; a worker process keeps the definitions it built, so restart the workers after
    editing the file."""
    return build_synthpipe_defs(_load(Path(config_path))).resolve_job_def(REFRESH_JOB)


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions of `$SYNTHPIPE_CONFIG`, for a webserver or daemon of the fleet
    (`dagster-webserver -m synthpipe.fleet`)."""
    return build_synthpipe_defs(_load())


def _resolved(value: object) -> str:
    from synthpipe.config import EnvValue

    if isinstance(value, EnvValue):
        found = os.environ.get(value.env)
        if not found:
            raise SynthpipeError(f"`execution.broker`/`execution.backend` names ${value.env}, which is unset; export the broker URL in it.")
        return found
    return str(value)


def apply_pool_limit(instance: dg.DagsterInstance, config: SynthpipeConfig) -> int | None:
    """Sets `execution.source_pool_limit` on the instance (slots of `execution.source_pool`);
    returns the limit in force, None for none."""
    execution = config.execution
    if execution.source_pool_limit is not None:
        instance.event_log_storage.set_concurrency_slots(execution.source_pool, execution.source_pool_limit)
        return execution.source_pool_limit
    return None


def require_workers(config: SynthpipeConfig) -> None:
    """Refuses to start a Celery run that no worker would serve: on RabbitMQ, each queue the
    run sends to must have a consumer (the executor would otherwise wait for ever). Redis does
    not report consumers; there the run starts and waits for the first worker."""
    execution = config.execution
    if execution.executor != "celery" or execution.broker is None:
        return
    broker = _resolved(execution.broker)
    if not broker.startswith(("amqp://", "amqps://", "pyamqp://")):
        return
    from kombu import Connection

    queues = [execution.queue, *([chunk_queue(execution.queue)] if execution.chunk_tasks else [])]
    idle = []
    with Connection(broker, connect_timeout=10) as connection:
        for queue in queues:
            try:
                _, _, consumers = connection.channel().queue_declare(queue, passive=True)
            except Exception:  # noqa: BLE001 - the broker closes the channel of a queue never declared
                consumers = 0
            if not consumers:
                idle.append(queue)
    if idle:
        kinds = {execution.queue: "steps", chunk_queue(execution.queue): "chunks"}
        raise SynthpipeError(
            f"No worker consumes {', '.join(repr(q) for q in idle)} on the broker: the run would wait for ever. Start "
            + " and ".join(f"`synthpipe-fleet worker --config <file> --queues {kinds[q]}`" for q in idle)
            + " with the same configuration file, then run again."
        )


def run_refresh(instance: dg.DagsterInstance, tags: dict[str, str] | None = None) -> dg.ExecuteJobResult:
    """One refresh of `$SYNTHPIPE_CONFIG` on `instance`, its steps on the configured executor."""
    path = _config_path().resolve()
    config = _load(path)
    require_workers(config)
    apply_pool_limit(instance, config)
    job = dg.build_reconstructable_job("synthpipe.fleet", "refresh_job", reconstructable_args=(str(path),))
    return dg.execute_job(job, instance=instance, tags=tags, raise_on_error=False)


def _worker(arguments: argparse.Namespace) -> int:
    os.environ[CONFIG_ENV] = str(Path(arguments.config).resolve())
    config = _load()
    execution = config.execution
    if execution.executor != "celery" or execution.broker is None:
        raise SynthpipeError(f"{arguments.config}: a fleet worker needs `execution: {{executor: celery, broker: ...}}`; got executor {execution.executor!r}.")
    from dagster_celery.tasks import create_task

    app = celery_app(_resolved(execution.broker), _resolved(celery_backend(execution)), execution.queue)
    create_task(app)
    queues = {"steps": execution.queue, "chunks": chunk_queue(execution.queue)}
    names = [queues[q] for q in arguments.queues.split(",")]
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(names)}",
            f"--concurrency={arguments.concurrency}",
            f"--hostname={arguments.name}@{socket.gethostname()}",
            f"--loglevel={arguments.loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return 0


def _run(arguments: argparse.Namespace) -> int:
    os.environ[CONFIG_ENV] = str(Path(arguments.config).resolve())
    with dg.DagsterInstance.get() as instance:
        result = run_refresh(instance, dict(tag.split("=", 1) for tag in arguments.tag))
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    print(f"run {result.run_id}: {'succeeded' if result.success else 'failed'}" + (f"; failed steps: {', '.join(failed)}" if failed else ""))
    return 0 if result.success else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthpipe-fleet", description="Run the nightly refresh on Celery workers.")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="Start a Celery worker for the fleet's steps and/or sampling chunks.")
    worker.add_argument("--config", required=True, help="The synthpipe configuration file (with `execution: {executor: celery}`).")
    worker.add_argument("--queues", default="steps", choices=["steps", "chunks", "steps,chunks"],
                        help="steps: Dagster's steps; chunks: sampling chunks. Give chunks their own workers: a step waiting "
                        "for its chunks holds its worker process.")
    worker.add_argument("--concurrency", type=int, default=1, help="Worker processes (default 1: a step uses the cores it is given).")
    worker.add_argument("--name", default="synthpipe", help="Worker name (the Celery hostname is NAME@host).")
    worker.add_argument("--loglevel", default="INFO")
    run = commands.add_parser("run", help="Run one refresh on the Dagster instance of $DAGSTER_HOME and wait for it.")
    run.add_argument("--config", required=True, help="The synthpipe configuration file.")
    run.add_argument("--tag", action="append", default=[], help="A run tag KEY=VALUE (repeatable).")
    arguments = parser.parse_args(argv)
    try:
        return _worker(arguments) if arguments.command == "worker" else _run(arguments)
    except SynthpipeError as error:
        print(f"synthpipe-fleet: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
