"""Fidelity evaluation with SDMetrics: the quality score and the columns that pull it down.

The score is SDMetrics' single-table quality score, the mean of two properties, computed from
SDMetrics' own metrics exactly as its `QualityReport` computes them:

- Column Shapes: `KSComplement` on every numerical and datetime column, `TVComplement` on every
  categorical, ordinal and boolean one;
- Column Pair Trends: `CorrelationSimilarity` on two continuous columns, `ContingencySimilarity`
  on two discrete ones or on a discrete one and a binned continuous one; a pair counts towards
  the average only when its real correlation (above 0.5) or association (Cramér's V above 0.3) is
  strong enough for SDMetrics to score it.

The report measures every pair, which is quadratic in the columns: 44,850 pairs on a 300-column
table kept one refresh in evaluation for over 12 minutes. With more than `MAX_PAIRS` pairs, a
seeded random subset of `MAX_PAIRS` pairs is measured instead (the same subset for the same
columns and seed, so candidates and nights stay comparable); its mean estimates the mean over
every pair. Column shapes are always measured on every column. `QualityResult.pairs_measured`
and `pairs_total` record which case applied.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_PAIRS", "QualityResult", "column_pairs", "evaluate_quality", "pair_trends", "column_shapes"]

WORST_COLUMNS_SHOWN = 5
# Column pairs measured at most; beyond this, a seeded subset of this many (module docstring).
MAX_PAIRS = 500
# SDMetrics' QualityReport defaults (`sdmetrics.reports.utils`).
REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
NUM_ROWS_SUBSAMPLE = 50_000
# Pair progress is reported this many times in a measurement (every quarter of the pairs).
PROGRESS_REPORTS = 4

_SHAPE_METRICS = {"numerical": "KSComplement", "datetime": "KSComplement", "categorical": "TVComplement", "ordinal": "TVComplement", "boolean": "TVComplement"}
_CONTINUOUS = frozenset({"numerical", "datetime"})

Progress = Callable[[str], None]


@dataclass(frozen=True)
class QualityResult:
    score: float
    properties: dict[str, float]
    column_scores: dict[str, float]
    pair_scores: pd.DataFrame = field(default_factory=pd.DataFrame)  # Column 1, Column 2, Score
    diagnostic_score: float = float("nan")
    diagnostic_properties: dict[str, float] = field(default_factory=dict)  # data validity, data structure
    pairs_measured: int = 0  # column pairs whose trend was measured
    pairs_total: int = 0  # column pairs SDMetrics would measure; more than `pairs_measured` on wide tables

    @property
    def worst_columns(self) -> list[tuple[str, float]]:
        ranked = sorted(self.column_scores.items(), key=lambda item: item[1])
        return ranked[:WORST_COLUMNS_SHOWN]

    @property
    def pairs_sampled(self) -> bool:
        """Whether the pair trends come from a subset of the pairs (a wide table)."""
        return self.pairs_measured < self.pairs_total


def column_pairs(columns: Mapping[str, Mapping[str, Any]], max_pairs: int = MAX_PAIRS, seed: int = 0) -> tuple[list[tuple[str, str]], int]:
    """The column pairs to measure, in SDMetrics' order, and how many there are in all.

    Every pair of columns with a sdtype SDMetrics measures; when there are more than `max_pairs`,
    a seeded random subset of `max_pairs` of them (kept in the same order).

    Examples:
        >>> column_pairs({"a": {"sdtype": "numerical"}, "b": {"sdtype": "categorical"}, "c": {"sdtype": "id"}})
        ([('a', 'b')], 1)
    """
    measured = [name for name, meta in columns.items() if meta.get("sdtype") in _SHAPE_METRICS]
    pairs = list(itertools.combinations(measured, 2))
    if len(pairs) <= max_pairs:
        return pairs, len(pairs)
    chosen = np.sort(np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False))
    return [pairs[i] for i in chosen], len(pairs)


def _as_datetimes(data: pd.DataFrame, columns: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Datetime columns parsed as datetimes (with their `datetime_format`), as the report does."""
    data = data.copy()
    for name, meta in columns.items():
        if meta.get("sdtype") == "datetime" and name in data and not pd.api.types.is_datetime64_any_dtype(data[name]):
            data[name] = pd.to_datetime(data[name], format=meta.get("datetime_format"), errors="coerce")
    return data


def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """SDMetrics' Column Shapes score of every measured column (NaN where the metric failed)."""
    from sdmetrics import single_column

    scores = {}
    for name, meta in columns.items():
        metric = _SHAPE_METRICS.get(meta.get("sdtype", ""))
        if metric is None:
            continue
        try:
            scores[name] = float(getattr(single_column, metric).compute(real[name], synthetic[name]))
        except Exception:  # SDMetrics records a failed column as NaN and carries on
            scores[name] = float("nan")
    return scores


class _PairData:
    """One side (real or synthetic) as the pair metrics read it: datetimes as numbers, and each
    continuous column also binned into SDMetrics' 10 histogram bins (edges of this side's own)."""

    def __init__(self, data: pd.DataFrame, columns: Mapping[str, Mapping[str, Any]]):
        stamps = [name for name, meta in columns.items() if meta.get("sdtype") == "datetime"]
        self.values = data.copy() if stamps else data
        for name in stamps:
            self.values[name] = data[name].astype("int64").astype(float).where(data[name].notna())
        self.binned: dict[str, Any] = {}
        self.failed: set[str] = set()
        for name, meta in columns.items():
            if meta.get("sdtype") in _CONTINUOUS:
                column = self.values[name]
                try:
                    self.binned[name] = np.digitize(column, bins=np.histogram_bin_edges(column.dropna()))
                except Exception:  # a column SDMetrics cannot bin: the pairs that need it score NaN
                    self.failed.add(name)

    def pair(self, first: str, second: str, binned: str | None) -> pd.DataFrame:
        frame = self.values[[first, second]]
        if binned is not None:
            frame = frame.copy()
            frame[binned] = self.binned[binned]
        return frame


def _pair_score(real: _PairData, synthetic: _PairData, first: str, second: str, sdtypes: tuple[str, str]) -> tuple[str, float, bool]:
    """(metric name, score, counts towards the average) of one pair, as SDMetrics scores it."""
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity

    continuous = (sdtypes[0] in _CONTINUOUS, sdtypes[1] in _CONTINUOUS)
    if all(continuous):
        breakdown = CorrelationSimilarity.compute_breakdown(
            real.pair(first, second, None), synthetic.pair(first, second, None), real_correlation_threshold=REAL_CORRELATION_THRESHOLD
        )
        real_value = breakdown["real"]
        return "CorrelationSimilarity", float(breakdown["score"]), bool(not np.isnan(real_value) and abs(real_value) > REAL_CORRELATION_THRESHOLD)
    binned = first if continuous[0] else second if continuous[1] else None
    if binned is not None and (binned in real.failed or binned in synthetic.failed):
        return "ContingencySimilarity", float("nan"), False
    real_pair, synthetic_pair = real.pair(first, second, binned), synthetic.pair(first, second, binned)
    subsample = NUM_ROWS_SUBSAMPLE if max(len(real_pair), len(synthetic_pair)) > NUM_ROWS_SUBSAMPLE else None
    breakdown = ContingencySimilarity.compute_breakdown(
        real_pair, synthetic_pair, num_rows_subsample=subsample, real_association_threshold=REAL_ASSOCIATION_THRESHOLD
    )
    association = breakdown.get("real_association", np.nan)
    return "ContingencySimilarity", float(breakdown["score"]), bool(not np.isnan(association) and association > REAL_ASSOCIATION_THRESHOLD)


def pair_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Mapping[str, Mapping[str, Any]],
    pairs: Sequence[tuple[str, str]],
    on_pairs: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """SDMetrics' Column Pair Trends details of `pairs`: Column 1, Column 2, Metric, Score and
    Meets Threshold? (whether the pair counts towards the property's average).

    Args:
        on_pairs: Called with the number of pairs done, `PROGRESS_REPORTS` times (the last at the end).
    """
    real_side, synthetic_side = _PairData(real, columns), _PairData(synthetic, columns)
    every = max(1, -(-len(pairs) // PROGRESS_REPORTS))
    rows = []
    for done, (first, second) in enumerate(pairs, start=1):
        sdtypes = (columns[first]["sdtype"], columns[second]["sdtype"])
        try:
            metric, score, counts = _pair_score(real_side, synthetic_side, first, second, sdtypes)
        except Exception:  # SDMetrics records a failed pair (a constant column) as NaN and carries on
            metric = "CorrelationSimilarity" if set(sdtypes) <= _CONTINUOUS else "ContingencySimilarity"
            score, counts = float("nan"), False
        rows.append((first, second, metric, score, counts))
        if on_pairs and (done % every == 0 or done == len(pairs)):
            on_pairs(done)
    return pd.DataFrame(rows, columns=["Column 1", "Column 2", "Metric", "Score", "Meets Threshold?"])


def _diagnostic(real: pd.DataFrame, synthetic: pd.DataFrame, table_metadata: dict[str, Any]) -> tuple[float, dict[str, float]]:
    from sdmetrics.reports.single_table import DiagnosticReport

    diagnostic = DiagnosticReport()
    diagnostic.generate(real, synthetic, table_metadata, verbose=False)
    return float(diagnostic.get_score()), {row.Property: float(row.Score) for row in diagnostic.get_properties().itertuples()}


def evaluate_quality(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    table_metadata: dict[str, Any],
    progress: Progress | None = None,
    max_pairs: int = MAX_PAIRS,
    seed: int = 0,
) -> QualityResult:
    """SDMetrics' quality score (column shapes and column pair trends, the pairs bounded by
    `max_pairs`) and its diagnostic report (data validity and data structure).

    Args:
        real: Real rows (the training sample).
        synthetic: Synthetic rows with the same columns.
        table_metadata: SDV's metadata of the table, as a dictionary (`{"columns": {...}}`, or
            `{"tables": {name: {"columns": {...}}}}` with the one table).
        progress: Called with a line of text as each part is done and as pairs are measured.
        max_pairs: Column pairs measured at most; more pairs than this are sampled with `seed`.
        seed: Seed of the pair subset.

    Examples:
        >>> result = evaluate_quality(train, synthetic, metadata, progress=print)  # doctest: +SKIP
        >>> result.pairs_measured, result.pairs_total  # doctest: +SKIP
        (500, 44850)
    """
    from sdmetrics.utils import get_columns_from_metadata

    report = progress or (lambda line: None)
    started = time.perf_counter()
    columns = get_columns_from_metadata(table_metadata)
    diagnostic_score, diagnostic_properties = _diagnostic(real, synthetic, table_metadata)
    report(f"Quality: diagnostic report done (data validity, data structure) in {time.perf_counter() - started:.1f} s")
    real, synthetic = _as_datetimes(real, columns), _as_datetimes(synthetic, columns)
    shapes = column_shapes(real, synthetic, columns)
    report(f"Quality: column shapes done on {len(shapes)} columns in {time.perf_counter() - started:.1f} s")
    pairs, total = column_pairs(columns, max_pairs, seed)
    scope = f"a seeded subset of {len(pairs):,} of the {total:,} pairs" if len(pairs) < total else f"all {total:,} pairs"
    report(f"Quality: measuring column pair trends on {scope}")

    def on_pairs(done: int) -> None:
        report(f"Quality: column pair trends {done:,}/{len(pairs):,} pairs in {time.perf_counter() - started:.1f} s")

    details = pair_trends(real, synthetic, columns, pairs, on_pairs)
    counted = details.loc[details["Meets Threshold?"], "Score"]
    properties = {"Column Shapes": float(np.nanmean(list(shapes.values()))) if shapes else float("nan"),
                  "Column Pair Trends": float(counted.mean()) if len(counted) else float("nan")}
    valid = [v for v in properties.values() if not np.isnan(v)]
    return QualityResult(
        score=float(np.mean(valid)) if valid else float("nan"),
        properties=properties,
        column_scores={name: score for name, score in shapes.items() if not np.isnan(score)},
        pair_scores=details[["Column 1", "Column 2", "Score"]],
        diagnostic_score=diagnostic_score,
        diagnostic_properties=diagnostic_properties,
        pairs_measured=len(pairs),
        pairs_total=total,
    )
