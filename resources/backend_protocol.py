"""The two protocols behind every synthesizer backend, and what a backend declares it can do.

`Synthesizer` is the model object (SDV's classes and TabularARGN's satisfy it structurally);
`Backend` is a registry entry of `synthpipe.resources.backends`, which holds the entries and the
registry itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KINDS", "Backend", "Capabilities", "Kind", "Synthesizer"]

# `generated`: tables without a source (declared generators, simulations), which learn nothing.
Kind = Literal["table", "sequence", "group", "generated"]
KINDS: tuple[Kind, ...] = ("table", "sequence", "group", "generated")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared once so that validation and the stages ask, not probe.

    Attributes:
        constraints: Obeys business rules as SDV constraints (`add_constraints`) while fitting
            and sampling.
        rules_by_rejection: Obeys business rules by drawing again the sampled rows that break
            one (`add_rules`), for a model that takes no constraints.
        conditions: Samples conditioned on given values (SDV's `sample_from_conditions`; PAR's
            context columns).
        sequences: Models rows ordered within entities (a sequence key and index).
        relations: Models related tables together, so every foreign key of a sample resolves.
        time_budget: The constructor parameter bounding training time, in minutes (`auto` cuts
            it to what is left of its budget); None when training runs by epochs only.
        progress: Reports training progress (epoch, losses, time left) to `on_progress`.
        torch: Samples through torch, whose thread pool does not survive a fork, so its chunks
            are sampled in one process.
        max_tables: The most tables one relational model takes; None when unbounded or not relational.
        max_depth: The most levels of parent -> child relationships a relational model handles.
        fairness: Generates a table whose target's rate is the same across sensitive groups
            (statistical parity) by itself (`set_fairness`), without conditional sampling.
        contexts: Generates each child table against one parent, its context (`context_keys`),
            so the holdout takes whole families and the model leaves their parents out
            (`hold_out_contexts`).
        differential_privacy: Fits with a differential-privacy guarantee when given a budget
            (its `differential_privacy` constructor parameter): DP-SGD training and value ranges
            and categories found with noise, the ε and δ spent kept on the fitted model
            (`dp_epsilon_spent`, `dp_delta`). A table's `privacy` needs it.
    """

    constraints: bool = False
    rules_by_rejection: bool = False
    conditions: bool = False
    sequences: bool = False
    relations: bool = False
    time_budget: str | None = None
    progress: bool = False
    torch: bool = False
    fairness: bool = False
    max_tables: int | None = None
    max_depth: int | None = None
    contexts: bool = False
    differential_privacy: bool = False

    @property
    def rules(self) -> bool:
        """Whether business rules can be enforced at all (by constraints or by rejection)."""
        return self.constraints or self.rules_by_rejection


@runtime_checkable
class Synthesizer(Protocol):
    """A model object as synthpipe calls it; SDV's classes and `ArgnSynthesizer` satisfy it."""

    def fit(self, data: Mapping[str, pd.DataFrame], /) -> None:
        """Fits on `{table: frame}` (one table, or each table of a group)."""

    def sample(self, num_rows: int, /) -> Mapping[str, pd.DataFrame]:
        """Draws rows from the model's random state, as `{table: frame}`."""

    def get_metadata(self) -> Any:
        """The SDV metadata the model was built with."""

    def get_parameters(self) -> dict[str, Any]:
        """The constructor arguments, as logged to MLflow."""

    def save(self, filepath: str, /) -> None:
        """Writes the fitted model to one file."""


@runtime_checkable
class Backend(Protocol):
    """A registry entry: what a configuration name stands for and how its models are handled."""

    @property
    def name(self) -> str:
        """The configuration name (`synthesizer: <name>`)."""

    @property
    def kind(self) -> Kind:
        """The kind of table it serves: `table`, `sequence` or `group`."""

    @property
    def label(self) -> str:
        """How messages name it (`PAR`, `TabularARGN`)."""

    @property
    def capabilities(self) -> Capabilities:
        """What it can do."""

    @property
    def module(self) -> str:
        """The module of its model class."""

    @property
    def class_name(self) -> str:
        """Its model class's name, by which `backend_of` knows a model without importing anything."""

    @property
    def extra(self) -> str | None:
        """The optional extra it needs (`synthpipe[<extra>]`), or None when it ships with synthpipe."""

    @property
    def install_hint(self) -> str | None:
        """How to install it when it is missing, or None when it always is."""

    @property
    def file_suffix(self) -> str:
        """The suffix of its saved file, which tells `backend_for_file` who reads it."""

    def available(self) -> bool:
        """Whether it is installed, found without importing it."""

    def synthesizer_class(self) -> type[Synthesizer]:
        """Its model class (imports the backend)."""

    def build(self, metadata: Any, params: Mapping[str, Any]) -> Synthesizer:
        """A new, unfitted model for `metadata` with constructor arguments `params`."""

    def fit(self, synthesizer: Synthesizer, data: pd.DataFrame | Mapping[str, pd.DataFrame]) -> None:
        """Fits on one frame (a single or sequential table) or on `{table: frame}`."""

    def seed(self, synthesizer: Synthesizer, seed: int) -> None:
        """Puts a fitted model in the reproducible sampling state of `seed`."""

    def sample(self, synthesizer: Synthesizer, amount: float, seed: int) -> dict[str, pd.DataFrame]:
        """A seeded draw as `{table: frame}`: rows, sequences or a group's scale (`amount`)."""

    def sample_conditioned(self, synthesizer: Synthesizer, values: Mapping[str, Any], rows: int, seed: int) -> pd.DataFrame:
        """A seeded draw of one table's `rows` rows that all have `values` (`capabilities.conditions`)."""

    def sample_remaining(self, synthesizer: Synthesizer, known: pd.DataFrame, seed: int) -> pd.DataFrame:
        """A seeded draw of the columns `known` lacks, one row per row of it (`capabilities.conditions`)."""

    def save(self, synthesizer: Synthesizer, folder: Path) -> Path:
        """Writes the fitted model into `folder`; returns the file (`synthesizer<file_suffix>`)."""

    def load(self, path: str) -> Synthesizer:
        """Reads a model that `save` wrote."""
