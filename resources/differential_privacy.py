"""Differential privacy for a single table (`privacy:`): which backends give the guarantee, the
budget a model is built with, and the ε and δ a fitted model spent.

A table's `PrivacyConfig` becomes the `differential_privacy` constructor argument of a backend
that declares `capabilities.differential_privacy` (TabularARGN: DP-SGD through Opacus, value
ranges and categories from noisy histograms). The fitted model keeps what it spent
(`dp_epsilon_spent`, `dp_delta`); the fit stage logs it to MLflow and tags the registered
version with it, and every published Delta version records it (`synthpipe/dp_epsilon`,
`synthpipe/dp_delta`).

Examples:
    >>> from synthpipe.table_config import PrivacyConfig
    >>> dp_names("table")
    ('argn',)
    >>> with_privacy("argn", {"max_epochs": 3}, PrivacyConfig(epsilon=2.0))["differential_privacy"]["max_epsilon"]
    2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe import metadata_keys as keys
from synthpipe.resources.backends import BACKENDS, Kind, names
from synthpipe.table_config import PrivacyConfig

__all__ = [
    "DP_PARAM",
    "dp_capable",
    "dp_names",
    "engine_budget",
    "privacy_from_tags",
    "privacy_metadata",
    "privacy_metrics",
    "privacy_spent",
    "privacy_tags",
    "with_privacy",
]

# The constructor parameter a DP-capable backend takes its budget in.
DP_PARAM = "differential_privacy"


def dp_capable(name: str) -> bool:
    """Whether the backend registered under `name` fits with a differential-privacy guarantee."""
    return name in BACKENDS and BACKENDS[name].capabilities.differential_privacy


def dp_names(kind: Kind = "table") -> tuple[str, ...]:
    """The backends of one kind of table that give the guarantee, in registry order."""
    return tuple(name for name in names(kind) if dp_capable(name))


def engine_budget(privacy: PrivacyConfig) -> dict[str, float]:
    """The `differential_privacy` argument for `privacy` (TabularARGN's engine settings): the
    whole budget, its share for value ranges and categories, δ and DP-SGD's noise and clipping."""
    return {
        "max_epsilon": float(privacy.epsilon),
        "value_protection_epsilon": float(privacy.value_budget),
        "delta": float(privacy.delta),
        "noise_multiplier": float(privacy.noise_multiplier),
        "max_grad_norm": float(privacy.max_grad_norm),
    }


def with_privacy(name: str, params: Mapping[str, Any], privacy: PrivacyConfig | None) -> dict[str, Any]:
    """`params` for backend `name`, with the DP budget when the table has `privacy` and the
    backend gives the guarantee (validation refuses `privacy` on any other)."""
    if privacy is None or not dp_capable(name):
        return dict(params)
    return {**params, DP_PARAM: engine_budget(privacy)}


def privacy_spent(synthesizer: Any) -> dict[str, float]:
    """What a model fitted with differential privacy spent (`epsilon`, `delta`, and
    `value_epsilon`, the value analysis's share of ε); empty for any other model."""
    epsilon = getattr(synthesizer, "dp_epsilon_spent", None)
    if epsilon is None:
        return {}
    spent = {"epsilon": float(epsilon), "delta": float(synthesizer.dp_delta)}
    value_epsilon = getattr(synthesizer, "dp_value_epsilon_spent", None)
    return {**spent, **({"value_epsilon": float(value_epsilon)} if value_epsilon is not None else {})}


def privacy_metrics(spent: Mapping[str, float]) -> dict[str, float]:
    """The MLflow metrics of what a fit spent: `dp_epsilon_spent`, `dp_delta`, `dp_value_epsilon_spent`."""
    return {f"dp_{name}_spent" if name != "delta" else "dp_delta": value for name, value in spent.items()}


def privacy_metadata(spent: Mapping[str, float] | None) -> dict[str, float]:
    """What a published version (its Delta commit) and the synthesizer asset record of the fit's
    ε and δ; empty for a model fitted without differential privacy (`spent` empty or None)."""
    return {keys.DP_EPSILON: spent["epsilon"], keys.DP_DELTA: spent["delta"]} if spent else {}


def privacy_tags(spent: Mapping[str, float]) -> dict[str, str]:
    """The registered model version's tags for what its fit spent, so a reused champion still
    records it (`privacy_from_tags`)."""
    if not spent:
        return {}
    return {keys.DP_EPSILON: repr(spent["epsilon"]), keys.DP_DELTA: repr(spent["delta"])}


def privacy_from_tags(tags: Mapping[str, str] | None) -> dict[str, float]:
    """What `privacy_tags` wrote on a model version; empty for a model fitted without DP."""
    tags = tags or {}
    if keys.DP_EPSILON not in tags:
        return {}
    return {"epsilon": float(tags[keys.DP_EPSILON]), "delta": float(tags[keys.DP_DELTA])}
