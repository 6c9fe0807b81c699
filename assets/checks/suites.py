"""User suites as asset checks: source guards before fitting, suites on the candidate.

Each suite is one blocking check (`guard_<suite>` on the source asset, `suite_<suite>` on the
synthetic one; `<kind>_<table>_<suite>` for a table of a group) whose metadata lists every failed
expectation with its observed value and links its Data Docs page.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from synthpipe.assets.split import to_pandas
from synthpipe.expectations.profile import ExpectationSpec
from synthpipe.expectations.runner import SuiteResult, validate
from synthpipe.expectations.suites import UserSuite, merge_suites
from synthpipe import metadata_keys as keys
from synthpipe.config import TableConfig
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["GUARD_ROWS", "log_user_suites", "run_guards", "run_table_guards", "suite_check_result", "user_check_name", "user_suite_results", "user_suite_specs"]

# Source guards validate the whole source up to this many rows, else a seeded sample of it.
GUARD_ROWS = 1_000_000


def user_check_name(kind: str, suite: str, member: str | None = None) -> str:
    """`guard_<suite>` / `suite_<suite>`; for a table of a group, `<kind>_<table>_<suite>`."""
    return f"{kind}_{member}_{suite}" if member else f"{kind}_{suite}"


def user_suite_specs(kind: str, suites: Sequence[UserSuite], asset: dg.AssetKey, member: str | None = None) -> list[dg.AssetCheckSpec]:
    """One blocking check per user suite: `guard` on the source asset (for suites that guard it;
    it runs before any model fits), `suite` on the synthetic asset."""
    on = f" on table {member!r}" if member else ""
    if kind == "guard":
        what = "the suite's source expectations and rules on the source rows; a failure stops the refresh before fitting and the last published version stays."
    else:
        what = "its expectations and business rules on the synthetic candidate; severity `error` blocks, `warn` reports."
    return [
        dg.AssetCheckSpec(
            user_check_name(kind, suite.name, member),
            asset=asset,
            blocking=True,
            description=f"{'Source guard' if kind == 'guard' else 'User suite'} {suite.name!r} ({suite.path}){on}: {what}",
        )
        for suite in suites
        if (suite.guards if kind == "guard" else suite.checks_synthetic)
    ]


def suite_check_result(check_name: str, suite: SuiteResult, docs: DataDocsFolder | None = None, extra: dict[str, Any] | None = None) -> dg.AssetCheckResult:
    """A suite's check: fails on any failed expectation, blocks only on `error` ones, and lists
    every failure with its observed value; links the suite's Data Docs page (served over HTTP
    when `docs` knows the address of `synthpipe serve`)."""
    blocking = suite.blocking_failures
    rows = [
        f"| `{f.type}` | {f.column or ''} | {_cell(f.observed)} | {f.unexpected_count if f.unexpected_count is not None else ''} | "
        f"{_cell(f.unexpected_examples[:3]) if f.unexpected_examples else ''} | {f.severity} | {f.where or 'derived'} |"
        for f in suite.failures
    ]
    table_md = "\n".join(["| expectation | column | observed | unexpected | examples | severity | declared at |", "|---|---|---|---|---|---|---|", *rows])
    metadata: dict[str, Any] = {
        keys.EXPECTATIONS_EVALUATED: suite.evaluated,
        keys.EXPECTATIONS_FAILED: len(suite.failures),
        # Only when something failed: an empty table would read "[Show Markdown]" in the UI.
        **({keys.FAILED_EXPECTATIONS: dg.MetadataValue.md(table_md)} if rows else {}),
        **(extra or {}),
    }
    if suite.docs_url:
        metadata[keys.DATA_DOCS] = dg.MetadataValue.url(docs.link(suite.docs_url) if docs else suite.docs_url)
    failed = f"{len(suite.failures)} of {suite.evaluated} expectations failed" + (f" ({len(blocking)} blocking)" if blocking else " (warnings)")
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not suite.failures,
        severity=dg.AssetCheckSeverity.WARN if suite.failures and not blocking else dg.AssetCheckSeverity.ERROR,
        description=None if not suite.failures else failed,
        metadata=metadata,
    )


def log_user_suites(
    tracker: MlflowTracker, run_id: str, results: Sequence[tuple[UserSuite, list[tuple[ExpectationSpec, str]], SuiteResult]], prefix: str = ""
) -> None:
    """Each user suite as run (`expectations/<suite>.json`, with where each entry was declared)
    and its failure count (`suite.<suite>.failed`)."""
    for suite, pairs, _ in results:
        tracker.log_dict(run_id, [{**x.__dict__, "declared_at": w} for x, w in pairs], f"expectations/{prefix}{suite.name}.json")
    tracker.log_metrics(run_id, {f"suite.{prefix}{suite.name}.failed": len(r.failures) for suite, _, r in results})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = repr(value)
    text = text if len(text) <= 120 else text[:117] + "..."
    return text.replace("|", "\\|")


def _guard_frame(arrow: pa.Table, seed: int) -> pd.DataFrame:
    """The rows the source guards see: every row, or a seeded sample of `GUARD_ROWS`."""
    if arrow.num_rows <= GUARD_ROWS:
        return to_pandas(arrow)
    rows = np.sort(np.random.default_rng(seed).choice(arrow.num_rows, GUARD_ROWS, replace=False))
    return to_pandas(arrow.take(pa.array(rows)))


def run_guards(
    context: dg.AssetExecutionContext,
    label: str,
    suites: Sequence[UserSuite],
    data: pd.DataFrame,
    scope: str,
    site: Path,
    docs: DataDocsFolder,
    member: str | None = None,
) -> list[dg.AssetCheckResult]:
    """Validates the source rows of one table with each guarding suite; logs why a failure
    stops the refresh. `label` names the table in messages; `member` is its name in a group."""
    results = []
    for suite in suites:
        if not suite.guards:
            continue
        specs = suite.source_specs()
        name = label.replace("/", ".")
        outcome = validate(data, name, f"{name}.guard.{suite.name}", [s for s, _ in specs], site, [w for _, w in specs])
        if outcome.blocking_failures:
            context.log.error(
                f"Source guard {suite.name!r} failed on table {label!r} ({scope}): "
                + "; ".join(f.describe() for f in outcome.blocking_failures)
                + ". The refresh stops before fitting and the last published version stays. The source itself breaks "
                f"these rules: fix the load, or correct the expectation in {suite.path} if the rule is wrong."
            )
        results.append(suite_check_result(user_check_name("guard", suite.name, member), outcome, docs, {keys.GUARD_ROWS: len(data), keys.GUARD_SCOPE: scope}))
    return results


def run_table_guards(context: dg.AssetExecutionContext, table: TableConfig, arrow: pa.Table, docs: DataDocsFolder) -> list[dg.AssetCheckResult]:
    if not any(suite.guards for suite in table.suites):
        return []
    data = _guard_frame(arrow, table.split_seed)
    scope = "every row" if len(data) == arrow.num_rows else f"a seeded sample of {len(data):,} of {arrow.num_rows:,} rows"
    return run_guards(context, table.name, table.suites, data, scope, docs.site(table.name, context.run.run_id), docs)


def user_suite_results(
    data: pd.DataFrame,
    label: str,
    suites: Sequence[UserSuite],
    fitted_rows: pd.DataFrame,
    derived: list[ExpectationSpec],
    site: Path,
) -> tuple[SuiteResult, list[tuple[UserSuite, list[tuple[ExpectationSpec, str]], SuiteResult]], list[ExpectationSpec]]:
    """The derived suite (less what a user suite constrains too: the user's rule wins) and each
    user suite, validated on one table's candidate rows. Returns the derived result, each user
    suite with its specs and result, and the derived expectations that ran."""
    user = [(s, s.synthetic_specs(fitted_rows)) for s in suites if s.checks_synthetic]
    kept, _ = merge_suites(derived, [spec for _, pairs in user for spec, _ in pairs])
    name = label.replace("/", ".")
    suite = validate(data, name, f"{name}.derived", kept, site)
    results = [(s, pairs, validate(data, name, f"{name}.{s.name}", [x for x, _ in pairs], site, [w for _, w in pairs])) for s, pairs in user]
    return suite, results, kept
