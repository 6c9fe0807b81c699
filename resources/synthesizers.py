"""Synthesizers as the stages use them: build, fit (rare values protected), seeded sampling in
chunks. The SDV metadata they are built from is `synthpipe.resources.metadata`'s (re-exported
here).

Every backend (SDV's single-table synthesizers, PAR, HMA, and TabularARGN, an optional extra) is
an entry of the one registry, `synthpipe.resources.backends`: its name, the kind of table it
serves, its declared capabilities, and how its models are seeded, sampled, saved and loaded.
Backends are imported only when a synthesizer is built, so loading Dagster definitions stays fast.
"""

from __future__ import annotations

import inspect
import itertools
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from synthpipe.contracts import Rule
from synthpipe.errors import SynthesizerError, closest
from synthpipe.resources.backends import Synthesizer, available, backend, backend_for_file, backend_of, global_seed, names
from synthpipe.resources.id_formats import number_in_shape
from synthpipe.resources.metadata import check_modelable, detect_metadata, modelled_sdtype, set_pii, undo_personal_guesses
from synthpipe.resources.protection import DEFAULT_MIN_COUNT, ProtectionReport, protect_rare_values

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
    "set_fairness",
    "global_seed",
    "is_relational",
    "is_sequential",
    "chunk_plan",
    "load_synthesizer",
    "protection_report",
    "sample_chunks",
    "sample_one_chunk",
    "sample_rows",
    "sample_sequences",
    "seed_synthesizer",
    "set_pii",
    "synthesizer_class",
]

# Where `fit_synthesizer` leaves what it protected, on the synthesizer it fitted.
PROTECTION_ATTRIBUTE = "synthpipe_protection"

# Names a single (or sequential) table may use; groups use the `group` backends (HMA).
SYNTHESIZER_NAMES: tuple[str, ...] = names("table") + names("sequence")


def synthesizer_class(name: str) -> type[Synthesizer]:
    """The model class registered under `name` (imports the backend; TabularARGN says how to
    install it when it is missing)."""
    return backend(name).synthesizer_class()


def available_synthesizers() -> tuple[str, ...]:
    """The single-table and sequence names whose backend is installed (TabularARGN is an optional extra)."""
    return available("table") + available("sequence")


def cap_time_budget(name: str, params: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """`params` with the backend's own training-time budget (if it has one) cut to `seconds`,
    so a candidate of `auto` cannot run past what is left of the budget.
    """
    param = backend(name).capabilities.time_budget
    if param is None:
        return dict(params)
    default = inspect.signature(synthesizer_class(name).__init__).parameters[param].default
    minutes = max(seconds, 1.0) / 60
    asked = params.get(param, default)
    return {**params, param: minutes if asked is None else min(float(asked), minutes)}


def load_synthesizer(path: str) -> Synthesizer:
    """Loads a synthesizer saved by its backend's `save` (the file name tells which backend)."""
    return backend_for_file(path).load(path)


def build_synthesizer(
    name: str,
    params: Mapping[str, Any],
    metadata: Any,
    table: str,
    context_columns: Sequence[str] = (),
    constraints: Sequence[Rule] = (),
) -> Synthesizer:
    """Instantiates the named synthesizer; a wrong parameter names the valid ones. `constraints`
    are business rules (`synthpipe.contracts.Rule`) it must obey (see `add_rules`)."""
    entry = backend(name)
    cls = entry.synthesizer_class()
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
            synthesizer = entry.build(metadata, params)
    except (TypeError, ValueError) as error:
        raise SynthesizerError(f"Table {table!r}: synthesizer {name!r} rejected `synthesizer_params` {dict(params)}: {error}") from None
    add_rules(synthesizer, constraints, f"Table {table!r}", name)
    return synthesizer


def add_rules(synthesizer: Synthesizer, rules: Sequence[Rule], label: str, name: str, table_name: str | None = None) -> None:
    """Makes `synthesizer` obey business rules (`synthpipe.contracts.Rule`): as SDV constraints
    (`table_name` for a table of a multi-table model), or, for a backend that takes none
    (TabularARGN), by drawing again the rows that break one. `label` names the table in errors."""
    if rules and backend_of(synthesizer).capabilities.rules_by_rejection:
        synthesizer.add_rules(list(rules))  # type: ignore[attr-defined]
        return
    for rule in rules:
        try:
            synthesizer.add_constraints([rule.sdv_constraint(table_name)])  # type: ignore[attr-defined]
        except Exception as error:  # SDV's ConstraintNotMetError and metadata errors
            raise SynthesizerError(
                f"{label}: the rule {rule.describe()!r} ({rule.where}) cannot be enforced by {name!r}: {error}. "
                "Check the rule's columns and their sdtypes, or set `enforce: false` on it."
            ) from None


def fit_synthesizer(
    synthesizer: Synthesizer,
    table: str,
    data: pd.DataFrame,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    min_value_count: int = DEFAULT_MIN_COUNT,
    seed: int = 0,
    rules: Sequence[Rule] = (),
) -> float:
    """Fits in place on `data` with its rare values protected (`synthpipe.resources.protection`: no
    backend learns a value seen in fewer than `min_value_count` rows); returns the seconds it
    took. Backends that report training progress (TabularARGN: epoch, losses, time left in its
    budget) pass each report to `on_progress`. What was protected is in `protection_report`;
    `rules` (the business rules the model must obey) are protected jointly. A model fitted with
    differential privacy is given the rows as they are: its own noisy analysis leaves rare values out.
    """
    started = time.perf_counter()
    entry = backend_of(synthesizer)
    reports = entry.capabilities.progress
    if reports:
        synthesizer.on_progress = on_progress  # type: ignore[attr-defined]
    columns = synthesizer.get_metadata().tables[table].columns
    if getattr(synthesizer, "differentially_private", False):
        # Its value ranges and categories come from noisy histograms, within the budget; exact
        # counts (what the protection reads) would leak past it.
        report = ProtectionReport({}, {})
    else:
        data, report = protect_rare_values(data, {c: spec.get("sdtype", "") for c, spec in columns.items()}, min_value_count, seed, rules)
    setattr(synthesizer, PROTECTION_ATTRIBUTE, report)  # small; travels with the saved model
    try:
        entry.fit(synthesizer, {table: data})
    except SynthesizerError:
        raise
    except Exception as error:
        raise SynthesizerError(
            f"Table {table!r}: fitting {type(synthesizer).__name__} on {len(data)} rows failed: {error}. "
            "Check the column overrides in `columns`, or exclude the column named above."
        ) from error
    finally:
        if reports:
            synthesizer.on_progress = None  # type: ignore[attr-defined]
    return time.perf_counter() - started


def seed_synthesizer(synthesizer: Synthesizer, seed: int) -> None:
    """Puts a fitted synthesizer in a reproducible sampling state for `seed`: its backend sets
    the random states SDV keeps (the model's own, PAR's context model's, each table's of a
    group); see `synthpipe.resources.backends`. Tests pin this against SDV upgrades.
    """
    backend_of(synthesizer).seed(synthesizer, seed)


def chunk_plan(num_rows: int, seed: int, chunk_rows: int) -> list[tuple[int, int, int]]:
    """(rows, seed, first row) of every chunk. Each chunk has its own seed, drawn from numpy's
    `SeedSequence(seed)`, so chunks are independent streams (no chunk repeats another) and the
    rows depend on (model, seed, chunk_rows) only, never on how many workers sampled them.
    """
    import numpy as np

    sizes = [min(chunk_rows, num_rows - start) for start in range(0, num_rows, chunk_rows)]
    seeds = np.random.SeedSequence(seed).generate_state(len(sizes), dtype=np.uint32) if sizes else []
    return [(size, int(chunk_seed) % (2**31 - 1), i * chunk_rows) for i, (size, chunk_seed) in enumerate(zip(sizes, seeds))]


def set_fairness(synthesizer: Synthesizer, target: str | None, sensitive: str | None = None) -> None:
    """Makes the model's plain draws keep `target`'s rate equal across `sensitive`'s groups, by
    the backend's own fairness mode (`capabilities.fairness`); `target` None turns it off."""
    entry = backend_of(synthesizer)
    if not entry.capabilities.fairness:
        raise SynthesizerError(f"{entry.label} has no fairness mode of its own; use `fairness.method: conditions`.")
    synthesizer.set_fairness(target, [sensitive] if sensitive else [])  # type: ignore[attr-defined]


def uses_torch(synthesizer: Synthesizer) -> bool:
    """Whether it samples through torch (CTGAN, TVAE, CopulaGAN, PAR, TabularARGN), which is not safe to fork."""
    return backend_of(synthesizer).capabilities.torch


_FORKED: dict[str, Synthesizer] = {}  # the synthesizer a forked sampling worker inherits


def protection_report(synthesizer: Synthesizer) -> ProtectionReport | None:
    """What `fit_synthesizer` replaced or clipped before fitting `synthesizer`."""
    return getattr(synthesizer, PROTECTION_ATTRIBUTE, None)


_INTEGER_ID = re.compile(r"^\[1-9\]\[0-9\]\{(\d+)\}$")
_STRING_ID = re.compile(r"^\[A-Z0-9\]\{(\d+)\}$")


def sample_one_chunk(synthesizer: Synthesizer, rows: int, seed: int, start: int) -> pd.DataFrame:
    """One chunk of a plain draw: `rows` rows with the chunk's own `seed`, IDs numbered from global row `start`."""
    table = next(iter(synthesizer.get_metadata().tables))
    chunk = backend_of(synthesizer).sample(synthesizer, rows, seed)[table].reset_index(drop=True)
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
    return sample_one_chunk(_FORKED["synthesizer"], *plan_entry)


def sample_chunks(
    synthesizer: Synthesizer,
    num_rows: int,
    seed: int,
    chunk_rows: int = 50_000,
    workers: int = 1,
    conditions: Sequence[tuple[Mapping[str, Any], int]] = (),
) -> Iterator[pd.DataFrame]:
    """Yields the chunks of `num_rows` sampled rows in order, `workers` processes sampling at
    once (forked, so the fitted model is shared, not copied through a pipe). Models that sample
    through torch run in this process: torch's thread pool does not survive a fork. With
    `conditions` (`(values, rows)` pairs) their rows are sampled instead, in this process.
    """
    if conditions:
        yield from _conditioned_chunks(synthesizer, conditions, seed, chunk_rows)
        return
    plan = chunk_plan(num_rows, seed, chunk_rows)
    if workers <= 1 or len(plan) <= 1 or uses_torch(synthesizer):
        for entry in plan:
            yield sample_one_chunk(synthesizer, *entry)
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


def _conditioned_chunks(
    synthesizer: Synthesizer, conditions: Sequence[tuple[Mapping[str, Any], int]], seed: int, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Each condition's rows, in order, chunk by chunk in this process; each condition has a
    chunk plan of its own, seeded from `seed` and its place, and IDs are numbered by global row."""
    table = next(iter(synthesizer.get_metadata().tables))
    columns = synthesizer.get_metadata().tables[table].columns
    entry, start = backend_of(synthesizer), 0
    for index, (values, rows) in enumerate(conditions):
        for size, chunk_seed, _ in chunk_plan(int(rows), seed + index, chunk_rows):
            chunk = entry.sample_conditioned(synthesizer, values, size, chunk_seed).reset_index(drop=True)
            yield _number_ids(chunk, columns, start)
            start += len(chunk)


def sample_rows(
    synthesizer: Synthesizer,
    num_rows: int,
    seed: int,
    chunk_rows: int = 50_000,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    conditions: Sequence[tuple[Mapping[str, Any], int]] = (),
) -> pd.DataFrame:
    """Samples `num_rows` rows reproducibly, in memory: the same model, seed and `chunk_rows`
    give the same rows (see `chunk_plan`). Large tables stream with `sample_chunks` instead.
    """
    chunks = []
    done = 0
    for chunk in sample_chunks(synthesizer, num_rows, seed, chunk_rows, workers, conditions):
        chunks.append(chunk)
        done += len(chunk)
        if on_progress:
            on_progress(done, num_rows)
    return pd.concat(chunks, ignore_index=True)


def sample_sequences(synthesizer: Synthesizer, num_sequences: int, seed: int) -> pd.DataFrame:
    """Samples `num_sequences` whole sequences (PAR) reproducibly."""
    table = next(iter(synthesizer.get_metadata().tables))
    return backend_of(synthesizer).sample(synthesizer, num_sequences, seed)[table].reset_index(drop=True)


def is_sequential(synthesizer: Synthesizer) -> bool:
    """Whether the model samples whole sequences (its backend serves sequential tables)."""
    return backend_of(synthesizer).kind == "sequence"


def is_relational(synthesizer: Synthesizer) -> bool:
    """Whether the model samples a group of related tables (its backend serves groups)."""
    return backend_of(synthesizer).kind == "group"
