"""Synthesizer backends behind one small interface: build, fit (rare values protected), seeded
sampling in chunks. The SDV metadata they are built from is `synthpipe.resources.metadata`'s (re-exported
here).

The registry maps a configuration name to a synthesizer class: SDV's, and TabularARGN
(`synthpipe.resources.argn`, an optional extra) behind the same calls. Backends are imported only when a
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

import pandas as pd

from synthpipe.errors import SynthesizerError, closest
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

# Where `fit_synthesizer` leaves what it protected, on the synthesizer it fitted.
PROTECTION_ATTRIBUTE = "synthpipe_protection"

# name in configuration -> (module, class) of the SDV single-table synthesizer
_REGISTRY: dict[str, tuple[str, str]] = {
    "gaussian_copula": ("sdv.single_table", "GaussianCopulaSynthesizer"),
    "ctgan": ("sdv.single_table", "CTGANSynthesizer"),
    "tvae": ("sdv.single_table", "TVAESynthesizer"),
    "copula_gan": ("sdv.single_table", "CopulaGANSynthesizer"),
    "argn": ("synthpipe.resources.argn", "ArgnSynthesizer"),  # TabularARGN; needs the `argn` extra
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
        from synthpipe.resources.argn import engine_available, require_engine

        if not engine_available():
            require_engine("Synthesizer 'argn'")
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


def available_synthesizers() -> tuple[str, ...]:
    """The single-table names whose backend is installed (TabularARGN is an optional extra)."""
    from synthpipe.resources.argn import engine_available

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
    from synthpipe.resources.argn import ArgnSynthesizer

    if path.endswith(ArgnSynthesizer.FILE_SUFFIX):
        from synthpipe.resources.argn import require_engine

        require_engine(f"Loading the TabularARGN model {path}")
        return ArgnSynthesizer.load(path)
    from sdv.utils import load_synthesizer as load_sdv

    return load_sdv(path)


def build_synthesizer(
    name: str,
    params: Mapping[str, Any],
    metadata: Any,
    table: str,
    context_columns: Sequence[str] = (),
    constraints: Sequence[Any] = (),
) -> Any:
    """Instantiates the named synthesizer; a wrong parameter names the valid ones. `constraints`
    are business rules (`synthpipe.expectations.suites.Rule`) it must obey, added as SDV constraints."""
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
    """Makes `synthesizer` obey business rules (`synthpipe.expectations.suites.Rule`): as SDV constraints
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
    """Fits in place on `data` with its rare values protected (`synthpipe.resources.protection`: no
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
