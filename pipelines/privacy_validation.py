"""Checks of a single table's `privacy` (differential privacy), collected with the rest of the
configuration's problems by `synthpipe.validation`.

A table with `privacy` is refused at load unless its synthesizer (or, with `auto`, at least one
candidate) gives a differential-privacy guarantee, as the backend registry declares it
(`capabilities.differential_privacy`). So is any setting that would publish, or sample to,
something the guarantee does not cover: real rows (`synthesize_columns`, `impute`), the real
rows' class or group shares (`rebalance`, `fairness` by conditions), the real rows' value
combinations (an enforced `fixed_combinations` rule), and a budget set past `privacy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.resources.backends import BACKENDS
from synthpipe.resources.differential_privacy import DP_PARAM, dp_capable, dp_names
from synthpipe.table_config import AUTO, PrivacyConfig, TableConfig

__all__ = ["privacy_problems", "privacy_rule_problems"]


def _options() -> str:
    return ", ".join(f"{name!r} ({BACKENDS[name].label}, DP-SGD through Opacus)" for name in dp_names("table"))


def privacy_problems(table: TableConfig, where: str) -> list[str]:
    """Every problem with the table's `privacy` and the settings it meets (`where` names the table)."""
    problems = _param_problems(table, where)
    privacy = table.privacy
    if privacy is None:
        return problems
    problems += _budget_problems(privacy, where)
    if table.sequence is not None:
        return problems + [
            f"{where}: `privacy` applies to single tables; no sequence synthesizer fits with a differential-privacy guarantee. "
            "Remove `privacy` or `sequence`."
        ]
    problems += _backend_problems(table, where)
    kept_real = [name for name in ("synthesize_columns", "impute") if getattr(table, name)]
    if kept_real:
        problems.append(f"{where}: `{kept_real[0]}` publishes real rows, which `privacy`'s guarantee does not cover; remove one of the two.")
    if table.rebalance is not None:
        problems.append(f"{where}: `rebalance` samples to the real rows' class shares, which `privacy`'s guarantee does not cover; remove one of the two.")
    if table.fairness is not None and table.fairness.method == "conditions":
        problems.append(
            f"{where}: `fairness.method: conditions` samples to the real rows' group shares, which `privacy`'s guarantee does not cover; "
            "use `method: engine` (TabularARGN's own fairness mode)."
        )
    return problems


def _budget_problems(privacy: PrivacyConfig, where: str) -> list[str]:
    problems = []
    if privacy.epsilon <= 0:
        problems.append(f"{where}: `privacy.epsilon` must be above 0; got {privacy.epsilon}. 1 to 10 is usual; lower is more private.")
    if not 0.0 < privacy.delta < 1.0:
        problems.append(f"{where}: `privacy.delta` must be between 0 and 1 (exclusive); got {privacy.delta}. The default is 1e-05.")
    if privacy.value_epsilon is not None and not 0.0 < privacy.value_epsilon < privacy.epsilon:
        problems.append(
            f"{where}: `privacy.value_epsilon` must be above 0 and below `privacy.epsilon` ({privacy.epsilon:g}), which leaves "
            f"training the rest; got {privacy.value_epsilon}. Omit it for a tenth of `epsilon` (at most 1)."
        )
    for setting in ("noise_multiplier", "max_grad_norm"):
        value = getattr(privacy, setting)
        if value <= 0:
            problems.append(f"{where}: `privacy.{setting}` must be above 0; got {value}.")
    return problems


def _backend_problems(table: TableConfig, where: str) -> list[str]:
    """The synthesizer, or `auto`'s candidates, must give the guarantee."""
    if table.backend == AUTO:
        if any(dp_capable(table.candidate_backend(name)) for name in table.auto_candidates):
            return []  # `auto` tries only those (`assets.auto.private_candidates`)
        return [
            f"{where}: `privacy` with `synthesizer: auto` needs a candidate with a differential-privacy guarantee: {_options()}; "
            f"`auto_candidates` {table.auto_candidates} has none. Add {dp_names('table')[0]!r} to `auto_candidates`, or remove `privacy`."
        ]
    entry = BACKENDS.get(table.backend)
    if entry is None or dp_capable(table.backend):
        return []  # an unknown name is reported on its own
    return [
        f"{where}: `privacy` needs a synthesizer with a differential-privacy guarantee: {_options()}; synthesizer "
        f"{table.backend!r} ({entry.label}) has none. Set `synthesizer: {dp_names('table')[0]}`, or remove `privacy`."
    ]


def _param_problems(table: TableConfig, where: str) -> list[str]:
    """The budget is set through `privacy` only, and the noisy value analysis needs value protection."""
    problems = []
    for setting, params in _constructor_params(table):
        if DP_PARAM in params:
            problems.append(
                f"{where}: `{setting}.{DP_PARAM}` is set through `privacy` (e.g. `privacy: {{epsilon: 2.0}}`), which checks the budget "
                f"and records the ε spent with every version; remove it from `{setting}`."
            )
        if table.privacy is not None and params.get("value_protection") is False:
            problems.append(
                f"{where}: `privacy` finds value ranges and categories with noise, which needs value protection; remove "
                f"`value_protection: false` from `{setting}`."
            )
    return problems


def _constructor_params(table: TableConfig) -> list[tuple[str, Mapping[str, Any]]]:
    """(setting, constructor arguments) of every synthesizer the table may fit."""
    found: list[tuple[str, Mapping[str, Any]]] = [("synthesizer_params", table.synthesizer_params)]
    return found + [(f"candidate_params.{name}", params) for name, params in table.candidate_params.items()]


def privacy_rule_problems(table: TableConfig, where: str) -> list[str]:
    """Enforced rules whose allowed values come from the real rows (`fixed_combinations`: the
    combinations the training rows hold) are outside the guarantee; run once the table's suites
    are read."""
    if table.privacy is None:
        return []
    return [
        f"{where}: the rule {rule.describe()!r} ({rule.where}) allows the value combinations of the real rows, which `privacy`'s "
        "guarantee does not cover; set `enforce: false` on it to check it only, or remove `privacy`."
        for rule in table.enforced_rules
        if rule.kind == "fixed_combinations"
    ]
