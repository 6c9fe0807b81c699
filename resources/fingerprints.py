"""Content fingerprints of tables: what tells one night's source (or sample) from another's.

Row order never matters: a fingerprint is a sha256 over the column names, dtypes and the sorted
64-bit row hashes, computed batch by batch on large Arrow reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from synthpipe.resources.types import to_model_frame

__all__ = ["BATCH_ROWS", "batches", "combine_fingerprint", "content_fingerprint", "content_probe", "fingerprint", "row_hashes", "source_hashes", "stable_types"]

# Rows converted to pandas at a time while hashing and profiling a large source.
BATCH_ROWS = 250_000


def content_fingerprint(arrow: pa.Table) -> str:
    """`fingerprint` of a source read, computed batch by batch (the source asset's value)."""
    return combine_fingerprint(*source_hashes(stable_types(arrow)))


def source_hashes(arrow: pa.Table) -> tuple[pd.Series, np.ndarray]:
    hashes, dtypes = [], None
    for batch in batches(arrow):
        hashes.append(row_hashes(batch))
        dtypes = batch.dtypes if dtypes is None else dtypes
    if dtypes is None:
        return to_model_frame(arrow).dtypes, np.array([], dtype=np.uint64)
    return dtypes, np.concatenate(hashes)


def stable_types(arrow: pa.Table) -> pa.Table:
    """Types every batch converts to alike: an integer column with nulls anywhere becomes float
    (as pandas makes it for the whole table), so a batch without nulls hashes the same way.
    """
    for i, field in enumerate(arrow.schema):
        if pa.types.is_integer(field.type) and arrow.column(i).null_count:
            arrow = arrow.set_column(i, field.name, arrow.column(i).cast(pa.float64()))
    return arrow


def batches(arrow: pa.Table) -> Iterator[pd.DataFrame]:
    for start in range(0, arrow.num_rows, BATCH_ROWS):
        yield to_model_frame(arrow.slice(start, BATCH_ROWS))


def fingerprint(data: pd.DataFrame) -> str:
    """A content fingerprint of the table that ignores row order: sha256 over the column names,
    dtypes and the sorted row hashes. Unchanged data gives the same value night after night.
    """
    return combine_fingerprint(data.dtypes, row_hashes(data))


def row_hashes(data: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row; `combine_fingerprint` of a table's chunks equals its fingerprint."""
    return pd.util.hash_pandas_object(data, index=False).to_numpy()


def combine_fingerprint(dtypes: pd.Series, hashes: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(repr([(name, str(dtype)) for name, dtype in dtypes.items()]).encode())
    digest.update(np.sort(hashes).tobytes())
    return digest.hexdigest()


def content_probe(content_fingerprint: str) -> str:
    """The change signature of a source without a cheap probe: its content fingerprint."""
    return f"content:{content_fingerprint}"
