"""Regenerates a published version from its registered model and recorded seed, and checks
that the rows are the same (same row hash), however long ago it was published.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.stages import fingerprint
from pipelines.errors import SnapshotNotFoundError
from resources.snapshots import DeltaSnapshotStore
from resources.synthesizers import is_relational, is_sequential, sample_rows
from resources.tracking import MlflowTracker

__all__ = ["Reproduction", "reproduce"]


@dataclass(frozen=True)
class Reproduction:
    table: str
    version: int
    model: str
    seed: int
    stored_hash: str
    regenerated_hash: str

    @property
    def identical(self) -> bool:
        return self.stored_hash == self.regenerated_hash


def reproduce(table: str, version: int, store: DeltaSnapshotStore, tracker: MlflowTracker) -> Reproduction:
    """Loads the version's model from the MLflow registry, samples with its seed, compares hashes."""
    store.resolve_version(table, version)
    [entry] = [e for e in store.history(table) if e["version"] == version]
    missing = [k for k in ("model_name", "model_version", "seed", "rows", "row_hash") if k not in entry]
    if missing:
        raise SnapshotNotFoundError(
            f"Table {table!r} version {version} does not record {missing}; it was published before synthpipe recorded them."
        )
    synthesizer = tracker.load_synthesizer(entry["model_name"], entry["model_version"])
    if is_relational(synthesizer) or is_sequential(synthesizer):
        raise SnapshotNotFoundError(f"Table {table!r}: reproduce handles single tables; groups and sequences come later.")
    rows = sample_rows(synthesizer, int(entry["rows"]), int(entry["seed"]))
    return Reproduction(
        table, version, f"{entry['model_name']} v{entry['model_version']}", int(entry["seed"]), entry["row_hash"], fingerprint(rows)
    )
