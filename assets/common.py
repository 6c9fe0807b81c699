"""Helpers shared by the single-table and the group asset factories."""

from importlib import metadata as importlib_metadata
from typing import Any

import dagster as dg
import pyarrow as pa

from pipelines.errors import SynthpipeError
from resources.tracking import MlflowTracker

__all__ = ["asset_args", "drop_excluded", "end_run_quietly", "model_requirements"]

_MODEL_REQUIREMENTS = ("sdv", "pandas", "numpy", "torch")


def asset_args(spec: dg.AssetSpec) -> dict[str, Any]:
    """The translator's spec as `@asset` arguments; the data flow (ins) is the factory's own."""
    return {
        "key": spec.key,
        "group_name": spec.group_name,
        "description": spec.description,
        "kinds": spec.kinds,
        "tags": {k: v for k, v in spec.tags.items() if not k.startswith("dagster/kind/")},
        "owners": spec.owners,
        "metadata": spec.metadata,
    }


def drop_excluded(table: Any, arrow: pa.Table) -> pa.Table:
    """The source rows without the table's `exclude_columns`; an unknown name is an error."""
    missing = [c for c in table.exclude_columns if c not in arrow.column_names]
    if missing:
        raise SynthpipeError(
            f"Table {table.name!r}: `exclude_columns` names columns the source does not have: {missing}. "
            f"Source columns: {', '.join(arrow.column_names)}."
        )
    return arrow.drop_columns(table.exclude_columns) if table.exclude_columns else arrow


def model_requirements() -> list[str]:
    pins = []
    for name in _MODEL_REQUIREMENTS:
        try:
            pins.append(f"{name}=={importlib_metadata.version(name).split('+')[0]}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return pins


def end_run_quietly(tracker: MlflowTracker, run_id: str) -> None:
    try:
        tracker.end_run(run_id, "FAILED")
    except SynthpipeError:
        pass  # the original error is the one worth reporting
