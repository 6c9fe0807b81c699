"""TabularARGN for sequences: whole entities, each a run of rows in order, as two models.

The engine models a sequential table against a context table (one row per entity). synthpipe
fits the entities' constant columns (`context_columns`) as a flat model, and the rows of each
entity as a sequence conditioned on them. Sampling draws the contexts of `num_sequences` new
entities first, numbers them, then their sequences; the sequence lengths are learned by the
engine. The order column, when it is a timestamp, is encoded relative to the previous step of
the same entity, so spacing and step sizes are learned, not absolute times.

`synthesizer: argn` on a `sequence` table runs it (registered as `argn_sequence`).
"""

from __future__ import annotations

import inspect
import random
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import SynthesizerError
from synthpipe.resources.argn import ArgnModel
from synthpipe.resources.argn_engine import cast_like, require_engine, with_parameter
from synthpipe.resources.argn_workspace import engine_seed, write_model_files

__all__ = ["ArgnSequenceSynthesizer"]


def _time_grid(values: pd.Series) -> pd.Timedelta | None:
    """The grid a timestamp order column lies on (every value a whole multiple of it since the
    epoch: 1 hour, 6 hours, 1 day), from a minute up; None for other columns or no grid."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        return None
    present = values.dropna()
    if present.dt.tz is not None:
        present = present.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = present.astype("datetime64[ns]").astype(np.int64) // 1_000_000_000
    if present.empty or ((present.astype("datetime64[ns]").astype(np.int64) % 1_000_000_000) != 0).any():
        return None
    grid = int(np.gcd.reduce(np.abs(seconds.to_numpy(dtype=np.int64)))) if len(seconds) else 0
    return pd.Timedelta(seconds=grid) if grid >= 60 else None


class ArgnSequenceSynthesizer(ArgnModel):
    """TabularARGN for a sequential table (SDV metadata with a sequence key and index).

    Args:
        metadata: SDV metadata of one table with `sequence_key` (the entity) and
            `sequence_index` (the order column), as PAR takes it.
        context_columns: Columns constant within an entity, modelled once per entity.
        model, max_training_time, ...: As `ArgnSynthesizer`, for both models (the time budget
            applies to each). Business rules are not enforced on sequences.
    """

    def __init__(self, metadata: Any, context_columns: Sequence[str] = (), **params: Any) -> None:
        super().__init__(metadata, **params)
        table = metadata.tables[self.table]
        if not table.sequence_key or not table.sequence_index:
            raise SynthesizerError(f"Table {self.table!r}: TabularARGN sequences need a sequence key and a sequence index in the metadata.")
        self.context_columns = list(context_columns)
        self._context_files: dict[str, bytes] = {}
        self._context_workspace: tempfile.TemporaryDirectory | None = None

    # `synthesizer_params` are checked against the constructor's signature: ArgnModel's parameters
    __init__.__signature__ = with_parameter(inspect.signature(ArgnModel.__init__), "context_columns", (), "Sequence[str]")  # type: ignore[attr-defined]

    @property
    def entity_key(self) -> str:
        return self._metadata.tables[self.table].sequence_key

    @property
    def order_by(self) -> str:
        return self._metadata.tables[self.table].sequence_index

    def get_parameters(self) -> dict[str, Any]:
        return {**super().get_parameters(), "context_columns": list(self.context_columns)}

    def fit(self, data: Mapping[str, pd.DataFrame]) -> None:
        """Trains the context model (when there are context columns), then the sequence model."""
        engine = require_engine(f"Table {self.table!r}: synthesizer 'argn' for sequences")
        frame = data[self.table]
        entity, order = self.entity_key, self.order_by
        self._dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
        rows = frame.sort_values([entity, order], kind="stable").reset_index(drop=True)
        contexts = rows.drop_duplicates(entity)[[entity, *self.context_columns]].reset_index(drop=True)
        skipped = {entity, *self.context_columns, *self._id_columns(), *self._pii_columns()}
        steps = [c for c in rows.columns if c not in skipped]
        if not steps:
            raise SynthesizerError(f"Table {self.table!r}: no column varies within a sequence, so TabularARGN has nothing to learn.")
        encodings = self._encoding_types(steps)
        if pd.api.types.is_datetime64_any_dtype(rows[order]):
            encodings[order] = "TABULAR_DATETIME_RELATIVE"  # steps between rows, not absolute times
        self._grid = _time_grid(rows[order])
        params = self._parameters
        with engine_seed(params["random_state"]):
            started = time.perf_counter()
            if self.context_columns:
                self._context_files = self._train(engine, contexts[self.context_columns], self._encoding_types(self.context_columns), started)
            self._model_files = self._train(
                engine,
                rows[[entity, *steps]],
                encodings,
                started,
                ctx_data=contexts,  # each sequence is conditioned on its entity's context columns
                ctx_encoding_types=self._encoding_types(self.context_columns),
                tgt_context_key=entity,
                ctx_primary_key=entity,
            )
        self._drop_workspace()

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        raise SynthesizerError(f"Table {self.table!r}: a sequential model samples whole sequences; use `sample_sequences`.")

    def sample_sequences(self, num_sequences: int) -> dict[str, pd.DataFrame]:
        """`num_sequences` new entities, numbered from 0, each with its context and its rows in
        order, as ``{table: frame}`` in the source's columns and dtypes."""
        engine = require_engine(f"Table {self.table!r}: sampling its 'argn' model")
        from mostlyai.engine._common import load_generated_data

        seed = self._sample_seed if self._sample_seed is not None else random.SystemRandom().randrange(2**31)
        entity, count = self.entity_key, int(num_sequences)
        options = self._generation_options()
        contexts = pd.DataFrame({entity: np.arange(count, dtype=np.int64)})
        if self.context_columns:
            folder = self._unpacked("_context_workspace", self._context_files)
            with engine_seed(seed):
                engine.generate(sample_size=count, workspace_dir=folder, **options)
                drawn = load_generated_data(folder).reset_index(drop=True)
            contexts = pd.concat([contexts, drawn[self.context_columns]], axis=1)
        folder = self._workspace_dir()
        with engine_seed(seed + 1):
            # the contexts always go in: without them the engine would reuse the training entities
            engine.generate(ctx_data=contexts, sample_size=count, workspace_dir=folder, **options)
            rows = load_generated_data(folder).reset_index(drop=True)
        rows[entity] = rows[entity].astype(np.int64)
        rows = rows.drop(columns=[c for c in self.context_columns if c in rows]).merge(contexts, on=entity, how="left", validate="many_to_one")
        rows = rows.sort_values(entity, kind="stable").reset_index(drop=True)  # generated step by step: keep each entity's order
        return {self.table: self._restore_sequence_columns(rows, seed)}

    def _restore_sequence_columns(self, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
        entity = self.entity_key
        numbered = rows[entity]
        restored = self._restore_columns(rows, seed)  # numbers ID columns row by row, fills `pii`, casts
        if self._dtypes[entity] in ("object", "string"):
            numbered = numbered.astype(str)  # keys like the source's ("0", "1", ...), never a real one
        restored[entity] = cast_like(numbered, self._dtypes[entity])  # the entity keeps its own numbering
        grid = getattr(self, "_grid", None)
        if grid is not None:  # steps land on the real grid (hourly stays hourly); rounding keeps the order
            order = restored[self.order_by]
            snapped = order.dt.round(grid) if order.dt.tz is None else order.dt.tz_convert("UTC").dt.round(grid).dt.tz_convert(order.dt.tz)
            restored[self.order_by] = snapped
        return restored

    def _unpacked(self, attribute: str, files: dict[str, bytes]) -> str:
        if not files:
            raise SynthesizerError(f"Table {self.table!r}: the TabularARGN model is not fitted; call `fit` first.")
        workspace = getattr(self, attribute)
        if workspace is None:
            workspace = tempfile.TemporaryDirectory(prefix="synthpipe-argn-")
            weakref.finalize(self, workspace.cleanup)
            write_model_files(Path(workspace.name), files)
            setattr(self, attribute, workspace)
        return workspace.name

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_context_workspace"] = None
        return state

    def _drop_workspace(self) -> None:
        super()._drop_workspace()
        if getattr(self, "_context_workspace", None) is not None:
            self._context_workspace.cleanup()
            self._context_workspace = None
