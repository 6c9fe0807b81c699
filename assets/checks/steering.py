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
    """The `rebalance` and `class_fidelity` gates, and the `fairness` gate, of a table that sets them."""
    names = (["rebalance", "class_fidelity"] if table.rebalance is not None else []) + (["fairness"] if table.fairness is not None else [])
    return gate_specs(table, key, names)


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


def class_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, column: str, value: Any, of_the_rest: bool = False) -> float:
    """How closely the synthetic rows of one class follow the real rows of that class (or, with
    `of_the_rest`, the real rows of every other class): the mean of SDMetrics' column-shape
    scores (KS complement for numbers, TV complement otherwise) over the other columns; 1 is the
    same distribution."""
    from sdmetrics.single_column import KSComplement, TVComplement

    in_class = real[column].astype(str) == str(value)
    mine, theirs = real[~in_class if of_the_rest else in_class], synthetic[synthetic[column].astype(str) == str(value)]
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
    record = {"rebalance": {"column": column, "requested": requested, "real": before, "synthetic": after}}
    results = [measured_gate("rebalance", gap, table, metadata)]
    if sample is not None:
        fidelity_result, fidelity_metrics = _fidelity(table, real, sample, column, classes, list(requested))
        results.append(fidelity_result)
        metrics.update(fidelity_metrics)
    return SteeringMeasures(results, metrics, record)


def _fidelity(
    table: TableConfig, real: pd.DataFrame, sample: pd.DataFrame, column: str, classes: list[str], requested: list[str]
) -> tuple[dg.AssetCheckResult, dict[str, float]]:
    """The `class_fidelity` gate: a rebalanced class's synthetic rows must follow the real rows
    of their class more closely than the real rows of the other classes (a model that conditions
    weakly on a rare class draws the majority's rows under its label)."""
    own = {c: class_fidelity(real, sample, column, c) for c in classes}
    rest = {c: class_fidelity(real, sample, column, c, of_the_rest=True) for c in classes}
    margin = min(own[c] - rest[c] for c in requested)
    table_md = "| class | against its real rows | against the other classes' real rows |\n|---|---|---|\n"
    table_md += "\n".join(f"| {c} | {own[c]:.4f} | {rest[c]:.4f} |" for c in classes)
    metrics = {**{f"class_fidelity.{c}": own[c] for c in classes}, **{f"class_fidelity_rest.{c}": rest[c] for c in classes}, "class_margin": margin}
    return measured_gate("class_fidelity", margin, table, {keys.CLASS_FIDELITY: dg.MetadataValue.md(table_md)}), metrics


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
