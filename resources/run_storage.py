"""Intermediate values stored per Dagster run, so concurrent runs never read each other's.

Dagster's filesystem IO manager keeps one file per asset key, whatever the run: two refreshes
of one table started together overwrite and read each other's split, fitted model and
candidate. Here every value lives under `<base>/<run id>/<asset key path>`. A run loads its
inputs from itself; a run that materializes only part of a table's assets (say only
`synthetic/<t>`) loads the others from the run that materialized them last, as the Dagster
instance records it.
"""

from __future__ import annotations

import pickle
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import ConfigurableIOManagerFactory, InputContext, OutputContext
from dagster._core.execution.context.output import RUN_ID_PLACEHOLDER as _NO_RUN
from pydantic import Field

from synthpipe.errors import SynthpipeError

__all__ = ["IN_PROGRESS", "RunScopedIOManager", "RunScopedPickleIOManager", "remove_stale_runs", "source_run_id"]

# A Dagster run in one of these states may still write to or read from its folder.
IN_PROGRESS = frozenset(
    {dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
)


def _key_label(key: dg.AssetKey) -> str:
    return key.to_user_string()


def source_run_id(context: InputContext) -> str:
    """The run whose stored value an input loads: the upstream step's run when the upstream
    asset is part of this run (or of the run it re-executes), else the run that last
    materialized the upstream asset.

    Raises:
        SynthpipeError: The upstream asset was never materialized.
    """
    upstream = context.upstream_output
    if upstream is not None:
        try:
            run_id = upstream.run_id
        except dg.DagsterInvariantViolationError:
            run_id = None
        # For an asset outside this run Dagster builds a stand-in upstream context, whose run
        # id is a placeholder.
        if run_id and run_id != _NO_RUN:
            return run_id
    # synthpipe's assets are not partitioned; a partitioned input would load from the asset's
    # last materialization, whichever partition that was.
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None:
        label = _key_label(context.asset_key)
        raise SynthpipeError(
            f"Asset {label!r} was never materialized, so there is no value of it to load. "
            f"Materialize {label!r} first: run the refresh job, or select {label!r} together with the assets that read it."
        )
    return event.run_id


class RunScopedPickleIOManager(dg.UPathIOManager):
    """Pickles each output under `<base>/<run id>/<asset key path>`; see the module docstring.

    Op outputs (the maintenance job's) are kept per run already: Dagster's identifier of an op
    output starts with the run id.
    """

    extension = ""

    def __init__(self, base_dir: str) -> None:
        from upath import UPath

        super().__init__(base_path=UPath(base_dir))

    def get_asset_relative_path(self, context: InputContext | OutputContext) -> Any:
        from upath import UPath

        run_id = context.run_id if isinstance(context, OutputContext) else source_run_id(context)
        return UPath(run_id, *context.asset_key.path)

    def dump_to_path(self, context: OutputContext, obj: Any, path: Any) -> None:
        with path.open("wb") as file:
            pickle.dump(obj, file, pickle.HIGHEST_PROTOCOL)

    def load_from_path(self, context: InputContext, path: Any) -> Any:
        if context.has_asset_key and not path.exists():
            label = _key_label(context.asset_key)
            raise SynthpipeError(
                f"The stored value of {label!r} at {str(path)!r} is gone: the maintenance job removes the values of "
                f"runs older than its threshold, unless they are the last materialization of an asset. Materialize "
                f"{label!r} again (run the refresh job) before the assets that read it."
            )
        with path.open("rb") as file:
            return pickle.load(file)


class RunScopedIOManager(ConfigurableIOManagerFactory):
    """The IO manager of synthpipe's assets: pickled values kept apart per Dagster run.

    Examples:
        >>> defs = dg.Definitions(assets=[...], resources={"io_manager": RunScopedIOManager(base_dir="/srv/synthpipe/staging/runs")})  # doctest: +SKIP
    """

    base_dir: str = Field(description="Folder holding one sub-folder of intermediate values per Dagster run.")

    def create_io_manager(self, context: dg.InitResourceContext) -> RunScopedPickleIOManager:
        return RunScopedPickleIOManager(base_dir=self.base_dir)


def _newest_change(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.rglob("*")), default=folder.stat().st_mtime)


def _stored_keys(folder: Path) -> Iterator[dg.AssetKey]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield dg.AssetKey(list(path.relative_to(folder).parts))


def _still_needed(folder: Path, instance: dg.DagsterInstance) -> bool:
    """True while the run is in progress, or while it holds the last materialization of an
    asset (a later run that materializes only part of a table loads it from here)."""
    run = instance.get_run_by_id(folder.name)
    if run is not None and run.status in IN_PROGRESS:
        return True
    for key in _stored_keys(folder):
        latest = instance.get_latest_materialization_event(key)
        if latest is not None and latest.run_id == folder.name:
            return True
    return False


def remove_stale_runs(base: str | Path, instance: dg.DagsterInstance, older_than_hours: float) -> list[str]:
    """Removes the folders of runs whose values nobody will load again: untouched for
    `older_than_hours`, not in progress, and holding no asset's last materialization.

    Returns:
        The removed run ids.
    """
    root = Path(base)
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than_hours * 3600
    removed = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if _newest_change(folder) >= cutoff or _still_needed(folder, instance):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed
