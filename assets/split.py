"""The pure work of each stage, free of Dagster and of I/O, so it can be tested alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthpipe.errors import UnsupportedColumnError
from synthpipe.resources.fingerprints import (
    batches,
    combine_fingerprint,
    content_fingerprint,
    content_probe,
    fingerprint,
    row_hashes,
    source_hashes,
    stable_types,
)
from synthpipe.resources.types import case_clashes, to_model_frame

__all__ = ["SourceSplit", "column_schema", "publishable_schema", "combine_fingerprint", "content_fingerprint", "content_probe", "row_hashes", "fingerprint", "length_drift", "sequence_problems", "split_holdout", "split_sequences", "split_source", "to_pandas"]


@dataclass(frozen=True)
class SourceSplit:
    """The real rows of one table, split once into training and holdout rows; only what later
    stages use travels on: `fit` (the rows the synthesizer learns from), `train` and `holdout`
    (seeded samples of each side that the candidate is compared with) and the profile of every
    training row. Sequential tables keep every row on each side (whole sequences). `schema` is
    the source's Arrow schema, which every sampled chunk is cast back to before it is staged.
    """

    fit: pd.DataFrame
    train: pd.DataFrame
    holdout: pd.DataFrame
    profile: Any
    fingerprint: str
    source_rows: int
    training_rows: int
    holdout_rows: int
    probe: str = ""  # the source's cheap change signature, for `refresh: on_change` tables
    schema: pa.Schema | None = None


def split_source(
    arrow: pa.Table, fraction: float, seed: int, fit_rows: int | None, evaluation_rows: int
) -> SourceSplit:
    """Splits a single table without ever holding it whole in pandas: row hashes and the
    training profile are computed batch by batch; only the fit sample and the evaluation
    samples are converted. The split is the one `split_holdout` makes (row-hash order, then a
    permutation seeded with `seed`).
    """
    from synthpipe.expectations.profile import merge_profiles, profile_table

    schema = publishable_schema(arrow.schema)
    arrow = stable_types(arrow)
    dtypes, all_hashes = source_hashes(arrow)
    n = len(all_hashes)
    ordered = np.argsort(all_hashes, kind="stable")
    permutation = np.random.default_rng(seed).permutation(n)
    held = min(max(int(round(n * fraction)), 1), n - 1) if n > 1 else 0
    holdout_rows = np.sort(ordered[np.sort(permutation[:held])])
    train_rows = np.sort(ordered[np.sort(permutation[held:])])
    in_train = np.zeros(n, dtype=bool)
    in_train[train_rows] = True
    profiles, start = [], 0
    for batch in batches(arrow):
        profiles.append((profile_table(batch[in_train[start : start + len(batch)]]), int(in_train[start : start + len(batch)].sum())))
        start += len(batch)
    pick = np.random.default_rng(seed)

    def take(rows: np.ndarray, limit: int | None) -> pd.DataFrame:
        if limit is not None and len(rows) > limit:
            rows = np.sort(pick.choice(rows, size=limit, replace=False))
        return to_pandas(arrow.take(pa.array(rows)))

    return SourceSplit(
        fit=take(train_rows, fit_rows),
        train=take(train_rows, evaluation_rows),
        holdout=take(holdout_rows, evaluation_rows),
        profile=merge_profiles(profiles),
        fingerprint=combine_fingerprint(dtypes, all_hashes),
        source_rows=n,
        training_rows=len(train_rows),
        holdout_rows=len(holdout_rows),
        schema=schema,
    )


def split_sequences(arrow: pa.Table, fraction: float, seed: int, entity_key: str) -> SourceSplit:
    """A sequential table, in memory: whole entities go to one side; every row is kept."""
    from synthpipe.expectations.profile import profile_table

    schema = publishable_schema(arrow.schema)
    data = to_pandas(arrow)
    train, holdout = split_holdout(data, fraction, seed, entity_key)
    return SourceSplit(
        fit=train, train=train, holdout=holdout, profile=profile_table(train), fingerprint=content_fingerprint(arrow),
        source_rows=len(data), training_rows=len(train), holdout_rows=len(holdout), schema=schema,
    )


def publishable_schema(schema: pa.Schema) -> pa.Schema:
    """The source's schema, once it is known that Delta can hold its column names.

    Raises:
        UnsupportedColumnError: Two columns differ only in case (`Amount`, `amount`): Delta
            column names are case-insensitive, so they would become one column.
    """
    clashes = case_clashes(schema.names)
    if clashes:
        listed = "; ".join(" and ".join(repr(name) for name in group) for group in clashes)
        raise UnsupportedColumnError(
            f"Columns {listed} differ only in case; Delta Lake column names are case-insensitive, so the twin "
            "cannot keep them apart. Rename one in the source (a view or `query` with `AS`), or leave it out "
            "with `exclude_columns`."
        )
    return schema


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow to the pandas frame the synthesizers model, once (`synthpipe.resources.types.to_model_frame`):
    dictionary columns become plain values, decimals floats, dates and timestamps naive
    nanosecond datetimes (tz-aware ones in UTC)."""
    return to_model_frame(table)


def split_holdout(
    data: pd.DataFrame, fraction: float, seed: int, entity_key: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded train/holdout split that does not depend on the order the source returned rows in:
    rows are put in row-hash order first, then permuted with `seed`. With `entity_key`, whole
    entities (sequences) go to one side, so no sequence leaks into both.
    """
    if entity_key is not None:
        return _split_entities(data, fraction, seed, entity_key)
    ordered = data.iloc[np.argsort(row_hashes(data), kind="stable")].reset_index(drop=True)
    permutation = np.random.default_rng(seed).permutation(len(ordered))
    holdout_rows = int(round(len(ordered) * fraction))
    if len(ordered) > 1:
        holdout_rows = min(max(holdout_rows, 1), len(ordered) - 1)
    else:
        holdout_rows = 0
    holdout = ordered.iloc[np.sort(permutation[:holdout_rows])].reset_index(drop=True)
    train = ordered.iloc[np.sort(permutation[holdout_rows:])].reset_index(drop=True)
    return train, holdout


def _split_entities(data: pd.DataFrame, fraction: float, seed: int, entity_key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    entities = pd.Series(data[entity_key].dropna().unique())
    entities = entities.iloc[np.argsort(pd.util.hash_pandas_object(entities, index=False).to_numpy(), kind="stable")]
    permuted = entities.to_numpy()[np.random.default_rng(seed).permutation(len(entities))]
    held = int(round(len(permuted) * fraction))
    held = min(max(held, 1), len(permuted) - 1) if len(permuted) > 1 else 0
    in_holdout = data[entity_key].isin(set(permuted[:held]))
    return data[~in_holdout].reset_index(drop=True), data[in_holdout].reset_index(drop=True)


def sequence_problems(data: pd.DataFrame, entity_key: str, order_by: str, reference_lengths: pd.Series) -> list[str]:
    """Structural problems of synthetic sequences: rows out of order within an entity, a missing
    entity key, or a sequence over twice as long as the longest real one.
    """
    problems = []
    if data[entity_key].isna().any():
        problems.append(f"{int(data[entity_key].isna().sum())} rows have no {entity_key!r}")
    ordered = data.groupby(entity_key, sort=False)[order_by].apply(lambda s: s.is_monotonic_increasing)
    if not ordered.all():
        problems.append(f"{int((~ordered).sum())} of {len(ordered)} sequences are not ordered by {order_by!r}")
    lengths = data.groupby(entity_key, sort=False).size()
    if len(lengths) and lengths.max() > 2 * reference_lengths.max():
        problems.append(f"longest sequence has {int(lengths.max())} rows, over twice the real longest ({int(reference_lengths.max())})")
    return problems


def length_drift(data: pd.DataFrame, entity_key: str, reference_lengths: pd.Series) -> float:
    """Relative difference between the mean synthetic and the mean real sequence length."""
    lengths = data.groupby(entity_key, sort=False).size()
    real = float(reference_lengths.mean())
    return abs(float(lengths.mean()) - real) / real if len(lengths) else 1.0


def column_schema(table: pa.Table) -> list[tuple[str, str]]:
    """(name, Arrow type) pairs for Dagster's `dagster/column_schema`."""
    return [(field.name, str(field.type.value_type if pa.types.is_dictionary(field.type) else field.type)) for field in table.schema]
