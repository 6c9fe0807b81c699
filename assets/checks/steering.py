"""The checks of a steered twin: `rebalance` (each class at the share asked for) and `fairness`
(the target's rate equal across the sensitive groups). Both are measured on every sampled row
(`assets.steering.Tally`), against the real training rows' figures, which are reported beside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.gates import gate_specs, measured_gate
from synthpipe.assets.steering import class_shares, parity_gap
from synthpipe.config import TableConfig

__all__ = ["SteeringMeasures", "class_fidelity", "steering_measures", "steering_specs"]


def steering_specs(table: TableConfig, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The `rebalance` and `fairness` gates of a table that sets them."""
    return gate_specs(table, key, [name for name in ("rebalance", "fairness") if getattr(table, name) is not None])


@dataclass(frozen=True)
class SteeringMeasures:
    """The steering checks' results, their figures for MLflow and what the version records."""

    results: list[dg.AssetCheckResult] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


def steering_measures(table: TableConfig, real: pd.DataFrame, counts: pd.Series, sample: pd.DataFrame | None = None) -> SteeringMeasures:
    """Measures the steered columns' `counts` (every sampled row) against the settings and `real`;
    with the evaluation `sample`, also how closely each rebalanced class's rows follow the real
    rows of that class."""
    if table.rebalance is not None:
        return _rebalance(table, real, counts, sample)
    if table.fairness is not None:
        return _fairness(table, real, counts)
    return SteeringMeasures()


def class_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, column: str, value: Any) -> float:
    """How closely the synthetic rows of one class follow the real rows of that class: the mean
    of SDMetrics' column-shape scores (KS complement for numbers, TV complement otherwise) over
    the other columns; 1 is the same distribution."""
    from sdmetrics.single_column import KSComplement, TVComplement

    mine, theirs = real[real[column].astype(str) == str(value)], synthetic[synthetic[column].astype(str) == str(value)]
    if mine.empty or theirs.empty:
        return 0.0
    scores = []
    for other in (c for c in real.columns if c != column and c in synthetic.columns):
        left, right = mine[other].dropna(), theirs[other].dropna()
        if left.empty or right.empty:
            continue
        numeric = pd.api.types.is_numeric_dtype(left) and not pd.api.types.is_bool_dtype(left) and left.nunique() > 10
        scores.append(KSComplement.compute(left, right) if numeric else TVComplement.compute(left.astype(str), right.astype(str)))
    return float(sum(scores) / len(scores)) if scores else 0.0


def _rebalance(table: TableConfig, real: pd.DataFrame, counts: pd.Series, sample: pd.DataFrame | None) -> SteeringMeasures:
    assert table.rebalance is not None
    column, requested = table.rebalance.column, {str(c): s for c, s in table.rebalance.shares.items()}
    before = class_shares(real, column)
    per_class = counts.groupby(level=0).sum()
    after = {str(value): float(n) / max(per_class.sum(), 1) for value, n in per_class.items()}
    gap = float(max(abs(after.get(c, 0.0) - share) for c, share in requested.items()))
    classes = list(dict.fromkeys([*requested, *before]))
    rows = ["| class | real | asked | synthetic |", "|---|---|---|---|"]
    rows += [f"| {c} | {before.get(c, 0.0):.4f} | {requested[c] if c in requested else '-'} | {after.get(c, 0.0):.4f} |" for c in classes]
    metadata: dict[str, Any] = {keys.CLASS_SHARES: dg.MetadataValue.md("\n".join(rows))}
    metrics = {"rebalance_gap": gap, **{f"share_real.{c}": before.get(c, 0.0) for c in requested}, **{f"share_synthetic.{c}": after.get(c, 0.0) for c in requested}}
    if sample is not None:  # each class's rows against the real rows of that class
        fidelity = {c: class_fidelity(real, sample, column, c) for c in classes}
        metadata[keys.CLASS_FIDELITY] = dg.MetadataValue.md(
            "| class | column shapes against the real rows of the class |\n|---|---|\n" + "\n".join(f"| {c} | {f:.4f} |" for c, f in fidelity.items())
        )
        metrics.update({f"class_fidelity.{c}": f for c, f in fidelity.items()})
    record = {"rebalance": {"column": column, "requested": requested, "real": before, "synthetic": after}}
    return SteeringMeasures([measured_gate("rebalance", gap, table, metadata)], metrics, record)


def _fairness(table: TableConfig, real: pd.DataFrame, counts: pd.Series) -> SteeringMeasures:
    assert table.fairness is not None
    target, sensitive = table.fairness.target, table.fairness.sensitive
    before = parity_gap(real, target, sensitive, table.rare_value_min_count)
    after = parity_gap(counts, target, sensitive)
    metadata = {
        keys.PARITY_GAP_REAL: dg.FloatMetadataValue(round(before.gap, 4)),
        keys.PARITY_RATES: dg.MetadataValue.md(f"Real training rows:\n\n{before.table()}\n\nSynthetic rows:\n\n{after.table()}"),
    }
    metrics = {"parity_gap_real": before.gap, "parity_gap_synthetic": after.gap}
    record = {"fairness": {"target": target, "sensitive": sensitive, "parity_gap_real": before.gap, "parity_gap_synthetic": after.gap, "rates": after.rates}}
    return SteeringMeasures([measured_gate("fairness", after.gap, table, metadata)], metrics, record)
