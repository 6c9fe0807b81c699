"""What steers a single table's sampling (`TableConfig`'s `conditions`, `rebalance` and
`fairness`): rows sampled with given values, classes sampled to chosen shares, and a target's
rate held equal across sensitive groups. Checked across settings by `synthpipe.steering_validation`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from synthpipe.config_base import Strict

__all__ = ["FairnessConfig", "RebalanceConfig", "SampleCondition"]


class SampleCondition(Strict):
    """Rows sampled with fixed values for some columns (SDV's conditional sampling; TabularARGN's
    seeded generation): `{values: {sex: Female}, rows: 5000}`."""

    values: dict[str, Any] = Field(description="Column values every row of this condition has.", examples=[{"sex": "Female"}])
    rows: int = Field(description="Rows sampled with these values.", examples=[5000])

    def describe(self) -> str:
        return f"{self.rows} rows with " + ", ".join(f"{c} = {v!r}" for c, v in self.values.items())


class RebalanceConfig(Strict):
    """Raises (or lowers) classes of one column to chosen shares of the synthetic rows; each
    class's rows are sampled conditioned on it, so its other columns keep their real conditional
    distribution. Classes not named keep their real proportions among the rest."""

    column: str = Field(description="Categorical column whose classes are rebalanced.", examples=["default"])
    shares: dict[str, float] = Field(
        description="Share of the synthetic rows per class, each above 0 and together at most 1.", examples=[{"Yes": 0.3}]
    )
    tolerance: float = Field(
        default=0.02,
        description="Most a class's synthetic share may differ from the one asked for (gate `rebalance`).",
        examples=[0.01],
    )
    min_class_margin: float = Field(
        default=-0.05,
        description="Least margin by which each rebalanced class's synthetic rows must follow the real rows of their class "
        "more closely than the other classes' real rows (mean SDMetrics column shape; gate `class_fidelity`). Well below 0, "
        "the model draws the other classes' rows under the class's label; the default allows for the evaluation sample's noise.",
        examples=[0.05],
    )

    def describe(self) -> str:
        return f"{self.column}: " + ", ".join(f"{c!r} {s:.0%}" for c, s in self.shares.items())


class FairnessConfig(Strict):
    """A twin in which `target`'s rate is the same in every `sensitive` group (statistical
    parity): each group keeps its real share of the rows and gets the overall real rate of each
    target class, sampled conditioned on both."""

    target: str = Field(description="Column whose rate must not depend on the sensitive group.", examples=["income"])
    sensitive: str = Field(description="Column of the groups compared (sex, race, ...).", examples=["sex"])
    method: Literal["auto", "conditions", "engine"] = Field(
        default="auto",
        description="`conditions`: each sensitive group and target class sampled under conditions (an exact gap, any "
        "backend). `engine`: TabularARGN's own fairness mode, which draws the table freely and adjusts the target's "
        "probabilities per group (a small gap). `auto`: the backend's own mode where it has one (TabularARGN), else "
        "conditions.",
        examples=["conditions"],
    )
    max_parity_gap: float = Field(
        default=0.05,
        description="Most the target's rate may differ between two sensitive groups of the twin (gate `fairness`; "
        "`gate_severity: {fairness: warn}` reports it without blocking).",
        examples=[0.02],
    )
