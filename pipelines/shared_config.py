"""Settings single tables and the tables of relational groups share: column overrides, the
holdout and the gates, and user expectation suites.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from synthpipe.config_base import Strict
from synthpipe.contracts import Rule, UserSuite

__all__ = ["ColumnOverride", "Evaluated", "WithSuites"]


class ColumnOverride(Strict):
    """Overrides SDV's detected metadata for one column."""

    model_config = ConfigDict(extra="allow", frozen=True)

    sdtype: Literal["numerical", "categorical", "boolean", "datetime", "id"] = Field(
        description="SDV semantic type the column is modelled as; further keys (e.g. `datetime_format`) go to "
        "SDV as they are.",
        examples=["categorical"],
    )


class Evaluated(Strict):
    """Holdout and gate settings shared by single tables and relational groups."""

    holdout_fraction: float = Field(
        default=0.2,
        description="Share of real rows held out for evaluation only (never fitted, never published), between 0 "
        "and 1 (exclusive).",
        examples=[0.2],
    )
    split_seed: int = Field(
        default=0,
        description="Seed of the train/holdout split, so the split is stable across nights; it does not depend "
        "on the source's row order.",
        examples=[0],
    )
    min_utility_ratio: float = Field(
        default=0.8,
        description="Least share of the real data's holdout score a model trained on the synthetic rows must "
        "reach (gate `utility`, with `target` set).",
        examples=[0.9],
    )
    max_exact_copy_share: float = Field(
        default=0.01,
        description="Most synthetic rows that may equal a training row, as a share (gate `exact_copies`).",
        examples=[0.0],
    )
    max_dcr_closer_share: float = Field(
        default=0.6,
        description="Most the DCR closer-to-training share may be (gate `dcr`): how often a synthetic row's nearest real "
        "row is a training row rather than a held-out one, corrected for the sizes of the two sets so that a model that "
        "does not memorise reads about 0.5 and one that copies reads 1. The gate fails only when the share's 95% interval "
        "lies above the threshold, so a small table's noise does not block an honest model.",
        examples=[0.6],
    )
    rare_value_min_count: int = Field(
        default=5,
        description="A value seen in fewer than this many training rows of a column is rare: no backend learns "
        "it (rare categories are replaced by learned common ones before fitting, numbers and dates are clipped "
        "to the `rare_value_min_count`-th smallest and largest values) and the `value_leaks` gate blocks a "
        "candidate that emits one. Text columns where most values are rare are refused at the source step.",
        examples=[10],
    )
    max_value_leak_share: float = Field(
        default=0.0,
        description="Most synthetic values of any one column that may be rare real values (seen in fewer than "
        "`rare_value_min_count` training rows), as a share (gate `value_leaks`).",
        examples=[0.0],
    )
    gate_severity: dict[
        Literal[
            "expectations", "quality", "exact_copies", "dcr", "value_leaks", "utility", "rebalance", "class_fidelity", "fairness", "singling_out",
            "linkability", "inference",
        ],
        Literal["error", "warn"],
    ] = Field(
        default_factory=dict,
        description="Per gate (`expectations`: the suite derived from the source profile; `quality`, `exact_copies`, `dcr`, `value_leaks`, `utility`, `rebalance`, `class_fidelity`, `fairness`, `singling_out`, "
        "`linkability`, `inference`), `error` (blocks "
        "publication; the default) or `warn` (reports only). The `dcr` gate of a sequential table defaults to "
        "`warn`.",
        examples=[{"dcr": "warn"}],
    )

    def severity(self, gate: str) -> str:
        return self.gate_severity.get(gate, "error")  # type: ignore[call-overload]


class WithSuites(Strict):
    """A table that can carry user expectation suites (`expectation_suites`)."""

    # The parsed `expectation_suites`, attached by `synthpipe.validation.load_config`.
    _suites: tuple[UserSuite, ...] = PrivateAttr(default=())

    @property
    def suites(self) -> tuple[UserSuite, ...]:
        return self._suites

    @property
    def enforced_rules(self) -> list[Rule]:
        return [rule for suite in self._suites for rule in suite.enforced_rules]

    @property
    def metadata_overrides(self) -> dict[str, dict[str, Any]]:
        """`columns` overrides, plus `categorical` for the columns of an enforced fixed
        combination that `columns` does not set (SDV combines categories, not numbers)."""
        overrides = {column: override.model_dump() for column, override in getattr(self, "columns", {}).items()}
        for rule in self.enforced_rules:
            if rule.kind == "fixed_combinations":
                for column in rule.columns:
                    overrides.setdefault(column, {"sdtype": "categorical"})
        return overrides
