"""Sequence synthesizers side by side on the demo's aircraft sequences (the 2013 New York
flights of 60 real aircraft, at most 20 each, in time order), through the real refresh job.

PAR (`--par-epochs`, the demo's 100 by default) and TabularARGN's sequential model
(`max_training_time` set to `--budget-seconds`, shared by its context and sequence models) fit
the same training aircraft (a whole-aircraft holdout of 20%) and sample as many sequences as the
source has aircraft, scored as a refresh scores them: SDMetrics quality, the mean sequence length
against the real mean (`sequence_lengths`), the fit seconds.

Run with `make bench-sequences` (`BENCH_SEQUENCES_ARGS="--budget-seconds 60"`).
"""

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

TABLE = "plane_flights"


def _refresh(folder: Path, table: dict) -> dict:
    import dagster as dg

    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    config = {"data_dir": str(folder), "source": {"kind": "duckdb", "database": "sources/flights.duckdb"}, "tables": [table]}
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, raise_on_error=False)
        run_seconds = time.perf_counter() - started
    [fitted] = result.asset_materializations_for_node(f"{TABLE}__synthesizer")
    [candidate] = result.asset_materializations_for_node(f"{TABLE}__synthetic")
    lengths = {e.check_name: e for e in result.get_asset_check_evaluations()}["sequence_lengths"].metadata
    return {
        "fit_seconds": fitted.metadata["synthpipe/fit_seconds"].value,
        "run_seconds": run_seconds,
        "quality": candidate.metadata["synthpipe/quality_score"].value,
        "mean": lengths["synthpipe/mean_sequence_length"].value,
        "real_mean": lengths["synthpipe/real_mean_sequence_length"].value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-seconds", type=float, default=120.0, help="TabularARGN's training budget (each of its two models)")
    parser.add_argument("--par-epochs", type=int, default=100, help="PAR's epochs (it takes no time budget)")
    parser.add_argument("--planes", type=int, default=60, help="aircraft (entities) in the source")
    parser.add_argument("--max-flights", type=int, default=20, help="flights per aircraft at most")
    args = parser.parse_args()

    from synthpipe.demo_data import plane_sequences, write_duckdb_table
    from synthpipe.extras import argn_engine_available

    data = plane_sequences(args.planes, args.max_flights, seed=3)
    sequence = {"entity_key": "tailnum", "order_by": "time_hour", "context_columns": ["carrier"]}
    base = {"name": TABLE, "sequence": sequence, "quality_threshold": 0.1, "seed": 7, "gate_severity": {"dcr": "warn"}}
    candidates = {"PAR": {"synthesizer_params": {"epochs": args.par_epochs}}}
    if argn_engine_available():
        candidates["TabularARGN"] = {"synthesizer": "argn", "synthesizer_params": {"max_training_time": args.budget_seconds / 60, "random_state": 0}}
    else:
        print("TabularARGN is not installed (make install installs it); its row is left out.\n")
    print(
        f"{args.planes} aircraft, at most {args.max_flights} flights each ({len(data)} rows), whole-aircraft holdout of 20%; "
        f"TabularARGN budget {args.budget_seconds:.0f} s, PAR {args.par_epochs} epochs; load average {os.getloadavg()[0]:.2f} at start\n"
    )
    print("| synthesizer | quality | mean length (real) | length error | fit s | refresh s |")
    print("|---|---|---|---|---|---|")
    for label, settings in candidates.items():
        with tempfile.TemporaryDirectory(prefix="synthpipe-bench-") as folder:
            write_duckdb_table(Path(folder) / "sources" / "flights.duckdb", TABLE, data)
            row = _refresh(Path(folder), {**base, **settings})
        error = abs(row["mean"] - row["real_mean"]) / row["real_mean"]
        print(
            f"| {label} | {row['quality']:.3f} | {row['mean']:.2f} ({row['real_mean']:.2f}) | {error:.1%} | "
            f"{row['fit_seconds']:.1f} | {row['run_seconds']:.1f} |"
        )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; settings: " + json.dumps(candidates))


if __name__ == "__main__":
    main()
