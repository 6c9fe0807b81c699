"""A relational group's configuration: related tables synthesized together (SDV's HMA, or one
TabularARGN model per table chained parent first), their keys and relationships, and the group's
gates.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from synthpipe.config_base import Strict
from synthpipe.shared_config import ColumnOverride, Evaluated, WithSuites

__all__ = ["ForeignKeyConfig", "GroupConfig", "GroupTableConfig", "GroupTarget"]


class ForeignKeyConfig(Strict):
    """One relationship of a table group: `child.child_key` points at `parent.parent_key`."""

    parent: str = Field(description="Parent table (a table of this group).", examples=["planes"])
    parent_key: str | list[str] = Field(description="Parent's primary key column (one column; HMA takes no composite keys).", examples=["tailnum"])
    child: str = Field(description="Child table (a table of this group).", examples=["flights"])
    child_key: str | list[str] = Field(description="Child's foreign key column, pointing at `parent_key`.", examples=["tailnum"])
    context: bool | None = Field(
        default=None,
        description="TabularARGN only: the child is generated against this parent (its context; one per child). "
        "Default: the child's first declared key. A child's other keys are references, drawn among the parent's synthetic rows.",
        examples=[True],
    )

    def label(self) -> str:
        return f"{self.child}.{self.child_key} -> {self.parent}.{self.parent_key}"


class GroupTableConfig(WithSuites):
    """One table of a relational group."""

    name: str = Field(description="Table name in synthpipe (asset key part `<group>/<name>`, Delta folder).", examples=["flights"])
    source_table: str | None = Field(default=None, description="Table name in the source, when it differs.", examples=["raw_flights"])
    query: str | None = Field(default=None, description="SQL selecting the rows instead of the whole table.", examples=["SELECT * FROM flights WHERE month = 1"])
    row_limit: int | None = Field(default=None, description="Read at most this many rows (pushed down as LIMIT).", examples=[5000])
    primary_key: str | list[str] | None = Field(default=None, description="Primary key column; default: detected by SDV.", examples=["tailnum"])
    exclude_columns: list[str] = Field(default_factory=list, description="Source columns left out of the synthetic set.", examples=[["speed"]])
    columns: dict[str, ColumnOverride] = Field(default_factory=dict, description="Per-column SDV metadata overrides.", examples=[{"engines": {"sdtype": "categorical"}}])
    pii: dict[str, str] = Field(
        default_factory=dict,
        description="Personal columns and the Faker provider that generates them fresh (never learned), as for single tables.",
        examples=[{"name": "company"}],
    )
    expectation_suites: list[str] = Field(
        default_factory=list,
        description="User expectation suites of this table (YAML files, relative to `expectations_dir`), as for single tables.",
        examples=[["flights.yaml"]],
    )

    @property
    def source_name(self) -> str:
        return self.source_table or self.name


class GroupTarget(Strict):
    """The column a downstream model predicts, in one child table of a group."""

    table: str = Field(description="A child table of the group (it has a holdout).", examples=["flights"])
    column: str = Field(description="The column to predict.", examples=["arr_delay"])


class GroupConfig(Evaluated):
    """Related tables synthesized together (SDV's HMA, or TabularARGN with `synthesizer: argn`),
    so that every foreign key of the synthetic set resolves. Published as one set: all tables or none.
    """

    name: str = Field(description="Group name: asset keys `<stage>/<name>`, Delta folder, MLflow model.", examples=["nycflights"])
    tables: list[GroupTableConfig] = Field(
        description="The tables of the group: at least two; at most 5 for HMA.",
        examples=[[{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}]],
    )
    foreign_keys: list[ForeignKeyConfig] = Field(
        default_factory=list,
        description="Relationships. Default: detected by SDV (logged to MLflow so they can be copied here and edited).",
        examples=[[{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]],
    )
    orphans: Literal["error", "drop", "null"] = Field(
        default="error",
        description="Child rows whose foreign key has no parent: `error` stops the run, `drop` removes them, "
        "`null` empties their key. Counts are recorded either way.",
        examples=["drop"],
    )
    synthesizer: Literal["hma", "argn"] = Field(
        default="hma",
        description="Relational synthesizer: SDV's HMA (at most 5 tables, one level of children) or TabularARGN "
        "(`argn`: one model per table, chained parent first; any number of tables and levels).",
        examples=["argn"],
    )
    synthesizer_params: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for the synthesizer.", examples=[{"verbose": False}])
    scale: float = Field(default=1.0, description="Synthetic size relative to the source, above 0 (HMA's `sample_scale`).", examples=[1.0])
    seed: int | None = Field(default=None, description="Sampling seed; default a new one each run, recorded.", examples=[42])
    quality_threshold: float = Field(default=0.6, description="Minimum multi-table SDMetrics quality score.", examples=[0.7])
    target: GroupTarget | None = Field(
        default=None,
        description="Column a downstream model predicts, in a child table: enables the `utility` gate.",
        examples=[{"table": "flights", "column": "arr_delay"}],
    )
    model_name: str | None = Field(default=None, description="Registered MLflow model name; default `synthpipe-<name>`.", examples=["synthpipe-nycflights"])

    @property
    def registered_model_name(self) -> str:
        return self.model_name or f"synthpipe-{self.name}"

    @property
    def backend(self) -> str:
        return GROUP_BACKENDS.get(self.synthesizer, self.synthesizer)


# A synthesizer name that serves several kinds of table names its group backend here.
GROUP_BACKENDS = {"argn": "argn_group"}
