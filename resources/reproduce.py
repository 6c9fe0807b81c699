"""Regenerates a published version from its registered model and recorded seed, and checks
that the rows are the same (same row hash), however long ago it was published.
"""

from __future__ import annotations

import json

from dataclasses import dataclass

from synthpipe.resources.fingerprints import fingerprint
from synthpipe.errors import SnapshotNotFoundError
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.backends import backend_of
from synthpipe.resources.relational import sample_group
from synthpipe.resources.synthesizers import is_relational, is_sequential, sample_rows, sample_sequences, set_fairness
from synthpipe.resources.tracking import MlflowTracker

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
    if "generated_columns" in entry:
        raise SnapshotNotFoundError(
            f"Table {table!r} version {version} is partially synthetic or hybrid ({entry['generated_columns']}): it holds real "
            "training rows, which the registry does not keep, so it cannot be regenerated from the model and seed alone."
        )
    synthesizer = tracker.load_synthesizer(entry["model_name"], entry["model_version"])
    seed = int(entry["seed"])
    if backend_of(synthesizer).kind == "generated":
        rows = _regenerate_sourceless(table, entry, synthesizer, seed, store)
    elif is_relational(synthesizer):
        rows = _regenerate_group_member(table, version, entry, synthesizer, seed)
    elif is_sequential(synthesizer):
        # as many sequences as the stored version holds, each entity a sequence
        metadata = synthesizer.get_metadata()
        entity = metadata.tables[next(iter(metadata.tables))].sequence_key  # PAR's and TabularARGN's alike
        stored = store.read_arrow(table, version=version).column(entity).unique()
        rows = sample_sequences(synthesizer, len(stored), seed)
    else:
        conditions = [(c["values"], int(c["rows"])) for c in json.loads(entry.get("conditions", "[]"))]  # as the version was sampled
        fairness = json.loads(entry.get("steering", "{}")).get("fairness", {})
        if fairness.get("method") == "engine":  # sampled with the backend's own fairness mode
            set_fairness(synthesizer, fairness["target"], fairness["sensitive"])
        rows = sample_rows(synthesizer, int(entry["rows"]), seed, int(entry.get("sample_chunk_rows", 50_000)), workers=2, conditions=conditions)
    return Reproduction(table, version, f"{entry['model_name']} v{entry['model_version']}", seed, entry["row_hash"], fingerprint(rows))


def _regenerate_sourceless(table: str, entry: dict[str, str], synthesizer: object, seed: int, store: DeltaSnapshotStore) -> object:
    """A generated set (drawing from the twins' versions it recorded) or a simulation, run
    whole with the seed; the member's table is compared."""
    member = table.rsplit("/", 1)[-1]
    if hasattr(synthesizer, "generate"):
        versions = {name: int(v) for name, v in json.loads(entry.get("twin_versions", "{}")).items()}
        twins = {name: store.read_arrow(name, version=v).to_pandas() for name, v in versions.items()}
        return synthesizer.generate(seed, twins)[member]  # type: ignore[attr-defined]
    return backend_of(synthesizer).sample(synthesizer, 1.0, seed)[member]  # type: ignore[arg-type]


def _regenerate_group_member(table: str, version: int, entry: dict[str, str], synthesizer: object, seed: int) -> object:
    """The group is sampled whole (as it was published); the member's table is compared."""
    if "scale" not in entry:
        raise SnapshotNotFoundError(
            f"Table {table!r} version {version} does not record the group's sampling `scale`; it was published "
            "before synthpipe recorded it, so it cannot be regenerated."
        )
    member = table.rsplit("/", 1)[-1]
    return sample_group(synthesizer, float(entry["scale"]), seed)[member]
