"""Kinds of table: one interface that every stage asset calls.

A *unit of synthesis* is what one model is fitted to and one Delta version (or set of versions)
is published from: a single table, a sequence table (rows grouped into entities ordered in
time), a relational group, or tables without a source (a generated set, a simulation), whose
"model" is their declaration. The stage assets (`assets.source`, `assets.fit`, `assets.sample`,
`assets.publish`) are the same for every kind; they call the kind for what differs. Adding a
kind is one module implementing `Kind` and a `register_kind` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import dagster as dg

from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.records import Candidate, FittedModel
from synthpipe.config import GeneratedConfig, GroupConfig, SimulationConfig, SynthpipeConfig, TableConfig
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["Evaluation", "Kind", "Published", "SourceRead", "kind_for", "register_kind", "units"]


@dataclass(frozen=True)
class SourceRead:
    """What the source stage materializes: the value later stages read, its metadata, and the
    results of the source guards."""

    value: Any
    metadata: dict[str, Any]
    checks: list[dg.AssetCheckResult] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    """The candidate's check results and materialization metadata."""

    results: list[dg.AssetCheckResult]
    metadata: dict[str, Any]
    quality_score: float

    @property
    def blocking(self) -> dict[str, bool]:
        """Each ERROR-severity check and whether it passed: only these block; warnings are
        reported and published anyway."""
        return {r.check_name: r.passed for r in self.results if r.severity == dg.AssetCheckSeverity.ERROR}


@dataclass(frozen=True)
class Published:
    """One Delta table written by the publish stage."""

    version: int
    uri: str
    rows: int
    metadata: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Kind(Protocol):
    """What the stages ask of one unit of synthesis. `config` is its validated configuration."""

    config: Any

    @property
    def name(self) -> str: ...

    @property
    def members(self) -> list[str | None]:
        """The published tables: `[None]` for one table named like the unit; member names for a set."""
        ...

    @property
    def has_downstream(self) -> bool:
        """Whether the example downstream training asset follows the published table."""
        ...

    def guard_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        """Checks on the source asset (user suites that guard the source)."""
        ...

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        """Checks on the synthetic candidate, declared when the definitions load."""
        ...

    def read(self, context: dg.AssetExecutionContext, source: SourceResource, docs: DataDocsFolder) -> SourceRead:
        """Reads, refuses what cannot be synthesized safely, runs the guards, splits a holdout."""
        ...

    def fit(self, context: dg.AssetExecutionContext, read: Any, tracker: MlflowTracker, run: ModelRun) -> FittedModel:
        """Fits (or reuses) the model and registers it as the `candidate` version."""
        ...

    def fit_metadata(self, fitted: FittedModel, read: Any) -> dict[str, Any]:
        """Materialization metadata of the synthesizer asset beyond what every kind records."""
        ...

    def sample(
        self, context: dg.AssetExecutionContext, read: Any, fitted: FittedModel, tracker: MlflowTracker, store: DeltaSnapshotStore
    ) -> Any:
        """Samples the candidate with a recorded seed (its `seed` attribute)."""
        ...

    def evaluate(
        self, context: dg.AssetExecutionContext, read: Any, sampled: Any, fitted: FittedModel, tracker: MlflowTracker, docs: DataDocsFolder
    ) -> Evaluation:
        """Validates and measures the candidate; logs the measures to the model's run."""
        ...

    def publish(self, context: dg.AssetExecutionContext, candidate: Candidate, store: DeltaSnapshotStore, commit: dict[str, Any]) -> dict[str | None, Published]:
        """Commits the candidate's tables as new Delta versions, with `commit` in each commit's metadata."""
        ...


_KINDS: list[tuple[Callable[[Any], bool], Callable[[Any], Kind]]] = []


def register_kind(matches: Callable[[Any], bool], build: Callable[[Any], Kind]) -> None:
    """Registers a kind: `build(config)` for every configured unit that `matches`; later
    registrations are asked first, so a specialised kind can claim part of a general one."""
    _KINDS.insert(0, (matches, build))


def kind_for(config: TableConfig | GroupConfig | GeneratedConfig | SimulationConfig) -> Kind:
    """The kind that synthesizes `config`."""
    _load_builtin_kinds()
    for matches, build in _KINDS:
        if matches(config):
            return build(config)
    raise TypeError(f"No kind of table is registered for {type(config).__name__} {getattr(config, 'name', '?')!r}")


def units(config: SynthpipeConfig) -> list[Kind]:
    """Every configured unit of synthesis, in configuration order: tables, groups, generated sets,
    simulations (so a generated set's twins come before it)."""
    return [kind_for(unit) for unit in [*config.tables, *config.groups, *config.generated, *config.simulations]]


_BUILTIN = (
    "synthpipe.assets.kinds.single",
    "synthpipe.assets.kinds.sequence",
    "synthpipe.assets.kinds.partial",
    "synthpipe.assets.kinds.group",
    "synthpipe.assets.kinds.generated",
    "synthpipe.assets.kinds.simulation",
)


def _load_builtin_kinds() -> None:
    """Imports the built-in kinds on first use; each module registers itself."""
    import importlib

    for module in _BUILTIN:
        importlib.import_module(module)
