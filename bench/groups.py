"""Relational synthesizers side by side, through the real refresh job: SDV's HMA against
TabularARGN (`synthesizer: argn` on a group) on two real schemas.

- flights: the demo's slice of the 2013 New York flights schema (airlines, airports, planes,
  flights; four foreign keys, one level). TabularARGN generates flights against their plane
  (`context: true`); carrier, origin and destination are references.
- chinook: the Chinook music store, nine tables three levels deep (employees -> customers ->
  invoices -> invoice lines; artists -> albums -> tracks -> invoice lines; genres and media types
  -> tracks). HMA refuses it (more than 5 tables, more than one level); the row says so.

Each row: SDMetrics multi-table quality, referential integrity (share of foreign keys that
resolve), utility (flights: train-on-synthetic / train-on-real R² of `arr_delay` on real
held-out flights), children per parent against the real ratio, fit and refresh seconds.
TabularARGN gets `--budget-seconds` of training for the whole group (shared by its tables in
proportion to their rows); HMA takes no budget.

Run with `make bench-groups` (`BENCH_GROUPS_ARGS="--budget-seconds 60"`); `make bench-quality`
runs it after the single-table and sequence tables.
"""

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def _flights(flights: int) -> tuple[dict, dict]:
    from synthpipe.demo_data import nycflights_slice

    tables = nycflights_slice(flights, seed=1)
    group = {
        "name": "flights",
        "tables": [
            {"name": "airlines", "primary_key": "carrier", "pii": {"name": "company"}},
            {"name": "airports", "primary_key": "faa", "pii": {"name": "company"}},
            {"name": "planes", "primary_key": "tailnum"},
            {"name": "flights"},
        ],
        "foreign_keys": [
            {"parent": "airlines", "parent_key": "carrier", "child": "flights", "child_key": "carrier"},
            {"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum", "context": True},
            {"parent": "airports", "parent_key": "faa", "child": "flights", "child_key": "origin"},
            {"parent": "airports", "parent_key": "faa", "child": "flights", "child_key": "dest"},
        ],
        "orphans": "drop",
        "target": {"table": "flights", "column": "arr_delay"},
    }
    return {n: tables[n] for n in ("airlines", "airports", "planes", "flights")}, group


def _chinook() -> tuple[dict, dict]:
    from synthpipe.demo_data import load_chinook

    real = load_chinook()
    keep = {
        "employees": ["employee_id", "country"],  # names, titles, dates of 8 people: personal or unique
        "customers": ["customer_id", "firstname", "lastname", "email", "country", "support_rep_id"],
        "invoices": ["invoice_id", "customer_id", "invoicedate", "billingcountry", "total"],
        "invoice_lines": ["invoice_line_id", "invoice_id", "track_id", "unit_price", "quantity"],
        "artists": ["artist_id"],  # names and titles are free text: left out
        "albums": ["album_id", "artist_id"],
        "genres": ["genre_id"],  # 25 genres, 5 media types: each name is one row's, left out too
        "media_types": ["media_type_id"],
        "tracks": ["track_id", "album_id", "media_type_id", "genre_id", "milliseconds", "bytes", "unit_price"],
    }
    tables = {name: real[name][columns] for name, columns in keep.items()}
    fk = lambda parent, key, child, context=None: {"parent": parent, "parent_key": key, "child": child, "child_key": key, **({"context": context} if context is not None else {})}  # noqa: E731
    group = {
        "name": "chinook",
        "tables": [
            {"name": "employees", "primary_key": "employee_id"},
            # 24 countries among 59 customers: declared categorical, so the rare ones are replaced, not refused as free text
            {"name": "customers", "primary_key": "customer_id", "pii": {"firstname": "first_name", "lastname": "last_name", "email": "email"},
             "columns": {"country": {"sdtype": "categorical"}}},
            {"name": "invoices", "primary_key": "invoice_id"},
            {"name": "invoice_lines", "primary_key": "invoice_line_id"},
            {"name": "artists", "primary_key": "artist_id"},
            {"name": "albums", "primary_key": "album_id"},
            {"name": "genres", "primary_key": "genre_id"},
            {"name": "media_types", "primary_key": "media_type_id"},
            {"name": "tracks", "primary_key": "track_id"},
        ],
        "foreign_keys": [
            {"parent": "employees", "parent_key": "employee_id", "child": "customers", "child_key": "support_rep_id"},
            fk("customers", "customer_id", "invoices"),
            fk("invoices", "invoice_id", "invoice_lines", True),
            fk("tracks", "track_id", "invoice_lines"),
            fk("artists", "artist_id", "albums"),
            fk("albums", "album_id", "tracks", True),
            fk("genres", "genre_id", "tracks"),
            fk("media_types", "media_type_id", "tracks"),
        ],
        "orphans": "null",
    }
    return tables, group


def _refresh(folder: Path, tables: dict, group: dict) -> dict:
    import dagster as dg

    from synthpipe.demo_data import write_duckdb_table
    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
    from synthpipe.resources.snapshots import DeltaSnapshotStore

    for name, frame in tables.items():
        write_duckdb_table(folder / "sources" / "bench.duckdb", name, frame)
    config = {"data_dir": str(folder), "source": {"kind": "duckdb", "database": "sources/bench.duckdb"}, "groups": [group]}
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, raise_on_error=False)
        run_seconds = time.perf_counter() - started
    name = group["name"]
    fitted = result.asset_materializations_for_node(f"{name}__synthesizer")
    candidate = result.asset_materializations_for_node(f"{name}__synthetic")
    if not fitted or not candidate:
        failure = next((e.message for e in result.all_events if e.is_step_failure), "no candidate")
        return {"error": str(failure).splitlines()[0][:160]}
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    utility = checks.get("utility")
    store = DeltaSnapshotStore(root=str(folder / "snapshots"))
    published = {t["name"]: store.read(f"{name}/{t['name']}") for t in group["tables"]} if result.success else {}
    return {
        "fit_seconds": fitted[0].metadata["synthpipe/fit_seconds"].value,
        "run_seconds": run_seconds,
        "quality": candidate[0].metadata["synthpipe/quality_score"].value,
        "integrity": checks["referential_integrity"].passed,
        "utility": None if utility is None else utility.metadata.get("synthpipe/utility_ratio").value,
        "published": result.success,
        "failed": sorted(n for n, e in checks.items() if not e.passed),
        "synthetic": published,
    }


def _integrity(synthetic: dict, group: dict) -> float:
    """Share of non-empty foreign keys of the published set that resolve to a parent row."""
    resolving = total = 0
    for fk in group["foreign_keys"]:
        values = synthetic[fk["child"]][fk["child_key"]].dropna()
        resolving += int(values.isin(set(synthetic[fk["parent"]][fk["parent_key"]])).sum())
        total += len(values)
    return resolving / total if total else 1.0


def _proportions(real: dict, synthetic: dict, group: dict) -> str:
    """Children per parent, synthetic against real (after the orphan policy), for each child's
    context relationship (TabularARGN's; the same relationships for HMA)."""
    from synthpipe.config import ForeignKeyConfig, GroupConfig
    from synthpipe.resources.relational import context_foreign_keys, resolve_orphans

    config = GroupConfig.model_validate({**group, "synthesizer": "argn"})
    resolved, _ = resolve_orphans(config, dict(real), [ForeignKeyConfig(**fk) for fk in group["foreign_keys"]])
    parts = []
    for child, fk in context_foreign_keys(config.foreign_keys).items():
        ratio = lambda t: len(t[child]) / max(len(t[fk.parent]), 1)  # noqa: E731
        parts.append(f"{child}/{fk.parent} {ratio(synthetic):.2f} ({ratio(resolved):.2f})")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-seconds", type=float, default=240.0, help="TabularARGN's training budget for a whole group")
    parser.add_argument("--flights", type=int, default=2000, help="flights in the flights schema's slice")
    parser.add_argument("--schemas", default="flights,chinook", help="which schemas to run")
    parser.add_argument("--argn-params", default="{}", help='more TabularARGN parameters, as JSON (e.g. \'{"value_protection": false}\')')
    args = parser.parse_args()

    from synthpipe.extras import argn_engine_available

    schemas = {"flights": _flights(args.flights), "chinook": _chinook()}
    candidates = {"HMA": {"synthesizer": "hma"}}
    if argn_engine_available():
        params = {"max_training_time": args.budget_seconds / 60, "random_state": 0, **json.loads(args.argn_params)}
        candidates["TabularARGN"] = {"synthesizer": "argn", "synthesizer_params": params}
    else:
        print("TabularARGN is not installed (make install installs it); its rows are left out.\n")
    print(
        f"TabularARGN budget {args.budget_seconds:.0f} s per group, HMA untimed; holdout 20% of child rows (HMA) or of "
        f"families (TabularARGN); {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start\n"
    )
    print("| schema | synthesizer | multi-table quality | keys resolving | utility R² ratio | children per parent, synthetic (real) | fit s | refresh s |")
    print("|---|---|---|---|---|---|---|---|")
    for schema in args.schemas.split(","):
        tables, group = schemas[schema]
        shape = f"{len(tables)} tables, {sum(len(t) for t in tables.values())} rows"
        for label, settings in candidates.items():
            chosen = {**group, "quality_threshold": 0.1, "seed": 7, "gate_severity": {"dcr": "warn", "utility": "warn", "exact_copies": "warn"}, **settings}
            if settings["synthesizer"] == "hma":
                chosen["foreign_keys"] = [{k: v for k, v in fk.items() if k != "context"} for fk in group["foreign_keys"]]
            try:
                with tempfile.TemporaryDirectory(prefix="synthpipe-bench-") as folder:
                    row = _refresh(Path(folder), tables, chosen)
            except Exception as error:  # refused when definitions load (HMA's limits)
                message = str(error).split("\n  - ")[-1]
                print(f"| {schema} ({shape}) | {label} | refused: {message[:150]} | | | | | |")
                continue
            if "error" in row:
                print(f"| {schema} ({shape}) | {label} | failed: {row['error']} | | | | | |")
                continue
            resolving = f"{_integrity(row['synthetic'], chosen):.1%}" if row["synthetic"] else ("passed" if row["integrity"] else "FAILED")
            utility = "-" if row["utility"] is None else f"{row['utility']:.2f}"
            proportions = _proportions(tables, row["synthetic"], group) if row["synthetic"] else f"not published ({', '.join(row['failed'])})"
            print(
                f"| {schema} ({shape}) | {label} | {row['quality']:.3f} | {resolving} | {utility} | {proportions} | "
                f"{row['fit_seconds']:.1f} | {row['run_seconds']:.1f} |"
            )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; settings: " + json.dumps(candidates))


if __name__ == "__main__":
    main()
