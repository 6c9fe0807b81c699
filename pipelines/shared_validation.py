"""Checks of the settings that tables and groups share (`synthpipe.shared_config`): the holdout
and gates, and names declared twice."""

from __future__ import annotations

from synthpipe.shared_config import Evaluated

__all__ = ["duplicate_problems", "evaluated_problems"]


def evaluated_problems(settings: Evaluated, where: str) -> list[str]:
    """The holdout and gate settings that tables and groups share, each within its range."""
    problems = []
    if not 0.0 < settings.holdout_fraction < 1.0:
        problems.append(
            f"{where}: `holdout_fraction` must be between 0 and 1 (exclusive); got {settings.holdout_fraction}. "
            "0.2 holds out a fifth of the rows for evaluation."
        )
    for setting in ("quality_threshold", "max_exact_copy_share", "max_dcr_closer_share", "max_value_leak_share", "min_utility_ratio"):
        value = getattr(settings, setting)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{where}: `{setting}` must be between 0 and 1; got {value}.")
    if settings.rare_value_min_count < 1:
        problems.append(
            f"{where}: `rare_value_min_count` must be at least 1; got {settings.rare_value_min_count}. "
            "1 treats no value as rare (no protection); the default 5 keeps values seen in fewer than 5 rows out of the model."
        )
    return problems


def duplicate_problems(names: list[str]) -> list[str]:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    return [f"table {name!r} is declared twice; table names must be unique." for name in duplicates]
