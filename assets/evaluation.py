"""Fidelity evaluation with SDMetrics: the quality score and the columns that pull it down."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["QualityResult", "evaluate_quality"]

WORST_COLUMNS_SHOWN = 5


@dataclass(frozen=True)
class QualityResult:
    score: float
    properties: dict[str, float]
    column_scores: dict[str, float]
    pair_scores: pd.DataFrame = field(default_factory=pd.DataFrame)  # Column 1, Column 2, Score
    diagnostic_score: float = float("nan")
    diagnostic_properties: dict[str, float] = field(default_factory=dict)  # data validity, data structure

    @property
    def worst_columns(self) -> list[tuple[str, float]]:
        ranked = sorted(self.column_scores.items(), key=lambda item: item[1])
        return ranked[:WORST_COLUMNS_SHOWN]


def evaluate_quality(real: pd.DataFrame, synthetic: pd.DataFrame, table_metadata: dict[str, Any]) -> QualityResult:
    """SDMetrics' single-table quality report (column shapes and column pair trends) and its
    diagnostic report (data validity and data structure).
    """
    from sdmetrics.reports.single_table import DiagnosticReport, QualityReport

    diagnostic = DiagnosticReport()
    diagnostic.generate(real, synthetic, table_metadata, verbose=False)

    report = QualityReport()
    report.generate(real, synthetic, table_metadata, verbose=False)
    properties = report.get_properties()
    shapes = report.get_details("Column Shapes")
    return QualityResult(
        score=float(report.get_score()),
        properties={row.Property: float(row.Score) for row in properties.itertuples()},
        column_scores={row.Column: float(row.Score) for row in shapes.itertuples() if pd.notna(row.Score)},
        pair_scores=report.get_details("Column Pair Trends")[["Column 1", "Column 2", "Score"]],
        diagnostic_score=float(diagnostic.get_score()),
        diagnostic_properties={row.Property: float(row.Score) for row in diagnostic.get_properties().itertuples()},
    )
