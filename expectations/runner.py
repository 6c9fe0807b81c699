"""Runs an expectation suite with Great Expectations 1.x and summarises the result.

One ephemeral GX context per process (creating one costs about a second), one pandas data
source in it, one dataframe asset per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from expectations.profile import ExpectationSpec

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

    def describe(self) -> str:
        where = f" on {self.column!r}" if self.column else ""
        detail = f"observed {self.observed!r}" if self.observed is not None else ""
        if self.unexpected_count:
            detail = f"{self.unexpected_count} unexpected values, e.g. {self.unexpected_examples[:3]}"
        flag = " (warning)" if self.severity != "error" else ""
        return f"{self.type}{where}{flag}: {detail}".rstrip(": ")


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    evaluated: int
    failures: list[FailedExpectation]

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


def _to_gx(spec: ExpectationSpec, index: int) -> Any:
    import great_expectations.expectations as gxe

    class_name = "".join(part.capitalize() for part in spec.type.split("_"))
    # The index in `meta` maps each result back to its spec: GX does not keep suite order.
    return getattr(gxe, class_name)(**spec.kwargs, meta={"severity": spec.severity, "synthpipe_index": index})


def validate(data: pd.DataFrame, table: str, suite_name: str, specs: Sequence[ExpectationSpec]) -> SuiteResult:
    """Validates `data` against `specs`; every failure comes back with its observed value."""
    import great_expectations as gx

    context = _context()
    suite = gx.ExpectationSuite(name=f"{suite_name}.{uuid.uuid4().hex[:8]}")
    for index, spec in enumerate(specs):
        suite.add_expectation(_to_gx(spec, index))
    suite = context.suites.add(suite)
    try:
        batch = _batch_definition(table).get_batch(batch_parameters={"dataframe": data})
        outcome = batch.validate(suite)
    finally:
        context.suites.delete(suite.name)
    failures = []
    for result in outcome.results:
        if result.success:
            continue
        spec = specs[int(result.expectation_config.meta["synthpipe_index"])]
        details = result.result or {}
        failures.append(
            FailedExpectation(
                type=spec.type,
                column=spec.column,
                observed=details.get("observed_value"),
                unexpected_count=details.get("unexpected_count"),
                unexpected_examples=list(details.get("partial_unexpected_list") or [])[:5],
                severity=spec.severity,
            )
        )
    return SuiteResult(suite=suite_name, evaluated=len(specs), failures=failures)
