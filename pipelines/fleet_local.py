"""A whole fleet on one machine: PostgreSQL-backed Dagster and MLflow, a Redis or RabbitMQ broker,
and Celery workers as separate processes, for `make fleet`, the fleet tests and the benchmark.

`LocalFleet` creates the two databases (dropped first: a fresh fleet), starts an MLflow tracking
server on PostgreSQL with its artifact root in the data folder, writes the production Dagster
instance (`dagster-fleet.yaml`) to its own `$DAGSTER_HOME`, and starts `synthpipe-fleet worker`
processes. Every process gets the same environment (the configuration file, the database URLs),
as the machines of a real fleet would. PostgreSQL and the broker must already run; the
`make fleet` target checks both and says how to start them.

Run `python -m synthpipe.fleet_local --workers 2` (what `make fleet` does) for the demo tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthpipe.errors import SynthpipeError
from synthpipe.execution_config import chunk_queue
from synthpipe.fleet import CONFIG_ENV, INSTANCE_TEMPLATE

__all__ = ["DEFAULT_BROKER", "DEFAULT_POSTGRES", "LocalFleet", "demo_fleet_config", "main"]

DEFAULT_POSTGRES = os.environ.get("SYNTHPIPE_FLEET_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DEFAULT_BROKER = os.environ.get("SYNTHPIPE_FLEET_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
PG_URL_ENV = "SYNTHPIPE_DAGSTER_PG_URL"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _recreate_database(server: str, name: str, create: bool = True) -> str:
    """Drops the database `name` on `server` and, with `create`, makes it anew; returns its URL."""
    import psycopg2

    try:
        connection = psycopg2.connect(f"{server}/postgres", connect_timeout=5)
    except psycopg2.OperationalError as error:
        raise SynthpipeError(
            f"The fleet needs PostgreSQL at {server!r} (set $SYNTHPIPE_FLEET_POSTGRES): {str(error).strip()}. "
            "Start it (e.g. `pg_ctlcluster <version> main start`)."
        ) from None
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"{server}/{name}"


def _check_broker(broker: str) -> None:
    from kombu import Connection

    try:
        with Connection(broker, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # noqa: BLE001 - kombu raises several kinds for an unreachable broker
        raise SynthpipeError(f"The fleet needs its broker at {broker!r} (set $SYNTHPIPE_FLEET_BROKER): {error}. Start Redis or RabbitMQ.") from None


@dataclass
class LocalFleet:
    """The fleet's servers and workers for one configuration (a mapping: `execution` is filled in)."""

    folder: Path
    config: dict[str, Any]
    name: str = "synthpipe_fleet"
    workers: int = 2
    chunk_workers: int = 0
    worker_concurrency: int = 1
    drop_databases: bool = False  # at stop (tests); `make fleet` keeps them for the UI
    postgres: str = DEFAULT_POSTGRES
    broker: str = DEFAULT_BROKER
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    mlflow_url: str = ""

    @property
    def config_path(self) -> Path:
        return self.folder / "synthpipe.yaml"

    @property
    def dagster_home(self) -> Path:
        return self.folder / "dagster"

    def start(self) -> LocalFleet:
        self.folder.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy 2.1 reads postgresql:// as psycopg 3; the fleet installs psycopg2
        dagster_url = _recreate_database(self.postgres, f"{self.name}_dagster").replace("postgresql://", "postgresql+psycopg2://", 1)
        mlflow_db = _recreate_database(self.postgres, f"{self.name}_mlflow").replace("postgresql://", "postgresql+psycopg2://", 1)
        _check_broker(self.broker)
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copy(INSTANCE_TEMPLATE, self.dagster_home / "dagster.yaml")
        artifacts = self.folder / "data" / "mlflow" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.mlflow_url = f"http://127.0.0.1:{port}"
        config = {**self.config, "data_dir": str(self.folder / "data")}
        config["mlflow"] = {**config.get("mlflow", {}), "tracking_uri": {"env": "MLFLOW_TRACKING_URI"}}
        # a queue of its own (named as its databases): fleets and test sessions sharing the broker never take each other's tasks
        backend = {"env": "SYNTHPIPE_BROKER_URL"} if self.broker.startswith("redis") else "rpc://"
        config["execution"] = {
            "executor": "celery", "broker": {"env": "SYNTHPIPE_BROKER_URL"}, "backend": backend, "queue": self.name,
            **config.get("execution", {}),
        }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._delete_queues(purge_only=True)
        self.env = {
            **os.environ,
            CONFIG_ENV: str(self.config_path),
            "DAGSTER_HOME": str(self.dagster_home),
            PG_URL_ENV: dagster_url,
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            "SYNTHPIPE_BROKER_URL": self.broker,
            # MLflow's server would also start its job runner (huey consumers for its GenAI jobs),
            # which synthpipe does not use: seven more processes and a slower stop
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        bin_dir = Path(sys.executable).parent
        self._spawn(
            "mlflow",
            [str(bin_dir / "mlflow"), "server", "--backend-store-uri", mlflow_db, "--default-artifact-root", artifacts.as_uri(),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        )
        for index in range(self.workers):
            self.start_worker(f"steps{index}", "steps")
        for index in range(self.chunk_workers):
            self.start_worker(f"chunks{index}", "chunks")
        self._wait_for_mlflow()
        return self

    def start_worker(self, name: str, queues: str) -> subprocess.Popen:
        fleet = Path(sys.executable).parent / "synthpipe-fleet"
        return self._spawn(name, [str(fleet), "worker", "--config", str(self.config_path), "--queues", queues, "--name", name,
                                  "--concurrency", str(self.worker_concurrency), "--loglevel", "WARNING"])

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.folder / "logs").joinpath(f"{name}.log")
        log.parent.mkdir(exist_ok=True)
        process = subprocess.Popen(command, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def _wait_for_mlflow(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.processes["mlflow"].poll() is not None:
                raise SynthpipeError(f"The MLflow server stopped at start; see {self.folder / 'logs' / 'mlflow.log'}.")
            try:
                with urllib.request.urlopen(f"{self.mlflow_url}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise SynthpipeError(f"The MLflow server did not answer at {self.mlflow_url} within {seconds:g} s; see {self.folder / 'logs' / 'mlflow.log'}.")

    def kill(self, name: str) -> None:
        """Kills a process and its children at once (SIGKILL): a machine lost, nothing cleaned up."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for name in list(self.processes):
            process = self.processes[name]
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(name)
        self.processes.clear()
        if self.drop_databases:
            for database in (f"{self.name}_dagster", f"{self.name}_mlflow"):
                _recreate_database(self.postgres, database, create=False)
            self._delete_queues()

    def _delete_queues(self, purge_only: bool = False) -> None:
        """Removes this fleet's queues from the broker (an ephemeral fleet leaves nothing
        behind); `purge_only` empties them instead (a fresh fleet takes no task of an old one)."""
        from kombu import Connection

        queue = yaml.safe_load(self.config_path.read_text())["execution"]["queue"]
        with Connection(self.broker, connect_timeout=5) as connection:
            for name in (queue, chunk_queue(queue)):
                try:  # a channel each: the broker closes one that names a missing queue
                    channel = connection.channel()
                    if purge_only:
                        channel.queue_purge(name)
                    else:
                        channel.queue_delete(name)
                except Exception:  # noqa: BLE001 - a queue no one declared has nothing to drop
                    pass

    def __enter__(self) -> LocalFleet:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_fleet_config(data_dir: Path, adult_rows: int = 4000) -> dict[str, Any]:
    """The fleet demo: real public tables (UCI Adult, a slice; the credit-card Default table;
    the Palmer penguins) in a DuckDB source under `data_dir`, each with a Gaussian copula."""
    from synthpipe.demo_data import load_adult, load_default, load_penguins, write_duckdb_table

    database = data_dir / "sources" / "fleet.duckdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    for name, frame in {"adult": load_adult(rows=adult_rows, seed=0), "credit": load_default(), "penguins": load_penguins()}.items():
        write_duckdb_table(database, name, frame)
    tables = [
        {"name": "adult", "synthesizer": "gaussian_copula", "sample_chunk_rows": 1000, "attack_rows": 0},
        {"name": "credit", "synthesizer": "gaussian_copula", "attack_rows": 0},
        {"name": "penguins", "synthesizer": "gaussian_copula", "attack_rows": 0, "gate_severity": {"dcr": "warn"}},
    ]
    return {"source": {"kind": "duckdb", "database": str(database)}, "execution": {"chunk_tasks": True, "source_pool_limit": 2}, "tables": tables}


def main(argv: list[str] | None = None) -> int:
    """`make fleet`: the demo's tables refreshed by a local fleet, then its servers stopped."""
    import dagster as dg

    from synthpipe.resources.tracking import redact_uri

    parser = argparse.ArgumentParser(prog="python -m synthpipe.fleet_local", description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=os.environ.get("SYNTHPIPE_FLEET_HOME", ".synthpipe-fleet"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-workers", type=int, default=1)
    arguments = parser.parse_args(argv)
    folder = Path(arguments.folder).resolve()
    with LocalFleet(folder, demo_fleet_config(folder / "data"), workers=arguments.workers, chunk_workers=arguments.chunk_workers) as fleet:
        os.environ.update(fleet.env)
        print(f"Fleet up: MLflow {fleet.mlflow_url}, Dagster on PostgreSQL ({fleet.name}_dagster), broker {redact_uri(fleet.broker)}, "
              f"{arguments.workers} step worker(s), {arguments.chunk_workers} chunk worker(s); logs in {folder / 'logs'}", flush=True)
        from synthpipe.fleet import run_refresh

        with dg.DagsterInstance.get() as instance:
            started = time.perf_counter()
            result = run_refresh(instance)
            print(f"Run {result.run_id} {'succeeded' if result.success else 'failed'} in {time.perf_counter() - started:.0f} s")
            for event in result.all_events:
                if event.is_step_failure:
                    print(f"  failed: {event.step_key}: {event.message}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
