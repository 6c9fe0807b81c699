"""Synthesizer backends behind one small interface, and the MLflow pyfunc that samples rows.

The registry maps a configuration name to a synthesizer class: SDV's, and TabularARGN
(`resources.argn`, an optional extra) behind the same calls. Backends are imported only when a
synthesizer is built, so loading Dagster definitions stays fast.
"""

from __future__ import annotations

import inspect
import itertools
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.types as pat

from pipelines.errors import SynthesizerError, UnsupportedColumnError, closest
from resources.id_formats import learn_id_regex, number_in_shape
from resources.protection import DEFAULT_MIN_COUNT, ProtectionReport, protect_rare_values

__all__ = [
    "SYNTHESIZER_NAMES",
    "available_synthesizers",
    "add_rules",
    "build_synthesizer",
    "cap_time_budget",
    "check_modelable",
    "detect_metadata",
    "modelled_sdtype",
    "undo_personal_guesses",
    "fit_synthesizer",
    "global_seed",
    "is_relational",
    "is_sequential",
    "chunk_plan",
    "load_synthesizer",
    "protection_report",
    "sample_chunks",
    "sample_rows",
    "sample_sequences",
    "seed_synthesizer",
    "set_pii",
    "synthesizer_class",
]

# name in configuration -> (module, class) of the SDV single-table synthesizer
PROTECTION_ATTRIBUTE = "synthpipe_protection"

_REGISTRY: dict[str, tuple[str, str]] = {
    "gaussian_copula": ("sdv.single_table", "GaussianCopulaSynthesizer"),
    "ctgan": ("sdv.single_table", "CTGANSynthesizer"),
    "tvae": ("sdv.single_table", "TVAESynthesizer"),
    "copula_gan": ("sdv.single_table", "CopulaGANSynthesizer"),
    "argn": ("resources.argn", "ArgnSynthesizer"),  # TabularARGN; needs the `argn` extra
    "par": ("sdv.sequential", "PARSynthesizer"),
    "hma": ("sdv.multi_table", "HMASynthesizer"),
}
# Names a single (or sequential) table may use; `hma` is for relational groups.
SYNTHESIZER_NAMES: tuple[str, ...] = tuple(name for name in _REGISTRY if name != "hma")


def synthesizer_class(name: str) -> type:
    """The SDV class registered under `name`."""
    if name not in _REGISTRY:
        raise SynthesizerError(
            f"Unknown synthesizer {name!r}; choose one of {', '.join(_REGISTRY)}.{closest(name, _REGISTRY)}"
        )
    import importlib

    if name == "argn":
        from resources.argn import engine_available, require_engine

        if not engine_available():
            require_engine("Synthesizer 'argn'")
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


def available_synthesizers() -> tuple[str, ...]:
    """The single-table names whose backend is installed (TabularARGN is an optional extra)."""
    from resources.argn import engine_available

    return tuple(name for name in SYNTHESIZER_NAMES if name != "argn" or engine_available())


def cap_time_budget(name: str, params: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """`params` with the backend's own training-time budget (if it has one) cut to `seconds`,
    so a candidate of `auto` cannot run past what is left of the budget.
    """
    param = getattr(synthesizer_class(name), "TIME_BUDGET_PARAM", None)
    if param is None:
        return dict(params)
    default = inspect.signature(synthesizer_class(name).__init__).parameters[param].default
    minutes = max(seconds, 1.0) / 60
    return {**params, param: min(float(params.get(param, default)), minutes)}


def load_synthesizer(path: str) -> Any:
    """Loads a synthesizer saved by its backend's `save` (the file name tells which backend)."""
    from resources.argn import ArgnSynthesizer

    if path.endswith(ArgnSynthesizer.FILE_SUFFIX):
        from resources.argn import require_engine

        require_engine(f"Loading the TabularARGN model {path}")
        return ArgnSynthesizer.load(path)
    from sdv.utils import load_synthesizer as load_sdv

    return load_sdv(path)


def _unsupported_reason(dtype: pa.DataType) -> str | None:
    """None for a type synthpipe models (`resources.types` maps it to Delta), else its name.
    Extension types (DuckDB's and Parquet's UUID) are refused whatever their storage type; of
    the temporal types only dates and timestamps are modelled (times, durations and intervals
    are refused)."""
    if isinstance(dtype, pa.ExtensionType):
        return str(dtype)
    supported = (
        pat.is_integer(dtype)
        or pat.is_floating(dtype)
        or pat.is_boolean(dtype)
        or pat.is_string(dtype)
        or pat.is_large_string(dtype)
        or pat.is_string_view(dtype)
        or pat.is_decimal(dtype)
        or pat.is_date(dtype)
        or pat.is_timestamp(dtype)
        or (pat.is_dictionary(dtype) and _unsupported_reason(dtype.value_type) is None)
        or pat.is_null(dtype)
    )
    return None if supported else str(dtype)


def check_modelable(table: str, schema: pa.Schema) -> None:
    """Raises `UnsupportedColumnError` naming every column whose type no synthesizer can model."""
    bad = [(field.name, reason) for field in schema if (reason := _unsupported_reason(field.type))]
    if bad:
        listed = ", ".join(f"{name!r} ({reason})" for name, reason in bad)
        names = ", ".join(repr(name) for name, _ in bad)
        raise UnsupportedColumnError(
            f"Table {table!r} has columns no synthesizer can model: {listed}. Supported: numbers, booleans, "
            f"text, dates and timestamps. Leave them out with `exclude_columns: [{names}]`, or convert them "
            "in the source (a view that casts them to text or numbers)."
        )


def detect_metadata(
    table: str,
    data: pd.DataFrame,
    overrides: Mapping[str, Mapping[str, Any]],
    sequence: tuple[str, str] | None = None,
    pii: Mapping[str, str] | None = None,
    guessed: list[str] | None = None,
) -> Any:
    """Detects SDV metadata for one table, applies the per-column overrides and, for a
    sequential table, sets the (entity key, order column) pair as sequence key and index.
    Columns SDV guessed personal from their names are learned as their real type instead
    (`undo_personal_guesses`) and appended to `guessed` when it is given.
    """
    from sdv.metadata import Metadata

    unknown = sorted(set(overrides) - set(data.columns))
    if unknown:
        hints = "".join(closest(column, data.columns) for column in unknown)
        raise SynthesizerError(
            f"Table {table!r}: `columns` overrides name columns that are not in the source: {unknown}.{hints} "
            f"Columns: {', '.join(data.columns)}."
        )
    metadata = Metadata.detect_from_dataframes({table: data})
    undone = undo_personal_guesses(metadata, table, data, keep=set(overrides) | set(pii or {}))
    if guessed is not None:
        guessed.extend(undone)
    for column, override in overrides.items():
        values = dict(override)
        sdtype = values.pop("sdtype")
        if sdtype != "id" and metadata.tables[table].primary_key == column:  # declared not to be a key
            metadata.remove_primary_key(table)
        try:
            metadata.update_column(column_name=column, sdtype=sdtype, table_name=table, **values)
        except Exception as error:  # SDV raises several types for bad column metadata
            raise SynthesizerError(f"Table {table!r}, column {column!r}: override {dict(override)} rejected by SDV: {error}") from None
    _set_id_formats(metadata, table, data, set(overrides))
    for column, kind in (pii or {}).items():
        set_pii(metadata, table, data, column, kind)
    if sequence is not None:
        _set_sequence(metadata, table, data, *sequence)
    metadata.validate()
    return metadata


MODELLED_SDTYPES = ("numerical", "categorical", "boolean", "datetime", "id")


def modelled_sdtype(values: pd.Series) -> str:
    """The sdtype a column is learned as from its pandas type alone (never from its name)."""
    from expectations.profile import column_family

    family = column_family(values)
    return {"integer": "numerical", "float": "numerical", "string": "categorical"}.get(family, family)


def undo_personal_guesses(metadata: Any, table: str, data: pd.DataFrame, keep: set[str]) -> list[str]:
    """SDV guesses personal columns from their names (`city`, `state`, `first name`) and would
    replace their values with Faker's. synthpipe replaces only what `pii` declares: every
    guessed column not in `keep` is learned as its real type instead. Returns the guessed
    columns, which the source step reports as looking personal.
    """
    guessed = []
    for column, spec in list(metadata.tables[table].columns.items()):
        if column in keep or spec.get("sdtype") in MODELLED_SDTYPES:
            continue
        guessed.append(column)
        if metadata.tables[table].primary_key == column:  # a key must be an ID or personal: not any more
            metadata.remove_primary_key(table)
        metadata.update_column(column_name=column, sdtype=modelled_sdtype(data[column]), table_name=table)
    return guessed


def _set_id_formats(metadata: Any, table: str, data: pd.DataFrame, overridden: set[str]) -> None:
    """Gives every detected ID column a regex format of its own shape. Without one, SDV makes a
    primary key's values with Faker, one row at a time: half the sampling time of a table with
    an ID measured here. Integers keep their digit count (no leading zero); strings their
    positional shape (`resources.id_formats`: `17-293535` gives `[0-9]{2}-[0-9]{6}`), or their
    length when the values share no shape.
    """
    columns = metadata.tables[table].columns
    for column, spec in columns.items():
        if spec.get("sdtype") != "id" or "regex_format" in spec:
            continue
        values = data[column].dropna()
        if pd.api.types.is_integer_dtype(values):
            digits = max(len(str(int(values.abs().max()))) if len(values) else 1, 1)
            # room for more IDs than the source has, within the column's integer type
            widest = len(str(np.iinfo(getattr(values.dtype, "numpy_dtype", values.dtype)).max)) - 1
            digits = min(max(digits + 1, 6), 18, widest)
            regex = f"[1-9][0-9]{{{digits - 1}}}"
        elif pd.api.types.is_string_dtype(values) or values.dtype == object:
            length = int(values.astype(str).str.len().max()) if len(values) else 8
            regex = learn_id_regex(values) or f"[A-Z0-9]{{{min(max(length, 1), 40)}}}"
        else:
            continue
        metadata.update_column(column_name=column, table_name=table, sdtype="id", regex_format=regex)


def set_pii(metadata: Any, table: str, data: pd.DataFrame, column: str, kind: str) -> None:
    """Marks a column personal: SDV generates it fresh with Faker and never learns its values."""
    if column not in data.columns:
        raise SynthesizerError(
            f"Table {table!r}: `pii` names column {column!r}, which the source does not have.{closest(column, data.columns)}"
        )
    try:
        metadata.update_column(column_name=column, sdtype=kind, pii=True, table_name=table)
    except Exception as error:  # SDV raises several types for an unknown sdtype
        raise SynthesizerError(
            f"Table {table!r}, column {column!r}: `pii` kind {kind!r} was rejected by SDV ({error}). Use a Faker "
            "provider such as name, email, phone_number, address, company or ssn."
        ) from None


def _set_sequence(metadata: Any, table: str, data: pd.DataFrame, entity_key: str, order_by: str) -> None:
    missing = [c for c in (entity_key, order_by) if c not in data.columns]
    if missing:
        raise SynthesizerError(
            f"Table {table!r}: `sequence` names columns the source does not have: {missing}. Columns: {', '.join(data.columns)}."
        )
    if metadata.tables[table].primary_key == entity_key:
        metadata.remove_primary_key(table)
    metadata.update_column(column_name=entity_key, sdtype="id", table_name=table)
    metadata.set_sequence_key(column_name=entity_key, table_name=table)
    metadata.set_sequence_index(column_name=order_by, table_name=table)


def build_synthesizer(
    name: str,
    params: Mapping[str, Any],
    metadata: Any,
    table: str,
    context_columns: Sequence[str] = (),
    constraints: Sequence[Any] = (),
) -> Any:
    """Instantiates the named synthesizer; a wrong parameter names the valid ones. `constraints`
    are business rules (`expectations.suites.Rule`) it must obey, added as SDV constraints."""
    cls = synthesizer_class(name)
    if context_columns:
        params = {**params, "context_columns": list(context_columns)}
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "metadata")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        hints = "".join(closest(p, accepted) for p in unknown)
        raise SynthesizerError(
            f"Table {table!r}: `synthesizer_params` {unknown} are not parameters of {name!r}.{hints} "
            f"Valid parameters: {', '.join(accepted)}."
        )
    try:
        with warnings.catch_warnings():
            # SDV recommends saving metadata to JSON; synthpipe logs it to MLflow with every model.
            warnings.filterwarnings("ignore", message=".*save_to_json.*")
            synthesizer = cls(metadata, **params)
    except (TypeError, ValueError) as error:
        raise SynthesizerError(f"Table {table!r}: synthesizer {name!r} rejected `synthesizer_params` {dict(params)}: {error}") from None
    add_rules(synthesizer, constraints, f"Table {table!r}", name)
    return synthesizer


def add_rules(synthesizer: Any, rules: Sequence[Any], label: str, name: str, table_name: str | None = None) -> None:
    """Makes `synthesizer` obey business rules (`expectations.suites.Rule`): as SDV constraints
    (`table_name` for a table of a multi-table model), or, for TabularARGN, which takes none, by
    drawing again the rows that break one. `label` names the table in errors."""
    if rules and hasattr(synthesizer, "add_rules"):
        synthesizer.add_rules(list(rules))
        return
    for rule in rules:
        try:
            synthesizer.add_constraints([rule.sdv_constraint(table_name)])
        except Exception as error:  # SDV's ConstraintNotMetError and metadata errors
            raise SynthesizerError(
                f"{label}: the rule {rule.describe()!r} ({rule.where}) cannot be enforced by {name!r}: {error}. "
                "Check the rule's columns and their sdtypes, or set `enforce: false` on it."
            ) from None


def fit_synthesizer(
    synthesizer: Any,
    table: str,
    data: pd.DataFrame,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    min_value_count: int = DEFAULT_MIN_COUNT,
    seed: int = 0,
    rules: Sequence[Any] = (),
) -> float:
    """Fits in place on `data` with its rare values protected (`resources.protection`: no
    backend learns a value seen in fewer than `min_value_count` rows); returns the seconds it
    took. Backends that report training progress (TabularARGN: epoch, losses, time left in its
    budget) pass each report to `on_progress`. What was protected is in `protection_report`;
    `rules` (the business rules the model must obey) are protected jointly.
    """
    started = time.perf_counter()
    if hasattr(synthesizer, "on_progress"):
        synthesizer.on_progress = on_progress
    columns = synthesizer.get_metadata().tables[table].columns
    data, report = protect_rare_values(data, {c: spec.get("sdtype", "") for c, spec in columns.items()}, min_value_count, seed, rules)
    setattr(synthesizer, PROTECTION_ATTRIBUTE, report)  # small; travels with the saved model
    try:
        synthesizer.fit({table: data})
    except SynthesizerError:
        raise
    except Exception as error:
        raise SynthesizerError(
            f"Table {table!r}: fitting {type(synthesizer).__name__} on {len(data)} rows failed: {error}. "
            "Check the column overrides in `columns`, or exclude the column named above."
        ) from error
    finally:
        if hasattr(synthesizer, "on_progress"):
            synthesizer.on_progress = None
    return time.perf_counter() - started


@contextmanager
def global_seed(seed: int) -> Iterator[None]:
    """Seeds numpy's and torch's global generators for the duration (PAR and HMA draw from them),
    then restores them so that nothing else in the process is affected.
    """
    import numpy as np

    numpy_state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch comes with SDV
        torch = None
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        if torch is not None:
            torch.random.set_rng_state(torch_state)


def seed_synthesizer(synthesizer: Any, seed: int) -> None:
    """Puts a fitted synthesizer in a reproducible sampling state for `seed`.

    SDV has no public seeded-sampling call: `reset_sampling` (public) returns it to its post-fit
    state, then the random states SDV keeps are set from `seed`: the model's own (single-table),
    the context model's (PAR) and each table's (multi-table). Tests pin this against SDV upgrades.
    """
    if hasattr(synthesizer, "reset_sampling"):  # PAR has none: its own draws use the global seed
        synthesizer.reset_sampling()
    if hasattr(synthesizer, "_set_random_state"):
        synthesizer._set_random_state(seed)
    context = getattr(synthesizer, "_context_synthesizer", None)
    if context is not None:
        context.reset_sampling()
        context._set_random_state(seed)
    tables = getattr(synthesizer, "_table_synthesizers", None)
    if tables is not None:
        synthesizer._numpy_seed = seed % 2**32
        for offset, name in enumerate(sorted(tables)):
            tables[name]._set_random_state(seed + offset)


def chunk_plan(num_rows: int, seed: int, chunk_rows: int) -> list[tuple[int, int, int]]:
    """(rows, seed, first row) of every chunk. Each chunk has its own seed, drawn from numpy's
    `SeedSequence(seed)`, so chunks are independent streams (no chunk repeats another) and the
    rows depend on (model, seed, chunk_rows) only, never on how many workers sampled them.
    """
    import numpy as np

    sizes = [min(chunk_rows, num_rows - start) for start in range(0, num_rows, chunk_rows)]
    seeds = np.random.SeedSequence(seed).generate_state(len(sizes), dtype=np.uint32) if sizes else []
    return [(size, int(chunk_seed) % (2**31 - 1), i * chunk_rows) for i, (size, chunk_seed) in enumerate(zip(sizes, seeds))]


def uses_torch(synthesizer: Any) -> bool:
    """CTGAN, TVAE, CopulaGAN, PAR and TabularARGN sample through torch, which is not safe to fork."""
    torch_models = {"CTGANSynthesizer", "TVAESynthesizer", "CopulaGANSynthesizer", "PARSynthesizer", "ArgnSynthesizer"}
    return type(synthesizer).__name__ in torch_models


_FORKED: dict[str, Any] = {}  # the synthesizer a forked sampling worker inherits


def protection_report(synthesizer: Any) -> ProtectionReport | None:
    """What `fit_synthesizer` replaced or clipped before fitting `synthesizer`."""
    return getattr(synthesizer, PROTECTION_ATTRIBUTE, None)


_INTEGER_ID = re.compile(r"^\[1-9\]\[0-9\]\{(\d+)\}$")
_STRING_ID = re.compile(r"^\[A-Z0-9\]\{(\d+)\}$")


def _sample_chunk(synthesizer: Any, rows: int, seed: int, start: int) -> pd.DataFrame:
    seed_synthesizer(synthesizer, seed)
    table = next(iter(synthesizer.get_metadata().tables))
    with global_seed(seed):
        chunk = synthesizer.sample(rows)[table].reset_index(drop=True)
    return _number_ids(chunk, synthesizer.get_metadata().tables[table].columns, start)


def _number_ids(chunk: pd.DataFrame, columns: Mapping[str, Any], start: int) -> pd.DataFrame:
    """SDV restarts its ID sequence in every chunk; the ID columns synthpipe gave a format are
    numbered by global row instead (within the same format), so no ID repeats across chunks.
    """
    import numpy as np

    numbers = np.arange(start, start + len(chunk), dtype=np.int64)
    for column, spec in columns.items():
        regex = spec.get("regex_format", "") if spec.get("sdtype") == "id" else ""
        if match := _INTEGER_ID.match(regex):
            chunk[column] = (10 ** int(match.group(1)) + numbers).astype(chunk[column].dtype)
        elif match := _STRING_ID.match(regex):
            chunk[column] = pd.Series(numbers).astype(str).str.zfill(int(match.group(1))).to_numpy()
        elif regex and (shaped := number_in_shape(regex, numbers)) is not None:
            chunk[column] = shaped
    return chunk


def _default_signals() -> None:
    """A forked worker inherits the orchestrator's signal handlers (Dagster turns SIGTERM into a
    run interruption): a worker must die on SIGTERM, or shutting the pool down waits forever.
    """
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _sample_forked(plan_entry: tuple[int, int, int]) -> pd.DataFrame:
    return _sample_chunk(_FORKED["synthesizer"], *plan_entry)


def sample_chunks(
    synthesizer: Any,
    num_rows: int,
    seed: int,
    chunk_rows: int = 50_000,
    workers: int = 1,
) -> Iterator[pd.DataFrame]:
    """Yields the chunks of `num_rows` sampled rows in order, `workers` processes sampling at
    once (forked, so the fitted model is shared, not copied through a pipe). Models that sample
    through torch run in this process: torch's thread pool does not survive a fork.
    """
    plan = chunk_plan(num_rows, seed, chunk_rows)
    if workers <= 1 or len(plan) <= 1 or uses_torch(synthesizer):
        for entry in plan:
            yield _sample_chunk(synthesizer, *entry)
        return
    import multiprocessing
    from collections import deque

    _FORKED["synthesizer"] = synthesizer
    pool = multiprocessing.get_context("fork").Pool(min(workers, len(plan)), initializer=_default_signals)
    try:
        # At most two chunks per worker in flight: a slower consumer (writing, hashing) would
        # otherwise let every finished chunk pile up in memory.
        ahead = iter(plan)
        pending = deque(pool.apply_async(_sample_forked, (entry,)) for entry in itertools.islice(ahead, 2 * workers))
        while pending:
            chunk = pending.popleft().get()
            following = next(ahead, None)
            if following is not None:
                pending.append(pool.apply_async(_sample_forked, (following,)))
            yield chunk
        pool.close()  # workers leave on their own once the queue is drained
    finally:
        pool.terminate()
        pool.join()
        _FORKED.clear()


def sample_rows(
    synthesizer: Any,
    num_rows: int,
    seed: int,
    chunk_rows: int = 50_000,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Samples `num_rows` rows reproducibly, in memory: the same model, seed and `chunk_rows`
    give the same rows (see `chunk_plan`). Large tables stream with `sample_chunks` instead.
    """
    chunks = []
    done = 0
    for chunk in sample_chunks(synthesizer, num_rows, seed, chunk_rows, workers):
        chunks.append(chunk)
        done += len(chunk)
        if on_progress:
            on_progress(done, num_rows)
    return pd.concat(chunks, ignore_index=True)


def sample_sequences(synthesizer: Any, num_sequences: int, seed: int) -> pd.DataFrame:
    """Samples `num_sequences` whole sequences (PAR) reproducibly."""
    seed_synthesizer(synthesizer, seed)
    table = next(iter(synthesizer.get_metadata().tables))
    with global_seed(seed):
        return synthesizer.sample_sequences(num_sequences)[table].reset_index(drop=True)


def is_sequential(synthesizer: Any) -> bool:
    return hasattr(synthesizer, "sample_sequences")


def is_relational(synthesizer: Any) -> bool:
    return hasattr(synthesizer, "sample_scale")
