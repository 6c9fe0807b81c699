"""Plain SDV against synthpipe's nightly refresh, at growing sizes, in one run.

For each size N (default 50,000, 500,000 and 5,000,000 source rows) a DuckDB table is built from
the real Adult table: N rows drawn with replacement, integer jitter of -2..2 on `age`, `fnlwgt`
and `hours-per-week`, and a `row_id` key (16 columns). Then, each in its own process, so that
peak memory (max RSS) is the arm's own:

  (a) plain SDV with its defaults, what a user does without synthpipe: read the table, detect
      metadata, `GaussianCopulaSynthesizer(metadata)`, `fit`, `sample(N)`, SDV's
      `evaluate_quality` on the full tables, write the rows to a Delta table;
  (b) synthpipe's refresh job for the same table and N synthetic rows (Dagster, MLflow, Great
      Expectations, gates, Delta publication), with its defaults.

Both synthetic tables are then judged the same way: SDMetrics' quality report on 20,000 seeded
real rows against 20,000 seeded synthetic rows. End-to-end is each process's wall time,
imports included. Plain SDV is skipped above `--plain-max-rows` (default 500,000): at 5,000,000
rows its default fit needs about half an hour and over 10 GB here; the table says so.

The overhead case runs the demo's Adult table (48,842 rows) through the Dagster job and through
`bench.bare`, the same library calls in one script, and prints the ratio.

Run with `make bench` (`make bench BENCH_ARGS="--sizes 50000"` for a quick look).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

JUDGE_ROWS = 20_000
COLUMNS_JITTERED = ("age", "fnlwgt", "hours-per-week")


def build_source(database: Path, rows: int) -> None:
    """The benchmark table `bench` of `rows` rows, built inside DuckDB (no pandas copy)."""
    import duckdb

    from synthpipe.demo_data import adult_path

    database.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as db:
        db.execute(f"CREATE OR REPLACE TABLE adult0 AS SELECT row_number() OVER () - 1 AS i, * FROM read_parquet('{adult_path()}')")
        n = db.execute("SELECT count(*) FROM adult0").fetchone()[0]
        jitter = ", ".join(
            f'greatest((SELECT min("{c}") FROM adult0), a."{c}" + (hash(r.range * {k + 3}) % 5)::BIGINT - 2) AS "{c}"'
            for k, c in enumerate(COLUMNS_JITTERED)
        )
        excluded = ", ".join(f'"{c}"' for c in COLUMNS_JITTERED)
        db.execute(
            f"CREATE OR REPLACE TABLE bench AS SELECT r.range + 1 AS row_id, a.* EXCLUDE (i, {excluded}), {jitter} "
            f"FROM range({rows}) r JOIN adult0 a ON a.i = hash(r.range) % {n} ORDER BY row_id"
        )
        db.execute("DROP TABLE adult0")


def _emit(figures: dict) -> None:
    print("BENCH " + json.dumps(figures), flush=True)


def arm_plain(database: Path, rows: int, out: Path) -> None:
    started = time.perf_counter()
    import duckdb
    from deltalake import write_deltalake
    from sdv.evaluation import evaluate_quality
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    with duckdb.connect(str(database), read_only=True) as db:
        real = db.sql("SELECT * FROM bench").df()
    t = time.perf_counter()
    metadata = Metadata.detect_from_dataframes({"bench": real})
    synthesizer = GaussianCopulaSynthesizer(metadata)
    synthesizer.fit({"bench": real})
    fit = time.perf_counter() - t
    t = time.perf_counter()
    synthetic = synthesizer.sample(rows)["bench"]
    sample = time.perf_counter() - t
    t = time.perf_counter()
    report = evaluate_quality(real, synthetic, metadata, verbose=False)
    evaluation = time.perf_counter() - t
    write_deltalake(str(out / "plain_delta"), synthetic, mode="overwrite")
    synthetic.sample(n=min(JUDGE_ROWS, len(synthetic)), random_state=0).to_parquet(out / "plain_judge.parquet")
    _emit({"fit": fit, "sample_rps": rows / sample, "evaluation": evaluation, "own_quality": report.get_score(),
           "e2e_after_start": time.perf_counter() - started})


def arm_synthpipe(database: Path, rows: int, out: Path) -> None:
    started = time.perf_counter()
    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    data_dir = out / "synthpipe"
    config = {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": str(database)},
        "schedule": {"enabled": False},
        "tables": [{"name": "bench", "num_rows": rows, "gate_severity": {"quality": "warn", "dcr": "warn", "exact_copies": "warn"}}],
    }
    result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(raise_on_error=False)
    if not result.success:
        raise SystemExit("synthpipe refresh failed")
    figures = {}
    for node, names in (("bench__synthesizer", ("fit_seconds",)), ("bench__synthetic", ("sample_seconds", "evaluation_seconds", "quality_score"))):
        [event] = result.asset_materializations_for_node(node)
        for name in names:
            figures[name] = event.metadata[f"synthpipe/{name}"].value
    e2e = time.perf_counter() - started
    _emit({"fit": figures["fit_seconds"], "sample_rps": rows / figures["sample_seconds"], "evaluation": figures["evaluation_seconds"],
           "own_quality": figures["quality_score"], "e2e_after_start": e2e})


def _run_arm(arm: str, *args: str) -> dict:
    """Runs one arm in a child process; wall time and that child's own peak memory."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bench.scale", "--arm", arm, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    out, err = child.stdout.read(), child.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{arm} failed:\n{err[-3000:]}")
    figures = json.loads(next(line for line in out.splitlines() if line.startswith("BENCH "))[6:])
    return {**figures, "e2e": wall, "peak_mb": usage.ru_maxrss / 1024}


def _published_sample(table: Path, target: Path) -> None:
    import numpy as np
    import pyarrow as pa
    from deltalake import DeltaTable

    published = DeltaTable(str(table)).to_pyarrow_dataset()
    total = published.count_rows()
    pick = np.random.default_rng(0).choice(total, size=min(JUDGE_ROWS, total), replace=False)
    published.take(pa.array(np.sort(pick))).to_pandas().to_parquet(target)


def _prepare_store(data_dir: Path) -> None:
    from synthpipe.resources.tracking import MlflowTracker

    (data_dir / "mlflow").mkdir(parents=True, exist_ok=True)
    MlflowTracker(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}", experiment="synthpipe",
                  artifact_location=(data_dir / "mlflow" / "artifacts").as_uri()).experiment_id()


def _judge(database: Path, synthetic: Path) -> float:
    import duckdb
    import pandas as pd
    from sdmetrics.reports.single_table import QualityReport
    from sdv.metadata import Metadata

    with duckdb.connect(str(database), read_only=True) as db:
        real = db.sql(f"SELECT * FROM bench USING SAMPLE {JUDGE_ROWS} ROWS (reservoir, 42)").df()
    metadata = Metadata.detect_from_dataframes({"bench": real}).to_dict()["tables"]["bench"]
    report = QualityReport()
    report.generate(real, pd.read_parquet(synthetic)[real.columns], metadata, verbose=False)
    return report.get_score()


def _row(label: str, figures: dict | None) -> str:
    if figures is None:
        return f"| {label} | not run (above --plain-max-rows) | | | | | |"
    return (f"| {label} | {figures['fit']:.1f} | {figures['sample_rps']:,.0f} | {figures['evaluation']:.1f} | "
            f"{figures['e2e']:.1f} | {figures['peak_mb']:,.0f} | {figures['quality']:.4f} |")


def compare(sizes: list[int], plain_max_rows: int, work: Path) -> None:
    print(f"synthpipe benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}; quality judged on {JUDGE_ROWS:,} real vs {JUDGE_ROWS:,} synthetic rows\n")
    print("| rows | arm | fit s | sample rows/s | evaluation s | end-to-end s | peak MB | quality |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for rows in sizes:
        folder = work / f"n{rows}"
        database = folder / "bench.duckdb"
        build_source(database, rows)
        results = {}
        # The nightly refresh runs against an existing MLflow store; its one-time creation
        # (SQLite schema migrations, about 3 s) is done here, outside the timed process.
        _prepare_store(folder / "synthpipe")
        for arm in ("plain", "synthpipe"):
            if arm == "plain" and rows > plain_max_rows:
                results[arm] = None
                continue
            figures = _run_arm(arm, "--database", str(database), "--rows", str(rows), "--out", str(folder))
            if arm == "synthpipe":  # the judged rows are drawn here, outside the measured process
                _published_sample(folder / "synthpipe" / "snapshots" / "bench", folder / "synthpipe_judge.parquet")
            figures["quality"] = _judge(database, folder / f"{arm}_judge.parquet")
            results[arm] = figures
        for arm, label in (("plain", "plain SDV defaults"), ("synthpipe", "synthpipe refresh")):
            print(_row(f"{rows:,} | {label}", results[arm]), flush=True)
        if results["plain"]:
            a, b = results["plain"], results["synthpipe"]
            ratios.append((rows, a["e2e"] / b["e2e"], a["fit"] / max(b["fit"], 1e-9), b["sample_rps"] / a["sample_rps"], b["peak_mb"] / a["peak_mb"], b["quality"] - a["quality"]))
    print("\n| rows | end-to-end speed-up (a/b) | fit speed-up | sampling speed-up | peak memory (b/a) | quality (b-a) |")
    print("|---|---|---|---|---|---|")
    for rows, e2e, fit, sample, memory, quality in ratios:
        print(f"| {rows:,} | {e2e:.1f}x | {fit:.1f}x | {sample:.1f}x | {memory:.2f} | {quality:+.4f} |")


def overhead(work: Path) -> None:
    """The demo table through Dagster and through the bare script: the ratio is the overhead."""
    from synthpipe.demo_data import load_adult, write_duckdb_table

    database = work / "demo" / "adult.duckdb"
    write_duckdb_table(database, "adult", load_adult())
    runs = {}
    for arm in ("bare", "dagster"):
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-m", "bench.bare", "--arm", arm, "--database", str(database), "--out", str(work / "demo" / arm)],
                               capture_output=True, text=True)
        if child.returncode != 0:
            raise SystemExit(f"overhead {arm} failed:\n{child.stderr[-3000:]}")
        runs[arm] = time.perf_counter() - started
    print(f"\nOrchestration overhead, demo Adult table (48,842 rows), whole process each, imports included: "
          f"bare script {runs['bare']:.1f} s, Dagster job {runs['dagster']:.1f} s, "
          f"overhead {runs['dagster'] / runs['bare'] - 1:+.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,500000,5000000")
    parser.add_argument("--plain-max-rows", type=int, default=500_000)
    parser.add_argument("--arm", choices=("plain", "synthpipe"))
    parser.add_argument("--database")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--out")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    if args.arm:
        {"plain": arm_plain, "synthpipe": arm_synthpipe}[args.arm](Path(args.database), args.rows, Path(args.out))
        return
    with tempfile.TemporaryDirectory(prefix="synthpipe-bench-") as work:
        compare([int(s) for s in args.sizes.split(",")], args.plain_max_rows, Path(work))
        if not args.skip_overhead:
            overhead(Path(work))


if __name__ == "__main__":
    main()
