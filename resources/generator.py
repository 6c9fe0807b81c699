"""The engine of generated sets (`generated:`): tables drawn from their declarations.

A `Generator` is the registered "model" of a generated set. It holds the set's declaration as
plain data and draws every table of the set, in declaration order, from one seed:

- `distribution` columns are `scipy.stats` quantiles of uniforms (`dist.ppf(u)`), so that a
  Gaussian copula can join them: the correlated columns' uniforms are `norm.cdf` of correlated
  normal scores, and each column keeps its declared marginal;
- `categories` are weighted draws; `faker` columns call a seeded Faker provider per row;
  `sequence` columns are keys; `formula` columns are `DataFrame.eval` of the others, computed last;
- `twin` columns take whole rows of a published twin: one row draw per table and twin, shared by
  every column naming that twin, so the twin's joint values are kept;
- conditional rules redraw a `categories` column where their `when` values match;
- rows breaking an inequality, range or fixed-combination rule are drawn again (their drawn
  columns; keys, twins and parent keys stay), formulas recomputed, up to `drawing.MAX_ROUNDS` rounds;
- a child table has, per parent row, `max(0, floor(draw))` rows from its `count` distribution.

Every draw comes from numpy Generators spawned from `np.random.SeedSequence(seed)`, one per
table, so the same seed (and the same twins) gives identical frames.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import SynthesizerError
from synthpipe.generated_config import GeneratedConfig
from synthpipe.resources.drawing import draw_table

__all__ = ["Generator", "trial_tables"]


# --- The registered model ------------------------------------------------------------------


def _restore_keys(categories: Mapping[Any, float]) -> dict[Any, float]:
    """Category keys as declared, after JSON turned `1` into `'1'` and `True` into `'True'`."""
    keys = list(categories)
    if keys and all(isinstance(k, str) and re.fullmatch(r"-?[0-9]+", k) for k in keys):
        return {int(k): w for k, w in categories.items()}
    if keys and all(k in ("True", "False") for k in keys):
        return {k == "True": w for k, w in categories.items()}
    return dict(categories)


def _restored(config: Mapping[str, Any]) -> dict[str, Any]:
    data = pickle.loads(pickle.dumps(dict(config)))  # a deep copy of plain data
    for table in data.get("tables", []):
        for spec in table.get("columns", {}).values():
            if spec.get("categories"):
                spec["categories"] = _restore_keys(spec["categories"])
        for rule in table.get("rules", []):
            if (rule.get("conditional") or {}).get("categories"):
                rule["conditional"]["categories"] = _restore_keys(rule["conditional"]["categories"])
    return data


class Generator:
    """A generated set's registered model: its declaration as plain data, and the draw.

    Args:
        config: `GeneratedConfig.model_dump(mode="json")` (plain data, so the model pickles
            without pydantic classes), or the `GeneratedConfig` itself. JSON turns category keys
            into text; keys that are all integer numerals (`'1'`, `'2'`) or all `'True'`/`'False'`
            are read back as integers or booleans. Pass the model to keep declared types exactly.

    Examples:
        >>> generator = Generator(config.model_dump(mode="json"))
        >>> tables = generator.generate(seed=7, twins={"adult": latest_adult})
    """

    FILE_SUFFIX = ".generator.pkl"  # the registry's `file_suffix` of the `generator` backend

    def __init__(self, config: Mapping[str, Any] | GeneratedConfig):
        if isinstance(config, GeneratedConfig):
            self.config: dict[str, Any] = config.model_dump(mode="python")
            self._exact = True
        else:
            self.config = dict(config)
            self._exact = False
        self.rejected: dict[str, int] = {}
        self._declaration: GeneratedConfig | None = None

    @property
    def declaration(self) -> GeneratedConfig:
        """The set's declaration as the configuration model."""
        if self._declaration is None:
            self._declaration = GeneratedConfig.model_validate(self.config if self._exact else _restored(self.config))
        return self._declaration

    def fit(self, data: Any = None) -> Generator:
        """Nothing to learn: a generated set is its declaration."""
        return self

    def generate(self, seed: int, twins: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
        """Every table of the set, in declaration order.

        Args:
            seed: The draw's seed; the same seed and twins give identical frames.
            twins: The latest published version of each twin the set draws from, by table name.

        Raises:
            SynthesizerError: a declaration cannot be drawn (a twin missing, rules broken by too
                many rows or after `drawing.MAX_ROUNDS` rounds, a formula failing).
        """
        config = self.declaration
        generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(config.tables))]
        tables: dict[str, pd.DataFrame] = {}
        rejected: dict[str, int] = {}
        for table, rng in zip(config.tables, generators):
            tables[table.name], rejected[table.name] = draw_table(config, table, rng, tables, twins or {}, enforce=True)
        self.rejected = rejected
        return tables

    def sample(self, num_rows: int | None = None, /, seed: int = 0) -> dict[str, pd.DataFrame]:
        """`generate(seed)` under the `Synthesizer` protocol's name; the declaration sets the
        rows, so `num_rows` is ignored."""
        return self.generate(seed)

    def get_parameters(self) -> dict[str, Any]:
        return dict(self.config)

    def get_metadata(self) -> None:
        return None

    def save(self, path: str) -> None:
        with open(path, "wb") as file:
            pickle.dump(self, file)

    @classmethod
    def load(cls, path: str) -> Generator:
        with open(path, "rb") as file:
            loaded = pickle.load(file)  # noqa: S301 - our own registered model file
        if not isinstance(loaded, cls):
            raise SynthesizerError(f"{path!r} holds a {type(loaded).__name__}, not a synthpipe Generator; register the generated set again.")
        return loaded

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "rejected": self.rejected, "_exact": self._exact}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._declaration = None


def trial_tables(config: GeneratedConfig, rows: int = 2000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A draw for validation: rules not enforced, twin columns missing (NaN), and so are the
    formulas that read them (directly or through another formula). A table without a
    parent has `rows` rows whatever its `num_rows` (so shares measured on it are stable); a
    child's rows follow its parent's counts, capped at `rows`.

    Raises:
        SynthesizerError: a declaration cannot be drawn (a formula failing, invalid parameters).
    """
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(config.tables))]
    tables: dict[str, pd.DataFrame] = {}
    for table, rng in zip(config.tables, generators):
        tables[table.name], _ = draw_table(config, table, rng, tables, None, enforce=False, cap=rows)
    return tables

