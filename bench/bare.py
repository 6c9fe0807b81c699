"""The demo table's refresh twice: through the Dagster job (`--arm dagster`), and as the same
library calls in one plain script (`--arm bare`): read, split, fit, register in MLflow, load
back, sample in chunks to staging, expectations, quality, privacy, utility, publish to Delta.
`bench.scale` times both whole processes; the difference is what orchestration costs.
"""

import argparse
from pathlib import Path

# The attack risks (Anonymeter, on by default) are left out of the job: the bare script has no
# counterpart, and `make bench-privacy-risk` measures them. Left in, they counted as overhead.
TABLE = {"name": "adult", "target": "income", "attack_rows": 0,
         "gate_severity": {"quality": "warn", "dcr": "warn", "exact_copies": "warn", "utility": "warn"}}


def dagster(database: Path, out: Path) -> None:
    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    config = {"data_dir": str(out), "source": {"kind": "duckdb", "database": str(database)}, "tables": [TABLE]}
    assert build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process().success


def bare(database: Path, out: Path) -> None:
    from synthpipe.assets.fit import model_requirements
    from synthpipe.assets.evaluation.quality import evaluate_quality
    from synthpipe.assets.evaluation.privacy import evaluate_privacy
    from synthpipe.assets.split import fingerprint, split_holdout, to_pandas
    from synthpipe.assets.sample import stage_chunks
    from synthpipe.assets.checks.table import table_columns
    from synthpipe.assets.evaluation.utility import evaluate_utility
    from synthpipe.expectations.profile import derive_suite, profile_table
    from synthpipe.expectations.runner import validate
    from synthpipe.config import TableConfig
    from synthpipe.resources.snapshots import DeltaSnapshotStore
    from synthpipe.resources.sources import DuckDBSource
    from synthpipe.resources.synthesizers import build_synthesizer, detect_metadata, fit_synthesizer, sample_chunks
    from synthpipe.resources.tracking import MlflowTracker

    table = TableConfig(**TABLE)
    data = to_pandas(DuckDBSource(database=str(database)).read_table("adult"))
    train, holdout = split_holdout(data, table.holdout_fraction, table.split_seed)
    fit_data = train.sample(n=min(table.fit_rows, len(train)), random_state=table.split_seed)
    metadata = detect_metadata("adult", fit_data, {})
    synthesizer = build_synthesizer("gaussian_copula", {}, metadata, "adult")
    fit_synthesizer(synthesizer, "adult", fit_data)
    tracker = MlflowTracker(tracking_uri=f"sqlite:///{out / 'mlflow.db'}", artifact_location=(out / "artifacts").as_uri())
    run_id = tracker.start_run("adult", {"synthpipe/source_fingerprint": fingerprint(data)})
    model_uri = tracker.log_synthesizer(run_id, synthesizer, model_requirements())
    version = tracker.register("synthpipe-adult", model_uri, run_id, {})
    loaded = tracker.load_synthesizer("synthpipe-adult", version)
    store = DeltaSnapshotStore(root=str(out / "snapshots"), staging=str(out / "staging"))
    writer = store.stage("adult", "bare")
    chunks = sample_chunks(loaded, len(data), 1, table.sample_chunk_rows, table.workers)
    row_hash, sample = stage_chunks(writer, chunks, len(data), table.evaluation_rows)
    real_train, real_holdout = (f.sample(n=min(len(f), table.evaluation_rows), random_state=0) for f in (train, holdout))
    validate(sample, "adult", "adult.derived", derive_suite(profile_table(train), None, [], []))
    table_metadata = metadata.get_table_metadata("adult").to_dict()
    quality = evaluate_quality(real_train, sample, table_metadata)
    evaluate_privacy(sample, real_train, real_holdout, table_columns(table_metadata, "adult"), 1)
    evaluate_utility(real_train, sample, real_holdout, "income", 1)
    tracker.log_metrics(run_id, {"quality_score": quality.score})
    store.publish_staged("adult", str(writer.folder), {"synthpipe/row_hash": row_hash})
    tracker.end_run(run_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm", choices=("bare", "dagster"), required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (bare if args.arm == "bare" else dagster)(Path(args.database), out)


if __name__ == "__main__":
    main()
