"""`make demo`: build the DuckDB demo source from real public tables, run the nightly refresh
once and print what it published.

The demo source holds the UCI Adult table (a single table), a bounded slice of the 2013 New York
flights schema (a relational group) and per-aircraft flight sequences (a sequential table). The
configuration adds two tables without a source: a generated set drawing from the adult twin, and
a Mesa simulation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from synthpipe import metadata_keys as keys
from synthpipe.config import resolve_data_dir
from synthpipe.demo_data import (
    ADULT_TABLE,
    load_adult,
    nycflights_slice,
    plane_sequences,
    write_duckdb_table,
)
from synthpipe.factory import REFRESH_JOB

__all__ = ["DEMO_DATABASE", "main", "prepare_source"]

DEMO_DATABASE = Path("sources") / "demo.duckdb"
# Bounded slices keep the demo to a couple of minutes on two cores.
NYC_FLIGHTS = 1_000
SEQUENCE_PLANES, SEQUENCE_FLIGHTS = 60, 20


def prepare_source(data_dir: Path) -> Path:
    """Writes the demo tables into `<data_dir>/sources/demo.duckdb` once."""
    database = data_dir / DEMO_DATABASE
    if database.exists():
        return database
    tables = {ADULT_TABLE: load_adult(), **nycflights_slice(NYC_FLIGHTS, seed=1)}
    tables["plane_flights"] = plane_sequences(SEQUENCE_PLANES, SEQUENCE_FLIGHTS, seed=3)
    for name, frame in tables.items():
        write_duckdb_table(database, name, frame)
    print(f"Loaded {', '.join(f'{n} ({len(f)} rows)' for n, f in tables.items())} into {database}")
    return database


def _metadata(result: dg.ExecuteInProcessResult, *path: str) -> dict[str, object]:
    key = dg.AssetKey(list(path))
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    if not events:
        return {}
    metadata = events[-1].step_materialization_data.materialization.metadata
    return {name: getattr(value, "value", value) for name, value in metadata.items()}


def _summary(result: dg.ExecuteInProcessResult) -> str:
    adult = _metadata(result, ADULT_TABLE, "published")
    lines = [
        f"\nsynthpipe demo: nightly refresh succeeded (Dagster run {result.run_id})",
        f"  {ADULT_TABLE}: snapshot {adult[keys.SNAPSHOT_URI]} version {adult[keys.SNAPSHOT_VERSION]}",
        f"    rows {adult['dagster/row_count']}, seed {adult[keys.SEED]}, quality score {adult[keys.QUALITY_SCORE]:.4f}",
        f"    MLflow run {adult[keys.MLFLOW_RUN_ID]}, registered model {adult[keys.MODEL_NAME]} "
        f"version {adult[keys.MODEL_VERSION]} (alias champion)",
    ]
    choice = _metadata(result, ADULT_TABLE, "synthesizer")
    if keys.AUTO_WINNER in choice:
        lines.append(f"    auto chose {choice['synthpipe/auto_winner']} (candidates ranked, as in MLflow's auto/candidates.json):")
        lines += [f"      {row}" for row in str(choice[keys.AUTO_CANDIDATES]).splitlines()]
    for check in result.get_asset_check_evaluations():
        if check.asset_key.path[0] == ADULT_TABLE and check.check_name.startswith(("guard_", "suite_")):
            status = "passed" if check.passed else f"failed ({check.description})"
            evaluated = check.metadata[keys.EXPECTATIONS_EVALUATED].value
            lines.append(f"    {check.check_name} on {check.asset_key.to_user_string()}: {status}, {evaluated} expectations")
    docs = next(
        (c.metadata[keys.DATA_DOCS].value for c in result.get_asset_check_evaluations() if c.asset_key.path[0] == ADULT_TABLE and keys.DATA_DOCS in c.metadata),
        None,
    )
    if docs:
        lines.append(f"    Data Docs: {docs.rsplit('/validations/', 1)[0]}/index.html (`make ui` serves it)")
    synthetic = _metadata(result, ADULT_TABLE, "synthetic")
    downstream = _metadata(result, ADULT_TABLE, "downstream")
    lines.append(
        f"    privacy: exact copies {synthetic[keys.EXACT_COPY_SHARE]:.4f}, closer to training than holdout "
        f"{synthetic[keys.DCR_CLOSER_SHARE]:.3f}; utility (AUC, synthetic/real) {downstream['synthpipe/utility_synthetic_score']:.3f}"
        f"/{downstream['synthpipe/utility_real_score']:.3f} = {downstream['synthpipe/utility_ratio']:.3f}"
    )
    group = {t: _metadata(result, "nycflights", "published", t) for t in ("airlines", "airports", "planes", "flights")}
    group_quality = _metadata(result, "nycflights", "synthetic").get(keys.QUALITY_SCORE)
    lines.append(
        f"  nycflights (relational, keys resolve): version {group['flights'][keys.SNAPSHOT_VERSION]}, "
        + ", ".join(f"{t} {m['dagster/row_count']} rows" for t, m in group.items())
        + f", quality score {group_quality:.4f}"
    )
    sequences = _metadata(result, "plane_flights", "published")
    lines.append(
        f"  plane_flights (sequences): version {sequences[keys.SNAPSHOT_VERSION]}, {sequences['dagster/row_count']} rows, "
        f"quality score {sequences[keys.QUALITY_SCORE]:.4f}"
    )
    bank = {t: _metadata(result, "bank", "published", t) for t in ("customers", "accounts")}
    generated = _metadata(result, "bank", "synthetic")
    lines.append(
        f"  bank (generated, no source): version {bank['customers'][keys.SNAPSHOT_VERSION]}, "
        + ", ".join(f"{t} {m['dagster/row_count']} rows" for t, m in bank.items())
        + f", fit to the declarations {generated[keys.QUALITY_SCORE]:.4f}, drawn from the adult twin v{generated[keys.TWIN_VERSIONS]['adult']}"
    )
    simulated = _metadata(result, "transfers", "published", "transactions")
    run = _metadata(result, "transfers", "synthetic")
    lines.append(
        f"  transfers (Mesa simulation): version {simulated[keys.SNAPSHOT_VERSION]}, {simulated['dagster/row_count']} transactions, "
        f"{run[keys.STEPS_PER_SECOND]:.0f} steps/s, seed {run[keys.SEED]}"
    )
    lines += [
        "\nLook around:",
        "  make dagster-ui   # Dagster UI on http://127.0.0.1:3000 (assets, checks, schedule, runs)",
        "  make mlflow-ui    # MLflow UI on http://127.0.0.1:5000 (runs, metrics, registered models)",
        "  make ui           # both at once",
    ]
    return "\n".join(lines)


def _failures(result: dg.ExecuteInProcessResult) -> str:
    lines = [
        f"  check {e.asset_key.to_user_string()}:{e.check_name} failed: {e.description}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    lines += [
        f"  step {event.step_key} failed: {event.step_failure_data.error.cause.message.strip() if event.step_failure_data.error.cause else event.step_failure_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure
    ]
    return "\n".join(lines)


def main() -> int:
    data_dir = resolve_data_dir(None)
    os.environ.setdefault("DAGSTER_HOME", str(data_dir / "dagster"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    prepare_source(data_dir)

    from synthpipe.definitions import defs

    job = defs().resolve_job_def(REFRESH_JOB)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    if not result.success:
        print(f"The nightly refresh failed (Dagster run {result.run_id}); see the run log in the Dagster UI.")
        print(_failures(result))
        return 1
    print(_summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
