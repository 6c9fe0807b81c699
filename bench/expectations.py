"""Great Expectations validation at 1,000,000 rows with 30 expectations, as a refresh runs it.

The rows are the real Adult table resampled (seeded) to `--rows`; the 30 expectations are the
demo's contract (`expectations/adult.yaml`, synthetic side) followed by the suite derived from
the table's profile, run as a refresh runs them (one validation per suite). Measured in one
run, each the fastest of three:
  - importing GX and creating the process's context (each paid once per process),
  - the 30 expectations with that one context (what synthpipe does),
  - the same with a fresh GX context for each suite (what reusing the context avoids),
  - the same with GX's batch fingerprint (a hash of every row) left on, as GX does by default,
  - the same with the Data Docs pages rendered (what a refresh does),
  - one validation per expectation type, to show where the time goes.

Run with `make bench-expectations` (`BENCH_EXPECTATIONS_ARGS="--rows 200000"` for a short run).
"""

import argparse
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _best(fn, repeats: int = 3):
    """The fastest of `repeats` runs (the others wait on the machine, not on the code)."""
    runs = [_timed(fn) for _ in range(repeats)]
    return runs[0][0], min(seconds for _, seconds in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows validated")
    parser.add_argument("--expectations", type=int, default=30, help="expectations in the suite")
    args = parser.parse_args()

    _, gx_import = _timed(lambda: __import__("great_expectations"))
    from synthpipe.expectations import runner
    from synthpipe.expectations.profile import derive_suite, profile_table
    from synthpipe.expectations.suites import load_suite, merge_suites
    from synthpipe.demo_data import load_adult

    adult = load_adult()
    data = adult.sample(n=args.rows, replace=True, random_state=0).reset_index(drop=True)
    contract = [spec for spec, _ in load_suite(Path(runner.__file__).parent / "adult.yaml").synthetic_specs(adult)]
    derived, _ = merge_suites(derive_suite(profile_table(adult), None), contract)

    _, first_context = _timed(runner._context)
    user, derived_part = contract[: args.expectations], derived[: max(0, args.expectations - len(contract))]

    def refresh(docs=None):
        failed = runner.validate(data, "adult", "user", user, docs).failures
        return failed + runner.validate(data, "adult", "derived", derived_part, docs).failures

    refresh()  # warm-up
    failures, reused = _best(refresh)

    def fresh_contexts():
        runner._context.cache_clear()
        runner.validate(data, "adult", "user", user)
        runner._context.cache_clear()
        return runner.validate(data, "adult", "derived", derived_part)

    _, fresh = _best(fresh_contexts)

    def with_fingerprint():
        from great_expectations.execution_engine import pandas_execution_engine

        pandas_execution_engine.HASH_THRESHOLD = 1e9  # GX's default: hash every batch under 1 GB
        try:
            return refresh()
        finally:
            pandas_execution_engine.HASH_THRESHOLD = 0

    _, fingerprinted = _best(with_fingerprint)
    with tempfile.TemporaryDirectory() as folder:
        refresh(Path(folder))  # adds the site
        _, with_docs = _best(lambda: refresh(Path(folder)))

    groups: dict[str, list] = {}
    for spec in user + derived_part:
        groups.setdefault(spec.type, []).append(spec)
    per_type = {
        name: _timed(lambda group=group: runner.validate(data, "adult", "bench", group))[1] for name, group in groups.items()
    }

    print(f"{len(data):,} rows x {data.shape[1]} columns, {len(user) + len(derived_part)} expectations "
          f"({len(user)} user, {len(derived_part)} derived; {len(failures)} failed)\n")
    print("| run | seconds |")
    print("|---|---|")
    print(f"| import GX (once per process) | {gx_import:.2f} |")
    print(f"| create the process's GX context (once per process) | {first_context:.2f} |")
    print(f"| 30 expectations, one context (synthpipe) | {reused:.2f} |")
    print(f"| the same, a fresh context for each suite | {fresh:.2f} |")
    print(f"| the same, GX's batch fingerprint left on (GX's default) | {fingerprinted:.2f} |")
    print(f"| the same as synthpipe, Data Docs pages rendered | {with_docs:.2f} |")
    print(
        f"\nfresh contexts / one context: {fresh / reused:.2f}x; fingerprint on / off: {fingerprinted / reused:.2f}x; "
        f"Data Docs add {with_docs - reused:.2f} s\n"
    )
    print("| expectation type | count | seconds |")
    print("|---|---|---|")
    for name, seconds in sorted(per_type.items(), key=lambda item: -item[1]):
        print(f"| {name} | {len(groups[name])} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
