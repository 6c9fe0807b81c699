"""Tables without a source: how fast the declared generator draws rows and the example Mesa
simulation runs steps, and what one nightly refresh of each costs end to end.

Parts (`--parts`, in this order by default):

- `generator`: the demo's `bank` declaration without its twin columns (customers with a key, two
  categories and a conditional tier, two correlated numeric columns; accounts per customer from a
  Poisson count, with a formula and a rule), drawn by `Generator.generate` at each
  `--customers` size (accounts are about 1.5 per customer), once without and once with a Faker
  `name` column (Faker draws one value per call). Rows per second count both tables' rows. The
  goodness-of-fit tests (`fit_tests`, on at most 100,000 rows per column) are timed beside it.
- `simulation`: `synthpipe.simulations.transfers:TransferModel` at each `--accounts` size for
  `--steps` steps: steps per second (the stepping loop), transactions and their rate, fraud share.
- `refresh`: one whole nightly refresh of the `bank` set (20,000 customers) and of the simulation
  (300 accounts, 48 steps) through the real job (Delta, MLflow, Great Expectations) in a fresh
  data folder: wall time per step and in all.

Each figure is the best of `--repeat` runs with fixed seeds; the load average is printed before
and after each part. Run with `make bench-generated` (`BENCH_GENERATED_ARGS="--parts generator"`).
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from pathlib import Path
from typing import Any

BANK: dict[str, Any] = {
    "name": "bank",
    "seed": 1,
    "tables": [
        {
            "name": "customers",
            "num_rows": 0,
            "columns": {
                "customer_id": {"sequence": {"start": 1, "format": "C{:06d}"}},
                "segment": {"categories": {"retail": 0.8, "business": 0.2}},
                "tier": {"categories": {"standard": 0.9, "gold": 0.1}},
                "credit_score": {"distribution": "norm", "params": {"loc": 680, "scale": 60}},
                "monthly_spend": {"distribution": "lognorm", "params": {"s": 0.6, "scale": 1800}},
            },
            "correlations": [{"columns": ["credit_score", "monthly_spend"], "rho": 0.5}],
            "rules": [{"conditional": {"when": {"segment": "business"}, "column": "tier", "categories": {"gold": 0.6, "standard": 0.4}}}],
        },
        {
            "name": "accounts",
            "parent": {"table": "customers", "key": "customer_id", "count": {"distribution": "poisson", "params": {"mu": 1.5}}},
            "columns": {
                "account_id": {"sequence": {"start": 100000}},
                "product": {"categories": {"checking": 0.6, "savings": 0.3, "loan": 0.1}},
                "balance": {"distribution": "gamma", "params": {"a": 2.0, "scale": 800.0}},
                "credit_limit": {"formula": "balance * 2 + 500"},
            },
            "rules": [{"inequality": {"low": "balance", "high": "credit_limit"}}],
        },
    ],
}


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def declaration(customers: int, faker: bool) -> dict[str, Any]:
    bank = copy.deepcopy(BANK)
    bank["tables"][0]["num_rows"] = customers
    if faker:
        bank["tables"][0]["columns"]["name"] = {"faker": "name"}
    return bank


def best(repeat: int, run: Any) -> tuple[float, Any]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        outcome = run()
        timings.append(time.perf_counter() - started)
    return min(timings), outcome


def generator_part(sizes: list[int], repeat: int) -> None:
    from synthpipe.assets.evaluation.distributions import fit_tests
    from synthpipe.config import GeneratedConfig
    from synthpipe.resources.generator import Generator

    print(f"\n## Declared generator (load {load()})\n")
    print("| customers | Faker column | rows (both tables) | generate s | rows/s | fit tests s | tests | failed at 0.001 |")
    print("|---|---|---|---|---|---|---|---|")
    for customers in sizes:
        for faker in (False, True):
            if faker and customers > 200_000:
                continue  # one Faker call per row: the rate below tells what larger tables cost
            config = GeneratedConfig.model_validate(declaration(customers, faker))
            generator = Generator(config)
            seconds, tables = best(repeat, lambda: generator.generate(1))
            rows = sum(len(f) for f in tables.values())
            test_seconds, tests = best(1, lambda: fit_tests(config, tables, 0.001))
            failed = sum(not t.passed for t in tests)
            print(f"| {customers:,} | {'yes' if faker else 'no'} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} | {test_seconds:.2f} | {len(tests)} | {failed} |")
    print(f"\nload after: {load()}")


def simulation_part(sizes: list[int], steps: int, repeat: int) -> None:
    from synthpipe.resources.simulation import Simulation

    print(f"\n## Mesa simulation: transfers (load {load()})\n")
    print("| accounts | steps | run s | steps/s | transactions | transactions/s | fraud share |")
    print("|---|---|---|---|---|---|---|")
    for accounts in sizes:
        simulation = Simulation("synthpipe.simulations.transfers:TransferModel", {"accounts": accounts}, steps, ["transactions"])
        seconds, tables = best(repeat, lambda: simulation.run(1))
        transactions = tables["transactions"]
        print(
            f"| {accounts:,} | {steps} | {seconds:.2f} | {simulation.steps_per_second:,.1f} | {len(transactions):,} | "
            f"{len(transactions) / seconds:,.0f} | {transactions['is_fraud'].mean():.4f} |"
        )
    print(f"\nload after: {load()}")


def refresh_part() -> None:
    import dagster as dg

    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs

    print(f"\n## One nightly refresh through the job (load {load()})\n")
    print("| unit | rows published | source s | synthesizer s | synthetic s (draw + checks) | published s | run s |")
    print("|---|---|---|---|---|---|---|")
    units = {
        "bank": {"generated": [declaration(20_000, True)]},
        "transfers": {"simulations": [{"name": "transfers", "model": "synthpipe.simulations.transfers:TransferModel",
                                       "parameters": {"accounts": 300}, "steps": 48, "seed": 1,
                                       "tables": ["transactions", "model"], "expectation_suites": {"transactions": ["transfers.yaml"]}}]},
    }
    for name, unit in units.items():
        with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
            config = {"data_dir": str(Path(folder) / "data"), "mlflow": {"experiment": "bench"}, **unit}
            started = time.perf_counter()
            result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(
                instance=instance, raise_on_error=False, run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
            )
            total = time.perf_counter() - started
            assert result.success, f"{name}: the refresh failed"
            steps = {}
            for event in result.all_events:
                if event.event_type_value == "STEP_SUCCESS":
                    steps[event.step_key.rsplit("__", 1)[-1]] = event.event_specific_data.duration_ms / 1000
            rows = sum(
                e.step_materialization_data.materialization.metadata["dagster/row_count"].value
                for e in result.get_asset_materialization_events()
                if "published" in e.asset_key.path
            )
            print(f"| {name} | {rows:,} | {steps.get('source', 0):.2f} | {steps.get('synthesizer', 0):.2f} | {steps.get('synthetic', 0):.2f} | {steps.get('published', 0):.2f} | {total:.1f} |")
    print(f"\nload after: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["generator", "simulation", "refresh"], choices=["generator", "simulation", "refresh"])
    parser.add_argument("--customers", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--accounts", nargs="+", type=int, default=[200, 1_000, 5_000])
    parser.add_argument("--steps", type=int, default=168)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    print(f"# Tables without a source ({os.cpu_count()} cores)")
    if "generator" in arguments.parts:
        generator_part(arguments.customers, arguments.repeat)
    if "simulation" in arguments.parts:
        simulation_part(arguments.accounts, arguments.steps, arguments.repeat)
    if "refresh" in arguments.parts:
        refresh_part()


if __name__ == "__main__":
    main()
