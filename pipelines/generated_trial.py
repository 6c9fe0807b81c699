"""The trial draw of a generated set, for `synthpipe.generated_validation`: once the declaration
is otherwise valid, `trial_tables` draws 2,000 rows per table (seed 0, rules not enforced, twin
columns missing), and a rule that no trial row meets, or rules that together would have more
rows drawn again than `max_rejected_share` allows, are refused before any nightly run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthpipe.errors import SynthesizerError
from synthpipe.generated_config import GeneratedConfig, GeneratedTableConfig
from synthpipe.resources.declarations import TableRule, describe_distribution, table_rules
from synthpipe.resources.generator import trial_tables

__all__ = ["TRIAL_ROWS", "trial_problems"]

# Rows per table of the trial draw that shows whether the rules can be met.
TRIAL_ROWS = 2000


def trial_problems(config: GeneratedConfig, where: str) -> list[str]:
    """Every rule the trial draw shows cannot be met, alone or together with the others."""
    try:
        trial = trial_tables(config, rows=TRIAL_ROWS, seed=0)
    except SynthesizerError as error:
        return [f"{error} (found by a trial draw of {TRIAL_ROWS} rows per table)"]
    problems = []
    for table in config.tables:
        frame = trial[table.name]
        usable: list[TableRule] = []
        for rule in table_rules(config, table):
            present = ~frame[rule.rule.columns].isna().any(axis=1).to_numpy()
            if not present.any():
                continue  # its columns are missing in the trial (twin columns): nothing to judge
            if not rule.holds(frame)[present].any():
                problems.append(
                    f"{where}, table {table.name!r}, {rule.rule.where.rsplit(', ', 1)[-1]}: none of {int(present.sum())} trial rows meets rule "
                    f"{rule.rule.describe()!r}; {_ranges(table, frame[present], rule)}. Change the distributions or the rule."
                )
            else:
                usable.append(rule)
        problems += _joint_problem(config, table, frame, usable, where)
    return problems


def _joint_problem(config: GeneratedConfig, table: GeneratedTableConfig, frame: pd.DataFrame, rules: list[TableRule], where: str) -> list[str]:
    if not rules:
        return []
    columns = list(dict.fromkeys(c for rule in rules for c in rule.rule.columns))
    present = ~frame[columns].isna().any(axis=1).to_numpy()
    if not present.any():
        return []
    met = np.logical_and.reduce([rule.holds(frame)[present] for rule in rules]).mean()
    if met >= 1.0 - config.max_rejected_share:
        return []
    described = ", ".join(repr(r.rule.describe()) for r in rules)
    return [
        f"{where}, table {table.name!r}: only {met:.1%} of {int(present.sum())} trial rows meet every rule ({described}) together, so "
        f"{1 - met:.1%} would be drawn again; `max_rejected_share` allows {config.max_rejected_share:g}. Change the distributions so that "
        "more rows meet the rules, loosen the rules, or raise `max_rejected_share`."
    ]


def _ranges(table: GeneratedTableConfig, frame: pd.DataFrame, rule: TableRule) -> str:
    """What the trial rows' values of the rule's columns are, to show why no row meets it."""
    if rule.rule.kind == "fixed_combinations":
        seen = frame[rule.rule.columns].drop_duplicates().head(5).itertuples(index=False)
        allowed = sorted(rule.allowed, key=repr)[:5]
        return f"the trial's combinations include {', '.join(repr(tuple(s)) for s in seen)}; the allowed ones are {', '.join(map(repr, allowed))}"
    parts = []
    for column in rule.rule.columns:
        values = pd.to_numeric(frame[column], errors="coerce").dropna()
        spec = table.columns.get(column)
        declared = f" ({describe_distribution(spec.distribution, spec.params)})" if spec is not None and spec.distribution else ""
        if len(values):
            parts.append(f"{column!r}{declared} ranges from {values.min():.4g} to {values.max():.4g}")
    return "in the trial, " + " and ".join(parts) if parts else "the columns' trial values cannot be compared"
