"""A wide table through the real refresh job: 300 columns x 1,000 rows by default.

The table is built from the real Adult table (`widen`): a seeded slice of its rows, and its 15
columns repeated until there are `--columns` of them. The first copy of each column is the
original; every further copy is renamed (`age_01`, `age_02`, ...) and perturbed with seeded noise,
so the copies are related but not equal: numbers get Gaussian noise of a tenth of the column's
standard deviation (rounded and clipped as the original), categories have a tenth of their
values replaced by values drawn from the same column.

The refresh runs with the defaults (GaussianCopula, the derived expectation suite, the quality,
privacy and copy gates as warnings so that a weak score on the noisy copies cannot stop the run
before every stage is timed). Printed: each step's wall seconds from Dagster's step events, the
fit, sampling and evaluation seconds the assets record, the column pairs the quality score
measured, the progress lines evaluation wrote, and the machine's load (`os.getloadavg()`)
before and after.

Run with `make bench-wide` (`BENCH_WIDE_ARGS="--columns 600"` for a wider one).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["wide_config", "widen"]

TABLE = "wide"
NOISE = 0.1  # numbers: noise of this share of the std; categories: this share of values redrawn


def widen(data: pd.DataFrame, columns: int, seed: int = 0) -> pd.DataFrame:
    """`data` with its columns repeated, renamed and perturbed until there are `columns`.

    Args:
        data: A real table (the Adult slice).
        columns: How many columns the result has.
        seed: Seed of the noise.

    Examples:
        >>> widen(load_adult(rows=1_000, seed=7), 300).shape  # doctest: +SKIP
        (1000, 300)
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, pd.Series] = {}
    for index in range(columns):
        copy, name = divmod(index, data.shape[1])
        source = data.iloc[:, name]
        label = source.name if copy == 0 else f"{source.name}_{copy:02d}"
        parts[label] = source if copy == 0 else _perturbed(source, rng)
    return pd.DataFrame(parts)


def _perturbed(column: pd.Series, rng: np.random.Generator) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):
        noisy = column + rng.normal(0.0, NOISE * float(column.std() or 1.0), len(column))
        noisy = noisy.clip(lower=column.min()) if column.min() >= 0 else noisy
        return noisy.round().astype(column.dtype) if pd.api.types.is_integer_dtype(column) else noisy
    redrawn = rng.random(len(column)) < NOISE
    values = column.to_numpy(copy=True)
    values[redrawn] = rng.choice(column.to_numpy(), int(redrawn.sum()))
    return pd.Series(values, index=column.index, name=column.name)


def wide_config(data_dir: Path, database: Path, **table: Any) -> dict[str, Any]:
    """The refresh configuration of the wide table; `table` overrides its settings."""
    return {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": str(database)},
        "mlflow": {"experiment": "synthpipe-bench-wide"},
        "schedule": {"enabled": False},
        "tables": [{"name": TABLE, "gate_severity": {"quality": "warn", "dcr": "warn", "exact_copies": "warn"}, **table}],
    }


def _step_seconds(records: list[Any]) -> dict[str, float]:
    """Wall seconds of each step, from its start event to its success or failure event."""
    starts: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for record in records:
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            seconds[event.step_key] = record.timestamp - starts[event.step_key]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=300, help="columns of the wide table")
    parser.add_argument("--rows", type=int, default=1_000, help="rows of the wide table (a seeded slice of Adult)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import dagster as dg

    from synthpipe.demo_data import load_adult, write_duckdb_table
    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
        data_dir = Path(folder) / "synthpipe"
        database = data_dir / "sources" / "wide.duckdb"
        write_duckdb_table(database, TABLE, widen(load_adult(rows=args.rows, seed=7), args.columns))
        started = time.perf_counter()
        result = build_synthpipe_defs(wide_config(data_dir, database)).resolve_job_def(REFRESH_JOB).execute_in_process(
            instance=instance, raise_on_error=False
        )
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
        records = instance.all_logs(result.run_id)
        lines = [record.user_message for record in records]
        steps = _step_seconds(records)
    print(f"wide table: {args.columns} columns x {args.rows:,} rows, refresh {'succeeded' if result.success else 'FAILED'}")
    print(f"refresh wall time: {wall:.1f} s on {os.cpu_count()} cores")
    for step, seconds in steps.items():
        print(f"  step {step:<24} {seconds:7.1f} s")
    for node, names in (("wide__synthesizer", ("fit_seconds",)), ("wide__synthetic", ("sample_seconds", "evaluation_seconds", "quality_score"))):
        events = result.asset_materializations_for_node(node)
        for name in names:
            if events and f"synthpipe/{name}" in events[0].metadata:
                print(f"  {name:<28} {events[0].metadata[f'synthpipe/{name}'].value:9.3f}")
    for line in lines:
        if line.startswith("Quality:"):
            print(f"  | {line}")
    print(f"load average (1, 5, 15 min): before {tuple(round(x, 2) for x in load_before)}, after {tuple(round(x, 2) for x in load_after)}")
    if not result.success:
        raise SystemExit("the wide-table refresh failed")


if __name__ == "__main__":
    main()
