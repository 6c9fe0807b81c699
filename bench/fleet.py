"""The nightly fleet: 20 real tables refreshed in one process (the embedded default) and on 1, 2
and 4 Celery workers of a local fleet (Dagster on PostgreSQL, RabbitMQ, an MLflow server on
PostgreSQL), each setup on the same tables in a fresh data folder and fresh databases.

The tables: ten disjoint 4,000-row slices of UCI Adult, six disjoint 1,600-row slices of the
credit-card Default table and four copies of the Palmer penguins (344 rows, each split with its
own seed): real rows only, none invented. Every table is a Gaussian copula twin with its sampled
rows equal to its source rows, every gate a warning (the figures are about throughput), no
attacks. One worker process per Celery worker (`--concurrency 1`).

Per setup: wall time of the run (from its start to its last step, the fleet's start-up not
included), tables per minute, published rows per second, and peak memory: of the run's process
for the single-process baseline (its maximum resident set), of each worker's processes for the
fleet (the largest maximum resident set among a worker's processes, read from /proc at the end).
The load average is printed before and after.

Run with `make bench-fleet` (`BENCH_FLEET_ARGS="--workers 1 2"`).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ADULT_SLICES, ADULT_ROWS = 10, 4_000
CREDIT_SLICES, CREDIT_ROWS = 6, 1_600
PENGUIN_COPIES = 4


def _load() -> str:
    return "(" + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + ")"


def fleet_tables(data_dir: Path) -> tuple[dict[str, Any], int]:
    """The 20 tables in a DuckDB source under `data_dir`; returns the configuration (without
    `execution`) and the rows they publish."""
    from synthpipe.demo_data import load_adult, load_default, load_penguins, write_duckdb_table

    database = data_dir / "sources" / "fleet.duckdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    frames: dict[str, pd.DataFrame] = {}
    adult = load_adult(seed=11)
    for index in range(ADULT_SLICES):
        frames[f"adult_{index}"] = adult.iloc[index * ADULT_ROWS:(index + 1) * ADULT_ROWS]
    credit = load_default().sample(frac=1.0, random_state=11)
    for index in range(CREDIT_SLICES):
        frames[f"credit_{index}"] = credit.iloc[index * CREDIT_ROWS:(index + 1) * CREDIT_ROWS]
    penguins = load_penguins()
    for index in range(PENGUIN_COPIES):
        frames[f"penguins_{index}"] = penguins
    for name, frame in frames.items():
        write_duckdb_table(database, name, frame.reset_index(drop=True))
    warn = dict.fromkeys(["quality", "exact_copies", "dcr", "value_leaks", "expectations"], "warn")
    tables = [
        {"name": name, "synthesizer": "gaussian_copula", "seed": 5, "split_seed": index, "attack_rows": 0, "gate_severity": warn}
        for index, name in enumerate(frames)
    ]
    return {"source": {"kind": "duckdb", "database": str(database)}, "tables": tables}, sum(len(f) for f in frames.values())


def _single(folder: Path) -> None:
    """The baseline, in a process of its own (so its peak memory is its own): the refresh job
    in one process against the embedded defaults (SQLite MLflow, a temporary Dagster instance)."""
    import dagster as dg

    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    config, _ = fleet_tables(folder / "data")
    job = build_synthpipe_defs({**config, "data_dir": str(folder / "data")}).resolve_job_def(REFRESH_JOB)
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'ok' if result.success else 'failed'} {seconds:.1f} {peak:.0f}", flush=True)


def _peak_mb(pid: int) -> float:
    """The largest VmHWM (peak resident set) among a process and its descendants, in MB."""
    import psutil

    peak = 0.0
    try:
        processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return peak
    for process in processes:
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def single_row(rows: int) -> str:
    with tempfile.TemporaryDirectory(prefix="synthpipe-fleet-bench-") as folder:
        done = subprocess.run([sys.executable, "-m", "bench.fleet", "--single", folder], capture_output=True, text=True, check=False)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if not last.startswith("ok "):
        raise SystemExit(f"the single-process refresh failed: {last or done.stderr[-2000:]}")
    _, seconds, peak = last.split()
    return _row("one process (in_process executor, SQLite MLflow)", "-", float(seconds), rows, f"{float(peak):,.0f}")


def _row(label: str, workers: str, seconds: float, rows: int, peak: str) -> str:
    return f"| {label} | {workers} | {seconds:.0f} | {20 * 60 / seconds:.1f} | {rows / seconds:,.0f} | {peak} |"


def fleet_row(workers: int, rows: int) -> str:
    import dagster as dg

    from synthpipe.fleet import run_refresh
    from synthpipe.fleet_local import LocalFleet

    with tempfile.TemporaryDirectory(prefix="synthpipe-fleet-bench-") as folder:
        config, _ = fleet_tables(Path(folder) / "data")
        saved = dict(os.environ)
        with LocalFleet(Path(folder), config, name=f"synthpipe_fleet_bench_{workers}", workers=workers, drop_databases=True) as fleet:
            os.environ.update(fleet.env)
            try:
                with dg.DagsterInstance.get() as instance:
                    started = time.perf_counter()
                    result = run_refresh(instance)
                    seconds = time.perf_counter() - started
                peaks = [_peak_mb(p.pid) for name, p in fleet.processes.items() if name.startswith("steps")]
            finally:
                os.environ.clear()
                os.environ.update(saved)
        if not result.success:
            failed = [e.message for e in result.all_events if e.is_step_failure]
            raise SystemExit(f"the fleet refresh with {workers} worker(s) failed: {failed[:2]}")
    return _row("Celery fleet", str(workers), seconds, rows, " / ".join(f"{p:,.0f}" for p in peaks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--single", default=None, help=argparse.SUPPRESS)  # the baseline's own process
    arguments = parser.parse_args()
    if arguments.single:
        _single(Path(arguments.single))
        return
    with tempfile.TemporaryDirectory() as folder:
        _, rows = fleet_tables(Path(folder))
    print(f"# The nightly fleet: 20 tables, {rows:,} rows ({os.cpu_count()} cores), load before {_load()}\n")
    print("| setup | workers | wall s | tables/min | rows/s | peak MB (per worker) |")
    print("|---|---|---|---|---|---|")
    print(single_row(rows), flush=True)
    for workers in arguments.workers:
        print(fleet_row(workers, rows), flush=True)
    print(f"\nload after: {_load()}")


if __name__ == "__main__":
    main()
