"""Runs an expectation suite with Great Expectations 1.x and summarises the result.

One ephemeral GX context per process, one pandas data source in it, one dataframe asset per
table, one batch definition per asset: each suite then only adds and removes its expectation
suite (`make bench-expectations` measures what a fresh context per suite would add). With a
`docs_dir`, the validation goes through a GX checkpoint whose `UpdateDataDocsAction` renders it
into a local Data Docs site in that folder.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from synthpipe.expectations.offline import make_offline
from synthpipe.expectations.profile import ExpectationSpec

__all__ = ["FailedExpectation", "SuiteResult", "validate"]

_DATASOURCE = "synthpipe"


@dataclass(frozen=True)
class FailedExpectation:
    type: str
    column: str | None
    observed: Any
    unexpected_count: int | None
    unexpected_examples: list[Any] = field(default_factory=list)
    severity: str = "error"
    where: str | None = None  # the suite file and entry that declared it, for user suites

    def describe(self) -> str:
        where = f" on {self.column!r}" if self.column else ""
        detail = f"observed {self.observed!r}" if self.observed is not None else ""
        if self.unexpected_count:
            detail = f"{self.unexpected_count} unexpected values, e.g. {self.unexpected_examples[:3]}"
        flag = " (warning)" if self.severity != "error" else ""
        origin = f" [{self.where}]" if self.where else ""
        return f"{self.type}{where}{flag}{origin}: {detail}".rstrip(": ")


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    evaluated: int
    failures: list[FailedExpectation]
    docs_url: str | None = None  # the validation's page in the local Data Docs site

    @property
    def blocking_failures(self) -> list[FailedExpectation]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def success(self) -> bool:
        return not self.blocking_failures


@lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints each pandas batch by hashing every row, twice per validation (0.33 s each on
    # 1,000,000 Adult rows). The fingerprint only labels the batch in results; synthpipe turns it
    # off (`make bench-expectations` measures both).
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas(_DATASOURCE)
    return context


def _batch_definition(table: str) -> Any:
    datasource = _context().data_sources.get(_DATASOURCE)
    try:
        asset = datasource.get_asset(table)
    except LookupError:
        asset = datasource.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition("whole")
    except (LookupError, KeyError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _plain(value: Any) -> Any:
    """numpy scalars (alone or in tuples and lists) as plain Python, for readable metadata."""
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value.item() if hasattr(value, "item") else value


# The validation results behind each Data Docs site this process wrote, least recently used
# first. GX renders a site from every result in the context's store: its index lists them all,
# and a page whose result is no longer there is deleted. Left in the store, every validation
# re-listed all the earlier ones, of every run and table, in its own site (1.4 s a validation
# became 2.3 s after 35, in a worker that validates for hours). So the store holds one site's
# results at a time; the others wait here, a few hundred sites at most.
_SITE_RESULTS: OrderedDict[str, dict[Any, Any]] = OrderedDict()
_SITES_KEPT = 256


def _load_site_results(context: Any, site: str) -> None:
    store = context.validation_results_store
    for key in store.list_keys():
        store.remove_key(key)
    for key, value in _SITE_RESULTS.pop(site, {}).items():
        store.set(key, value)


def _stash_site_results(context: Any, site: str) -> None:
    store = context.validation_results_store
    _SITE_RESULTS[site] = {key: store.get(key) for key in store.list_keys()}
    while len(_SITE_RESULTS) > _SITES_KEPT:
        _SITE_RESULTS.popitem(last=False)
    for key in list(_SITE_RESULTS[site]):
        store.remove_key(key)
    context.delete_data_docs_site(site)  # complete on disk; added again if it is validated into again


def _docs_site(docs_dir: Path) -> str:
    """The name of the context's Data Docs site that writes to `docs_dir` (added once)."""
    context = _context()
    name = "synthpipe_" + uuid.uuid5(uuid.NAMESPACE_URL, str(docs_dir.resolve())).hex[:12]
    if name not in (context.get_config().data_docs_sites or {}):
        site = {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
        }
        context.add_data_docs_site(site_name=name, site_config=site)
    return name


def _to_gx(spec: ExpectationSpec, index: int) -> Any:
    import great_expectations.expectations as gxe

    class_name = "".join(part.capitalize() for part in spec.type.split("_"))
    # The index in `meta` maps each result back to its spec: GX does not keep suite order.
    meta = {**spec.meta, "severity": spec.severity, "synthpipe_index": index}
    return getattr(gxe, class_name)(**spec.kwargs, meta=meta)


def _run(context: Any, suite: Any, table: str, data: pd.DataFrame, docs_dir: Path | None) -> tuple[Any, str | None]:
    batch_definition = _batch_definition(table)
    if docs_dir is None:
        return batch_definition.get_batch(batch_parameters={"dataframe": data}).validate(suite), None
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    site = _docs_site(docs_dir)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=suite.name, validation_definitions=[definition], actions=[UpdateDataDocsAction(name="docs", site_names=[site])])
    )
    # The site is `<root>/<table>/<dagster run id>`: its validations are named after that run.
    run_id = RunIdentifier(run_name=f"dagster-run-{docs_dir.name[:8]}", run_time=datetime.now(timezone.utc))
    _load_site_results(context, site)
    try:
        result = checkpoint.run(batch_parameters={"dataframe": data}, run_id=run_id)
        [(identifier, outcome)] = result.run_results.items()
        [page] = context.get_docs_sites_urls(resource_identifier=identifier, site_name=site)
    finally:
        context.checkpoints.delete(checkpoint.name)
        context.validation_definitions.delete(definition.name)
        _stash_site_results(context, site)
    make_offline(docs_dir, table)
    return outcome, page["site_url"]


def validate(
    data: pd.DataFrame,
    table: str,
    suite_name: str,
    specs: Sequence[ExpectationSpec],
    docs_dir: Path | None = None,
    origins: Sequence[str | None] | None = None,
) -> SuiteResult:
    """Validates `data` against `specs`; every failure comes back with its observed value.

    Args:
        docs_dir: Render the validation into the local Data Docs site in this folder.
        origins: Per spec, where it was declared (a user suite's file and entry).
    """
    import great_expectations as gx

    context = _context()
    # Given to the constructor, not added one by one: `add_expectation` compares each new
    # expectation with every earlier one (quadratic, 0.1 s of a 46-expectation validation), and
    # would drop a repeated one whose result the caller looks up by index
    suite = gx.ExpectationSuite(name=f"{suite_name}.{uuid.uuid4().hex[:8]}", expectations=[_to_gx(spec, index) for index, spec in enumerate(specs)])
    suite = context.suites.add(suite)
    try:
        outcome, docs_url = _run(context, suite, table, data, docs_dir)
    finally:
        context.suites.delete(suite.name)
    failures = []
    for result in outcome.results:
        if result.success:
            continue
        index = int(result.expectation_config.meta["synthpipe_index"])
        spec = specs[index]
        details = result.result or {}
        failures.append(
            FailedExpectation(
                type=spec.type,
                column=", ".join(spec.columns) or None,
                observed=_plain(details.get("observed_value")),
                unexpected_count=details.get("unexpected_count"),
                unexpected_examples=[_plain(v) for v in list(details.get("partial_unexpected_list") or [])[:5]],
                severity=spec.severity,
                where=origins[index] if origins else None,
            )
        )
    return SuiteResult(suite=suite_name, evaluated=len(specs), failures=failures, docs_url=docs_url)
