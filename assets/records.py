"""The values that flow between the stages of a unit of synthesis (stored by the IO manager
between steps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from synthpipe.config import SampleCondition

__all__ = ["Candidate", "FittedModel", "GroupSample", "StagedSample"]


@dataclass(frozen=True)
class FittedModel:
    """A fitted synthesizer as registered in MLflow; the synthetic stage loads it from there."""

    table: str
    synthesizer: str
    mlflow_run_id: str
    model_name: str
    model_version: str
    model_uri: str
    fit_seconds: float
    training_rows: int
    table_metadata: dict[str, Any]
    source_fingerprint: str
    selection: list[dict[str, Any]] = field(default_factory=list)  # `auto`: every candidate, best first
    reused_from: str | None = None  # MLflow run that fitted the reused model; None when fitted in this run
    # differential privacy (`privacy:`): the ε (`epsilon`, the value analysis's share included) and
    # `delta` the model's fit spent; None for a model fitted without a guarantee (a class default,
    # so the records pickled between steps before it existed still read)
    privacy: dict[str, float] | None = None


@dataclass(frozen=True)
class StagedSample:
    """A sampled candidate: its rows staged as Parquet chunks, and a sample to evaluate."""

    folder: str
    rows: int
    row_hash: str
    sample: pd.DataFrame  # the evaluation sample: every row when there are at most `evaluation_rows`
    seed: int
    chunk_rows: int  # 0: sampled whole (sequences)
    sample_seconds: float
    plan: tuple[SampleCondition, ...] = ()  # the conditions sampled under (`conditions`, `rebalance`, `fairness`)
    steered_counts: pd.Series | None = None  # the steered columns' value counts over every row
    steering: dict[str, Any] = field(default_factory=dict)  # `rebalance`/`fairness` figures the version records
    # partially synthetic and hybrid tables: the holdout rows with the same columns generated, and
    # which cells of the evaluation sample were generated (hybrid)
    holdout_generated: pd.DataFrame | None = None
    training_generated: pd.DataFrame | None = None  # hybrid: the evaluated training rows with every named cell generated
    generated_cells: pd.DataFrame | None = None


@dataclass(frozen=True)
class GroupSample:
    """A sampled relational group (or generated set, or simulation): every table in memory, and the source schemas they are cast back to."""

    tables: dict[str, pd.DataFrame]
    seed: int
    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    sample_seconds: float = 0.0
    recorded: dict[str, Any] = field(default_factory=dict)  # tables without a source: what the version records beyond the seed


@dataclass(frozen=True)
class Candidate:
    """A sampled candidate (a `StagedSample` or a `GroupSample`) with everything its publication records."""

    sample: StagedSample | GroupSample
    model: FittedModel
    quality_score: float
    checks: dict[str, bool] = field(default_factory=dict)
