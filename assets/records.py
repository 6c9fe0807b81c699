"""The values that flow between a table's stages (stored by the IO manager between steps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Candidate", "FittedModel"]


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


@dataclass(frozen=True)
class Candidate:
    """A sampled synthetic table with everything its publication records."""

    data: pd.DataFrame
    seed: int
    model: FittedModel
    sample_seconds: float
    quality_score: float
    checks: dict[str, bool] = field(default_factory=dict)
