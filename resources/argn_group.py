"""TabularARGN for related tables: one engine model per table, chained parent first.

The engine models a table against one context table (its parent); it has no multi-table
orchestration of its own, so synthpipe chains the models. A table without a parent (a root) is a
flat model. A child is a sequential model whose context is its parent's row: the children of
one parent are one sequence, so how many children a parent has is learned with what they are
like. Each child has one such *context* key (`context: true` on its foreign key, else its first
declared one); a further key to another parent is a *reference*: it is drawn among that parent's
synthetic rows so that the number of children per parent follows the real distribution.

Sampling runs parents first: roots at `scale` times their training rows, then each child against
its parent's synthetic rows. Primary keys are numbered anew (in the source key's shape) and every
foreign key points at a synthetic parent, so the set keeps referential integrity at any depth
and any number of tables.

The children of held-out parents (`hold_out_contexts`) are left out of the child's model with
those parents, so the learned children-per-parent counts are the real ones, not thinned by
the holdout.
"""

from __future__ import annotations

import inspect
import random
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import SynthesizerError
from synthpipe.resources.argn import ArgnModel, ArgnSynthesizer
from synthpipe.resources.argn_engine import DEFAULT_TRAINING_MINUTES, cast_like, require_engine, with_parameter
from synthpipe.resources.argn_workspace import engine_seed, load_pickled, save_pickled
from synthpipe.resources.id_formats import number_in_shape

__all__ = ["MIN_CONTEXT_PARENTS", "ArgnGroupSynthesizer"]

# Fewer context parents than this, and a child is fitted flat with its children counts drawn
# from the real ones: the engine's value protection learns sequence lengths only from 20 up.
MIN_CONTEXT_PARENTS = 20


def _single_table(metadata: Any, table: str) -> Any:
    from sdv.metadata import Metadata

    return Metadata.load_from_dict({"tables": {table: metadata.to_dict()["tables"][table]}, "relationships": []})


class _ChildModel(ArgnModel):
    """One child table as sequences of rows against its parent's rows (the engine's context)."""

    def fit_against(self, rows: pd.DataFrame, parents: pd.DataFrame, context_key: str, parent_key: str, parent_columns: list[str],
                    parent_encodings: dict[str, str], started: float) -> None:
        engine = require_engine(f"Table {self.table!r}: synthesizer 'argn' for related tables")
        self._dtypes = {column: str(dtype) for column, dtype in rows.dtypes.items()}
        modelled = self._modelled_columns(rows)
        self._context_key, self._parent_key, self._parent_columns = context_key, parent_key, list(parent_columns)
        self._has_model = bool(modelled)
        if not modelled:  # only keys and `pii`: the engine still learns how many rows each parent has
            rows = rows.assign(**{"__rows": 0})
            modelled, encodings = ["__rows"], {"__rows": "TABULAR_CATEGORICAL"}
        else:
            encodings = self._encoding_types(modelled)
        with engine_seed(self._parameters["random_state"]):
            self._model_files = self._train(
                engine,
                rows[[context_key, *modelled]].reset_index(drop=True),
                encodings,
                started,
                ctx_data=parents[[parent_key, *parent_columns]].reset_index(drop=True),
                ctx_encoding_types={c: parent_encodings[c] for c in parent_columns if c in parent_encodings},
                tgt_context_key=context_key,
                ctx_primary_key=parent_key,
            )
        self._drop_workspace()

    def generate_against(self, parents: pd.DataFrame, seed: int) -> pd.DataFrame:
        """The children of `parents` (their key and modelled columns, keys numbered), with the
        context key set to their parent's number; other ID columns are left to the caller."""
        engine = require_engine(f"Table {self.table!r}: sampling its 'argn' model")
        from mostlyai.engine._common import load_generated_data

        folder = self._workspace_dir()
        with engine_seed(seed):
            engine.generate(
                ctx_data=parents[[self._parent_key, *self._parent_columns]].reset_index(drop=True),
                sample_size=len(parents),
                workspace_dir=folder,
                **self._generation_options(),
            )
            rows = load_generated_data(folder).reset_index(drop=True)
        parent_numbers = rows[self._context_key].astype(np.int64).to_numpy()
        rows = rows.drop(columns=["__rows"], errors="ignore")
        for column in self._dtypes:
            if column not in rows:
                rows[column] = pd.Series([None] * len(rows), dtype=object)
        restored = self._restore_columns(rows, seed)  # numbers IDs row by row, fills `pii`, casts
        restored[self._context_key] = parent_numbers
        return restored.sort_values(self._context_key, kind="stable").reset_index(drop=True)


class ArgnGroupSynthesizer:
    """TabularARGN over a group of related tables (SDV multi-table metadata, as HMA takes it).

    Args:
        metadata: SDV multi-table metadata with primary keys and relationships.
        context_keys: For each child table, the foreign key column of its context parent;
            default its first relationship.
        model, max_training_time, ...: As `ArgnSynthesizer`, for each table's model, except that
            `max_training_time` is the group's: each table gets a share in proportion to its rows.
    """

    FILE_SUFFIX = ".argn-group.pkl"
    TIME_BUDGET_PARAM = "max_training_time"

    def __init__(self, metadata: Any, context_keys: Mapping[str, str] | None = None, **params: Any) -> None:
        self._metadata = metadata
        self._parameters = dict(params)
        relationships = list(metadata.relationships)
        self._relations: dict[str, list[dict[str, str]]] = {}
        for relation in relationships:
            if relation["parent_table_name"] == relation["child_table_name"]:
                raise SynthesizerError(
                    f"Table {relation['child_table_name']!r}: {relation['child_foreign_key']!r} points at its own table; TabularARGN "
                    "models no self-references. Leave that key out of `foreign_keys` and the column out of the group (`exclude_columns`)."
                )
            self._relations.setdefault(relation["child_table_name"], []).append(relation)
        context_keys = dict(context_keys or {})
        self._contexts: dict[str, dict[str, str]] = {}
        for child, relations in self._relations.items():
            wanted = context_keys.get(child, relations[0]["child_foreign_key"])
            chosen = [r for r in relations if r["child_foreign_key"] == wanted]
            if not chosen:
                keys = ", ".join(r["child_foreign_key"] for r in relations)
                raise SynthesizerError(f"Table {child!r}: context key {wanted!r} is not one of its foreign keys ({keys}).")
            self._contexts[child] = chosen[0]
        self.context_keys = {child: relation["child_foreign_key"] for child, relation in self._contexts.items()}
        self._order = self._parents_first(list(metadata.tables))
        self._models: dict[str, ArgnModel] = {}
        for table in self._order:
            single = _single_table(metadata, table)
            self._models[table] = (_ChildModel if table in self._contexts else ArgnSynthesizer)(single, **params)  # checks params
        self._held_out: dict[str, set[Any]] = {}
        self._rows: dict[str, int] = {}
        self._reference_counts: dict[tuple[str, str], np.ndarray] = {}
        self._key_dtypes: dict[str, dict[str, str]] = {}
        self._learned: dict[str, bool] = {}
        self._flat_children: dict[str, np.ndarray] = {}  # child -> real children per parent, for children fitted flat
        self._sample_seed: int | None = None
        self.training_report: dict[str, Any] = {}

    # `synthesizer_params` are checked against the constructor's signature: ArgnModel's parameters
    __init__.__signature__ = with_parameter(inspect.signature(ArgnModel.__init__), "context_keys", None, "Mapping[str, str] | None")  # type: ignore[attr-defined]

    def _parents_first(self, tables: list[str]) -> list[str]:
        order: list[str] = []
        visiting: set[str] = set()

        def visit(table: str) -> None:
            if table in order:
                return
            if table in visiting:
                raise SynthesizerError(f"Tables {sorted(visiting)}: their foreign keys form a cycle; TabularARGN needs parents before children.")
            visiting.add(table)
            for relation in self._relations.get(table, []):
                visit(relation["parent_table_name"])
            visiting.discard(table)
            order.append(table)

        for table in tables:
            visit(table)
        return order

    # --- the interface synthpipe uses --------------------------------------------------------

    def get_metadata(self) -> Any:
        return self._metadata

    def get_parameters(self) -> dict[str, Any]:
        return {**self._parameters, "context_keys": dict(self.context_keys)}

    def hold_out_contexts(self, held_out: Mapping[str, set[Any]]) -> None:
        """Parent keys whose children were held out, per child table: those parents are left out
        of the child's model, so it learns real children-per-parent counts."""
        self._held_out = {table: set(keys) for table, keys in held_out.items()}

    def _primary_key(self, table: str) -> str | None:
        key = self._metadata.tables[table].primary_key
        return key if isinstance(key, str) else None

    def fit(self, data: Mapping[str, pd.DataFrame]) -> None:
        """Trains every table's model, parents first."""
        started = time.perf_counter()
        # as one table's: ten minutes unless epochs were asked for and no time budget
        budget = self._parameters.get("max_training_time", None if "max_epochs" in self._parameters else DEFAULT_TRAINING_MINUTES)
        total_rows = sum(len(data[table]) for table in self._order) or 1
        for table in self._order:
            frame, model = data[table], self._models[table]
            if budget is not None:  # the group's budget, shared in proportion to rows
                model._parameters["max_training_time"] = max(float(budget) * len(frame) / total_rows, 0.05)
            self._rows[table] = len(frame)
            self._key_dtypes[table] = {c: str(frame[c].dtype) for c in frame.columns}
            if table not in self._contexts:
                self._learned[table] = bool(model._modelled_columns(frame))
                if self._learned[table]:
                    model.fit({table: frame})
                else:
                    model._dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
                continue
            relation = self._contexts[table]
            parent, parent_key, context_key = relation["parent_table_name"], relation["parent_primary_key"], relation["child_foreign_key"]
            parents = data[parent]
            held = self._held_out.get(table, set())
            if held:
                parents = self._without_held_out(parents, parent_key, held, set(frame[context_key].dropna()))
            rows = frame[frame[context_key].isin(set(parents[parent_key]))]  # an empty or held-out context key has no parent to learn from
            if len(parents) < MIN_CONTEXT_PARENTS:
                # too few parents for the engine to learn children counts (value protection needs
                # 20 sequences): the child is a flat model, and each synthetic parent's number of
                # children is drawn from the real counts
                self._flat_children[table] = rows[context_key].value_counts().reindex(parents[parent_key].unique(), fill_value=0).to_numpy(dtype=np.int64)
                self._learned[table] = bool(model._modelled_columns(rows))
                if self._learned[table]:
                    ArgnModel.fit(model, {table: rows})
                model._dtypes = {column: str(dtype) for column, dtype in rows.dtypes.items()}
                self._add_reference_counts(table, relation, frame, data)
                continue
            parent_model = self._models[parent]
            parent_columns = parent_model._modelled_columns(parents)
            model.fit_against(rows, parents, context_key, parent_key, parent_columns, parent_model._encoding_types(parent_columns), started)
            self._add_reference_counts(table, relation, frame, data)
        self.training_report = {"tables": len(self._order), "elapsed_seconds": round(time.perf_counter() - started, 1)}

    def _without_held_out(self, parents: pd.DataFrame, key: str, held: set[Any], with_children: set[Any]) -> pd.DataFrame:
        """The parents a child's model learns from: not those whose children were held out, and
        the same share of the parents that have no children (seeded), so childless parents keep
        their real share."""
        having = parents[key].isin(with_children | held)
        share = len(held) / max(int(having.sum()), 1)
        childless = parents[~having]
        dropped = childless.sample(frac=min(share, 1.0), random_state=(self._parameters.get("random_state") or 0) % 2**32)
        return parents[~parents[key].isin(held) & ~parents.index.isin(dropped.index)]

    def _add_reference_counts(self, table: str, context: dict[str, str], frame: pd.DataFrame, data: Mapping[str, pd.DataFrame]) -> None:
        """The real children per parent of each reference key of `table`."""
        for reference in self._relations[table]:
            if reference is not context:
                counts = frame[reference["child_foreign_key"]].value_counts()
                every = data[reference["parent_table_name"]][reference["parent_primary_key"]]
                self._reference_counts[(table, reference["child_foreign_key"])] = counts.reindex(every.unique(), fill_value=0).to_numpy(dtype=np.int64)

    def reset_sampling(self) -> None:
        self._sample_seed = None

    def _set_random_state(self, seed: int) -> None:
        self._sample_seed = int(seed)

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        raise SynthesizerError("A group of related tables is sampled whole; use `sample_scale`.")

    def sample_scale(self, scale: float = 1.0) -> dict[str, pd.DataFrame]:
        """The whole group: roots at `scale` times their training rows, each child against its
        parent's synthetic rows, every key numbered anew and resolving."""
        seed = self._sample_seed if self._sample_seed is not None else random.SystemRandom().randrange(2**31)
        drawn: dict[str, pd.DataFrame] = {}
        for offset, table in enumerate(self._order):
            table_seed = seed + 7919 * offset
            model = self._models[table]
            if table in self._flat_children:
                relation = self._contexts[table]
                parents = drawn[relation["parent_table_name"]]
                counts = np.random.default_rng(table_seed).choice(self._flat_children[table], size=len(parents)) if len(parents) else np.zeros(0, dtype=np.int64)
                rows = self._flat_rows(table, model, int(counts.sum()), table_seed)
                rows[relation["child_foreign_key"]] = np.repeat(np.arange(len(parents), dtype=np.int64), counts)
            elif table in self._contexts:
                relation = self._contexts[table]
                parents = drawn[relation["parent_table_name"]]
                rows = model.generate_against(parents, table_seed) if len(parents) else self._empty(table)
            else:
                rows = self._flat_rows(table, model, max(1, int(round(scale * self._rows[table]))), table_seed)
            key = self._primary_key(table)
            if key is not None:
                rows[key] = np.arange(len(rows), dtype=np.int64)
            for reference in self._relations.get(table, []):
                if reference is not self._contexts[table]:
                    rows[reference["child_foreign_key"]] = self._draw_references(table, reference, len(rows), len(drawn[reference["parent_table_name"]]), table_seed)
            drawn[table] = rows
        return {table: self._with_source_keys(table, drawn[table]) for table in self._metadata.tables}

    def _flat_rows(self, table: str, model: ArgnModel, count: int, seed: int) -> pd.DataFrame:
        if count == 0:
            return self._empty(table)
        if self._learned[table]:
            model._set_random_state(seed)
            return ArgnModel.sample(model, count)[table]
        return model._restore_columns(pd.DataFrame(index=range(count)), seed)

    def _empty(self, table: str) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype=d if d != "object" else object) for c, d in self._key_dtypes[table].items()})

    def _draw_references(self, table: str, relation: dict[str, str], rows: int, parents: int, seed: int) -> np.ndarray:
        """Parent numbers for a reference key: each synthetic parent gets a number of children
        drawn from the real counts, then the children are dealt out among them."""
        real = self._reference_counts[(table, relation["child_foreign_key"])]
        rng = np.random.default_rng(seed + 1)
        if parents == 0 or rows == 0:
            return np.full(rows, -1, dtype=np.int64)
        weights = rng.choice(real, size=parents).astype(float) + 1e-9
        return rng.choice(parents, size=rows, p=weights / weights.sum())

    def _with_source_keys(self, table: str, rows: pd.DataFrame) -> pd.DataFrame:
        """Keys from numbers to the source's shape: the same number gives the same key in the
        parent's primary key and every child's foreign key."""
        rows = rows.copy()
        key = self._primary_key(table)
        if key is not None:
            rows[key] = self._key_values(table, key, rows[key].to_numpy())
        for relation in self._relations.get(table, []):
            column, parent = relation["child_foreign_key"], relation["parent_table_name"]
            rows[column] = cast_like(pd.Series(self._key_values(parent, relation["parent_primary_key"], rows[column].to_numpy())), self._key_dtypes[table][column])
        return rows[list(self._key_dtypes[table])]

    def _key_values(self, table: str, column: str, numbers: np.ndarray) -> Any:
        spec = self._metadata.tables[table].columns.get(column, {})
        dtype = self._key_dtypes[table][column]
        if dtype.startswith(("int", "uint", "float", "Int", "UInt")):
            return (numbers + 1).astype(np.int64)  # from 1, as database keys usually are
        regex = spec.get("regex_format")
        shaped = number_in_shape(regex, numbers) if regex else None
        return np.asarray(shaped if shaped is not None else [str(n) for n in numbers], dtype=object)

    # --- persistence -------------------------------------------------------------------------

    def save(self, path: str) -> None:
        save_pickled(self, path)

    @classmethod
    def load(cls, path: str) -> ArgnGroupSynthesizer:
        return load_pickled(path, ArgnGroupSynthesizer, "a TabularARGN group model")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_sample_seed": None}
