"""Gates: a measured number against a configured threshold, as an asset check.

A gate with severity `error` is a blocking check (a miss publishes nothing); `warn` reports the
miss without blocking. Either way the check's metadata starts with the measure under its own
name (the one figure worth plotting night after night), then the threshold as text (a setting,
not a measure), and a miss says by how much.
"""

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dagster as dg

from synthpipe import metadata_keys as keys

__all__ = ["GATES", "Gate", "bounded_gate", "checks_summary", "gate_result", "gate_spec", "gate_specs", "measured_gate", "property_metadata"]


@dataclass(frozen=True)
class Gate:
    name: str
    label: str
    bound: Literal["min", "max"]
    setting: str
    key: str  # the measure's metadata key, its headline figure

    @property
    def sign(self) -> str:
        return "≥" if self.bound == "min" else "≤"

    def passed(self, value: float, threshold: float) -> bool:
        return value >= threshold if self.bound == "min" else value <= threshold

    def describe(self, threshold: float) -> str:
        return f"{self.label} is {'at least' if self.bound == 'min' else 'at most'} {threshold} (`{self.setting}`)."


GATES: dict[str, Gate] = {
    "quality": Gate("quality", "SDMetrics quality score", "min", "quality_threshold", keys.QUALITY_SCORE),
    "exact_copies": Gate("exact_copies", "share of synthetic rows that copy a training row", "max", "max_exact_copy_share", keys.EXACT_COPY_SHARE),
    "dcr": Gate(
        "dcr", "share of synthetic rows closer to training than to holdout rows (DCR)", "max", "max_dcr_closer_share", keys.DCR_CLOSER_SHARE
    ),
    "value_leaks": Gate(
        "value_leaks", "share of one column's synthetic values that are rare real values", "max", "max_value_leak_share", keys.VALUE_LEAK_SHARE
    ),
    "utility": Gate(
        "utility", "synthetic-to-real ratio of the holdout score (train on synthetic, test on real)", "min", "min_utility_ratio", keys.UTILITY_RATIO
    ),
    "rebalance": Gate(
        "rebalance", "largest difference between a class's synthetic share and the share asked for", "max", "rebalance.tolerance", keys.REBALANCE_GAP
    ),
    "class_fidelity": Gate(
        "class_fidelity",
        "lowest margin by which a rebalanced class's synthetic rows follow the real rows of their class more closely than the other classes' real rows",
        "min", "rebalance.min_class_margin", keys.CLASS_MARGIN,
    ),
    "singling_out": Gate("singling_out", "singling-out risk (anonymeter)", "max", "max_singling_out_risk", keys.SINGLING_OUT_RISK),
    "linkability": Gate("linkability", "linkability risk (anonymeter)", "max", "max_linkability_risk", keys.LINKABILITY_RISK),
    "inference": Gate("inference", "attribute-inference risk of the riskiest secret column (anonymeter)", "max", "max_inference_risk", keys.INFERENCE_RISK),
    "fit": Gate(
        "fit", "mean fit of the generated columns to their declarations (1 - KS statistic, 1 - total variation distance)", "min",
        "quality_threshold", keys.QUALITY_SCORE,
    ),
    "fairness": Gate(
        "fairness", "statistical parity gap: the largest difference of the target's rate between sensitive groups", "max",
        "fairness.max_parity_gap", keys.PARITY_GAP,
    ),
}


def _threshold(settings: Any, name: str) -> tuple[float, str]:
    """The gate's threshold (a dotted setting reads a nested block) and severity in `settings`
    (a table's or a group's configuration)."""
    return functools.reduce(getattr, GATES[name].setting.split("."), settings), settings.severity(name)


def gate_specs(settings: Any, asset_key: dg.AssetKey, names: Sequence[str]) -> list[dg.AssetCheckSpec]:
    """The checks of the named gates, each with the threshold and severity `settings` give it."""
    return [gate_spec(name, asset_key, *_threshold(settings, name)) for name in names]


def measured_gate(name: str, value: float, settings: Any, metadata: Mapping[str, Any] | None = None) -> dg.AssetCheckResult:
    """The result of gate `name` for a measured `value`, against the threshold `settings` give it."""
    return gate_result(name, value, *_threshold(settings, name), metadata)


def bounded_gate(
    name: str, value: float, interval: tuple[float, float], settings: Any, metadata: Mapping[str, Any] | None = None
) -> dg.AssetCheckResult:
    """A gate decided on a 95% interval instead of its point estimate: a `max` gate fails only
    when the whole interval is above the threshold (the measure exceeds it with 95% confidence),
    a `min` gate only when the whole interval is below. A small table's noise then no longer
    trips an honest model, while a model far past the threshold (one that copies its training
    rows) fails at any size. The interval is in the metadata beside the estimate."""
    gate = GATES[name]
    threshold, severity = _threshold(settings, name)
    low, high = interval
    if not (math.isfinite(low) and math.isfinite(high)):  # a measure without an interval decides on its estimate
        low = high = value
    decisive = low if gate.bound == "max" else high
    passed = gate.passed(decisive, threshold)
    side = "above" if gate.bound == "max" else "below"
    verdict = (
        f"{gate.name} {value:.4f} (95% interval {low:.4f}-{high:.4f}), not {side} {threshold} with 95% confidence ✓ (`{gate.setting}`)"
        if passed
        else f"{gate.label} {value:.4f} is {side} the threshold {threshold} with 95% confidence (interval {low:.4f}-{high:.4f}; `{gate.setting}`)"
    )
    return dg.AssetCheckResult(
        check_name=name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "error" else dg.AssetCheckSeverity.WARN,
        description=verdict,
        metadata={
            gate.key: dg.FloatMetadataValue(round(value, 6)),
            keys.GATE_THRESHOLD: dg.MetadataValue.text(f"{gate.sign} {threshold} ({gate.setting}), decided on the 95% interval"),
            keys.GATE_INTERVAL: dg.MetadataValue.text(f"{low:.4f}-{high:.4f}"),
            **{k: entry for k, entry in (metadata or {}).items() if k != gate.key},
        },
    )


def gate_spec(name: str, asset_key: dg.AssetKey, threshold: float, severity: str) -> dg.AssetCheckSpec:
    gate = GATES[name]
    return dg.AssetCheckSpec(
        name,
        asset=asset_key,
        blocking=severity == "error",
        description=gate.describe(threshold) + ("" if severity == "error" else " Warns, does not block."),
    )


def gate_result(
    name: str, value: float, threshold: float, severity: str, metadata: Mapping[str, Any] | None = None
) -> dg.AssetCheckResult:
    """A measured gate. Its description is the verdict in one line (`quality 0.9548 ≥ 0.75 ✓`;
    a miss says by how much); its metadata holds the measure first, the threshold as text, then
    the caller's (the caller's copy of the measure, if any, is not repeated)."""
    gate = GATES[name]
    passed = gate.passed(value, threshold)
    direction = "below" if gate.bound == "min" else "above"
    verdict = (
        f"{gate.name} {value:.4f} {gate.sign} {threshold} ✓ (`{gate.setting}`)"
        if passed
        else f"{gate.label} {value:.4f} is {abs(value - threshold):.4f} {direction} the threshold {threshold} (`{gate.setting}`)"
    )
    return dg.AssetCheckResult(
        check_name=name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "error" else dg.AssetCheckSeverity.WARN,
        description=verdict,
        metadata={
            gate.key: dg.FloatMetadataValue(round(value, 6)),
            keys.GATE_THRESHOLD: dg.MetadataValue.text(f"{gate.sign} {threshold} ({gate.setting})"),
            **{name: entry for name, entry in (metadata or {}).items() if name != gate.key},
        },
    )


def checks_summary(results: Sequence[dg.AssetCheckResult]) -> str:
    """Every check of a candidate as one markdown table: the measure and threshold of each gate,
    the verdict, and whether a miss blocks publication."""
    rows = ["| check | measured | threshold | verdict | on a miss |", "|---|---|---|---|---|"]
    for result in results:
        gate = GATES.get(result.check_name)
        measured = result.metadata.get(gate.key) if gate else None
        threshold = result.metadata.get(keys.GATE_THRESHOLD) if gate else None
        value = f"{measured.value:.4f}" if measured is not None else "-"
        limit = threshold.value.split(" (")[0] if threshold is not None else "-"
        blocks = "blocks" if result.severity == dg.AssetCheckSeverity.ERROR else "warns"
        rows.append(f"| {result.check_name} | {value} | {limit} | {'✓ passed' if result.passed else '✗ failed'} | {blocks} |")
    return "\n".join(rows)


def property_metadata(properties: dict[str, float]) -> dict[str, Any]:
    """SDMetrics report properties ("Column Shapes") as namespaced metadata (`synthpipe/column_shapes`)."""
    return {f"{keys.PREFIX}{name.lower().replace(' ', '_')}": dg.FloatMetadataValue(round(value, 4)) for name, value in properties.items()}
