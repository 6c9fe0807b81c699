"""The synthesizer backends behind one protocol, and the one registry that names them.

A backend is what a configuration name (`synthesizer: ctgan`) stands for: which kind of table
it serves (`table`, `sequence` or `group`), what it can do (`Capabilities`), whether it is
installed, and how its model is built, fitted, sampled with a seed, and saved and loaded as the
file inside the MLflow model synthpipe logs (`synthpipe.resources.pyfunc`).

Two protocols keep the two sides apart (declared in `synthpipe.resources.backend_protocol`, with
`Capabilities`, and importable from here):

- `Synthesizer` is the model object. SDV's synthesizer classes (GaussianCopula, CTGAN, TVAE,
  CopulaGAN, PAR, HMA) satisfy it structurally, as they are, and so does `ArgnSynthesizer`:
  nothing wraps a model, so what MLflow holds is the backend's own file and every earlier
  registered version still loads.
- `Backend` is a registry entry: small frozen records (`SingleTableBackend`, `SequenceBackend`,
  `GroupBackend`, `ArgnBackend`) that hold what differs between backends (the random states a
  seeded draw sets, the sampling call, the file suffix, the optional extra).

Importing this module is cheap: SDV, torch and the TabularARGN engine are imported only when a
backend's class is asked for; `available()` looks the engine up without importing it.

Examples:
    >>> names("table")
    ('gaussian_copula', 'ctgan', 'tvae', 'copula_gan', 'argn')
    >>> backend("par").capabilities.sequences
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from synthpipe.errors import SynthesizerError, closest
from synthpipe.resources.backend_protocol import KINDS, Backend, Capabilities, Kind, Synthesizer
from synthpipe.extras import ARGN_INSTALL_HINT

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BACKENDS",
    "KINDS",
    "ArgnBackend",
    "ArgnGroupBackend",
    "ArgnSequenceBackend",
    "Backend",
    "Capabilities",
    "GroupBackend",
    "Kind",
    "SequenceBackend",
    "SingleTableBackend",
    "SourcelessBackend",
    "Synthesizer",
    "available",
    "backend",
    "backend_for_file",
    "backend_of",
    "global_seed",
    "names",
]

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


@dataclass(frozen=True)
class SingleTableBackend:
    """An SDV single-table synthesizer class. SDV has no public seeded-sampling call:
    `reset_sampling` (public) returns the model to its post-fit state, then the model's own
    random state is set from the seed. Tests pin this against SDV upgrades.
    """

    name: str
    label: str
    module: str
    class_name: str
    capabilities: Capabilities
    kind: Kind = "table"
    extra: str | None = None
    install_hint: str | None = None
    file_suffix: str = ".pkl"

    def available(self) -> bool:
        return True  # SDV is a core dependency

    def synthesizer_class(self) -> type[Synthesizer]:
        return getattr(importlib.import_module(self.module), self.class_name)

    def build(self, metadata: Any, params: Mapping[str, Any]) -> Synthesizer:
        return self.synthesizer_class()(metadata, **params)  # type: ignore[call-arg]

    def fit(self, synthesizer: Synthesizer, data: pd.DataFrame | Mapping[str, pd.DataFrame]) -> None:
        synthesizer.fit(data if isinstance(data, Mapping) else {next(iter(synthesizer.get_metadata().tables)): data})
        from synthpipe.resources.marginals import tabulate_marginals

        # a Gaussian copula's beta marginals inverted from a table (sampling twice as fast); a
        # model without fitted beta marginals is left as it is
        tabulate_marginals(synthesizer)

    def seed(self, synthesizer: Synthesizer, seed: int) -> None:
        synthesizer.reset_sampling()  # type: ignore[attr-defined]
        synthesizer._set_random_state(seed)  # type: ignore[attr-defined]

    def _draw(self, synthesizer: Synthesizer, amount: float) -> Mapping[str, pd.DataFrame]:
        return synthesizer.sample(int(amount))

    def sample(self, synthesizer: Synthesizer, amount: float, seed: int) -> dict[str, pd.DataFrame]:
        self.seed(synthesizer, seed)
        with global_seed(seed):
            return dict(self._draw(synthesizer, amount))

    def sample_conditioned(self, synthesizer: Synthesizer, values: Mapping[str, Any], rows: int, seed: int) -> pd.DataFrame:
        """A seeded draw of `rows` rows that all have `values` (SDV's `sample_from_conditions`)."""
        from sdv.sampling import Condition

        self.seed(synthesizer, seed)
        with global_seed(seed):
            drawn = synthesizer.sample_from_conditions([Condition(num_rows=int(rows), column_values=dict(values))])  # type: ignore[attr-defined]
        return drawn[next(iter(synthesizer.get_metadata().tables))] if isinstance(drawn, Mapping) else drawn

    def sample_remaining(self, synthesizer: Synthesizer, known: pd.DataFrame, seed: int) -> pd.DataFrame:
        """One row per row of `known`, its values kept and the other columns drawn given them
        (SDV's `sample_remaining_columns`), in `known`'s order."""
        self.seed(synthesizer, seed)
        with global_seed(seed):
            drawn = synthesizer.sample_remaining_columns(known.reset_index(drop=True))  # type: ignore[attr-defined]
        drawn = drawn[next(iter(synthesizer.get_metadata().tables))] if isinstance(drawn, Mapping) else drawn
        return drawn.sort_index().reset_index(drop=True)

    def save(self, synthesizer: Synthesizer, folder: Path) -> Path:
        path = folder / f"synthesizer{self.file_suffix}"
        synthesizer.save(str(path))
        return path

    def load(self, path: str) -> Synthesizer:
        from sdv.utils import load_synthesizer

        return load_synthesizer(path)


@dataclass(frozen=True)
class SequenceBackend(SingleTableBackend):
    """SDV's PAR: whole sequences per entity. Its own draws use the global generators; the
    context model (the entities' constant columns) keeps a random state of its own.
    """

    kind: Kind = "sequence"

    def seed(self, synthesizer: Synthesizer, seed: int) -> None:
        context = synthesizer._context_synthesizer  # type: ignore[attr-defined]
        context.reset_sampling()
        context._set_random_state(seed)

    def _draw(self, synthesizer: Synthesizer, amount: float) -> Mapping[str, pd.DataFrame]:
        return synthesizer.sample_sequences(int(amount))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GroupBackend(SingleTableBackend):
    """SDV's HMA: related tables as one model, sampled at a scale of the source's size. Each
    table's model keeps a random state of its own (set from the seed, one offset per table).
    """

    kind: Kind = "group"

    def seed(self, synthesizer: Synthesizer, seed: int) -> None:
        synthesizer.reset_sampling()  # type: ignore[attr-defined]
        synthesizer._numpy_seed = seed % 2**32  # type: ignore[attr-defined]
        tables = synthesizer._table_synthesizers  # type: ignore[attr-defined]
        for offset, name in enumerate(sorted(tables)):
            tables[name]._set_random_state(seed + offset)

    def _draw(self, synthesizer: Synthesizer, amount: float) -> Mapping[str, pd.DataFrame]:
        return synthesizer.sample_scale(scale=amount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ArgnBackend(SingleTableBackend):
    """TabularARGN (`synthpipe.resources.argn`), the optional `argn` extra. Seeded like an SDV
    single-table model (it answers the same calls); the engine is imported only to fit, sample
    or load.
    """

    def available(self) -> bool:
        from synthpipe.resources.argn_engine import engine_available

        return engine_available()

    def synthesizer_class(self) -> type[Synthesizer]:
        from synthpipe.resources.argn_engine import require_engine

        if not self.available():
            require_engine(f"Synthesizer {self.name!r}")
        return super().synthesizer_class()

    def load(self, path: str) -> Synthesizer:
        from synthpipe.resources.argn import ArgnSynthesizer
        from synthpipe.resources.argn_engine import require_engine

        require_engine(f"Loading the TabularARGN model {path}")
        return ArgnSynthesizer.load(path)

    def sample_conditioned(self, synthesizer: Synthesizer, values: Mapping[str, Any], rows: int, seed: int) -> pd.DataFrame:
        """The engine's seeded generation: `values` fixed, the other columns drawn given them."""
        return synthesizer.sample_conditioned(values, rows, seed)  # type: ignore[attr-defined]

    def sample_remaining(self, synthesizer: Synthesizer, known: pd.DataFrame, seed: int) -> pd.DataFrame:
        """The engine's seeded generation with one seed row per row of `known`."""
        return synthesizer.sample_remaining(known, seed)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ArgnSequenceBackend(ArgnBackend):
    """TabularARGN on a sequential table (`synthpipe.resources.argn_sequence`): whole new
    entities, their context first. `synthesizer: argn` on a `sequence` table selects it."""

    kind: Kind = "sequence"

    def _draw(self, synthesizer: Synthesizer, amount: float) -> Mapping[str, pd.DataFrame]:
        return synthesizer.sample_sequences(int(amount))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ArgnGroupBackend(ArgnBackend):
    """TabularARGN over related tables (`synthpipe.resources.argn_group`): one model per table,
    chained parent first. `synthesizer: argn` on a group selects it."""

    kind: Kind = "group"
    file_suffix: str = ".argn-group.pkl"

    def _draw(self, synthesizer: Synthesizer, amount: float) -> Mapping[str, pd.DataFrame]:
        return synthesizer.sample_scale(scale=amount)  # type: ignore[attr-defined]

    def load(self, path: str) -> Synthesizer:
        from synthpipe.resources.argn_engine import require_engine
        from synthpipe.resources.argn_group import ArgnGroupSynthesizer

        require_engine(f"Loading the TabularARGN group model {path}")
        return ArgnGroupSynthesizer.load(path)  # type: ignore[return-value]


@dataclass(frozen=True)
class SourcelessBackend:
    """A model of tables without a source: a declared generator or a simulation. Nothing is
    learned (`fit` does nothing); the model holds its declaration, and `draw` is its seeded call
    (`generate(seed)` or `run(seed)`), which returns every table it makes."""

    name: str
    label: str
    module: str
    class_name: str
    draw: str
    file_suffix: str
    capabilities: Capabilities = Capabilities()
    kind: Kind = "generated"
    extra: str | None = None
    install_hint: str | None = None

    def available(self) -> bool:
        return True

    def synthesizer_class(self) -> type[Synthesizer]:
        return getattr(importlib.import_module(self.module), self.class_name)

    def build(self, metadata: Any, params: Mapping[str, Any]) -> Synthesizer:
        return self.synthesizer_class()(**params)  # type: ignore[call-arg]

    def fit(self, synthesizer: Synthesizer, data: pd.DataFrame | Mapping[str, pd.DataFrame]) -> None:
        """Nothing to learn."""

    def seed(self, synthesizer: Synthesizer, seed: int) -> None:
        """Every draw takes its seed as an argument; there is no state to set."""

    def sample(self, synthesizer: Synthesizer, amount: float, seed: int) -> dict[str, pd.DataFrame]:
        return dict(getattr(synthesizer, self.draw)(seed))

    def sample_conditioned(self, synthesizer: Synthesizer, values: Mapping[str, Any], rows: int, seed: int) -> pd.DataFrame:
        raise SynthesizerError(f"{self.label} draws tables from declarations; it takes no conditions.")

    def sample_remaining(self, synthesizer: Synthesizer, known: pd.DataFrame, seed: int) -> pd.DataFrame:
        raise SynthesizerError(f"{self.label} draws tables from declarations; it completes no rows.")

    def save(self, synthesizer: Synthesizer, folder: Path) -> Path:
        path = folder / f"synthesizer{self.file_suffix}"
        synthesizer.save(str(path))
        return path

    def load(self, path: str) -> Synthesizer:
        return self.synthesizer_class().load(path)  # type: ignore[attr-defined]


_SDV_TABLE = Capabilities(constraints=True, conditions=True)
_SDV_TORCH_TABLE = Capabilities(constraints=True, conditions=True, torch=True)

# The one registry: configuration name -> backend, in the order messages list them.
BACKENDS: Mapping[str, Backend] = MappingProxyType(
    {
        entry.name: entry
        for entry in (
            SingleTableBackend("gaussian_copula", "SDV GaussianCopula", "sdv.single_table", "GaussianCopulaSynthesizer", _SDV_TABLE),
            SingleTableBackend("ctgan", "SDV CTGAN", "sdv.single_table", "CTGANSynthesizer", _SDV_TORCH_TABLE),
            SingleTableBackend("tvae", "SDV TVAE", "sdv.single_table", "TVAESynthesizer", _SDV_TORCH_TABLE),
            SingleTableBackend("copula_gan", "SDV CopulaGAN", "sdv.single_table", "CopulaGANSynthesizer", _SDV_TORCH_TABLE),
            ArgnBackend(
                "argn",
                "TabularARGN",
                "synthpipe.resources.argn",
                "ArgnSynthesizer",
                Capabilities(
                    rules_by_rejection=True, conditions=True, fairness=True, time_budget="max_training_time", progress=True, torch=True,
                    differential_privacy=True,
                ),
                extra="argn",
                install_hint=ARGN_INSTALL_HINT,
                file_suffix=".argn.pkl",
            ),
            SequenceBackend("par", "PAR", "sdv.sequential", "PARSynthesizer", Capabilities(conditions=True, sequences=True, torch=True)),
            ArgnSequenceBackend(
                "argn_sequence",
                "TabularARGN (sequences)",
                "synthpipe.resources.argn_sequence",
                "ArgnSequenceSynthesizer",
                Capabilities(conditions=True, sequences=True, time_budget="max_training_time", progress=True, torch=True),
                extra="argn",
                install_hint=ARGN_INSTALL_HINT,
                file_suffix=".argn.pkl",
            ),
            GroupBackend("hma", "HMA", "sdv.multi_table", "HMASynthesizer", Capabilities(constraints=True, relations=True, max_tables=5, max_depth=1)),
            ArgnGroupBackend(
                "argn_group",
                "TabularARGN (related tables)",
                "synthpipe.resources.argn_group",
                "ArgnGroupSynthesizer",
                Capabilities(relations=True, time_budget="max_training_time", torch=True, contexts=True),
                extra="argn",
                install_hint=ARGN_INSTALL_HINT,
                file_suffix=".argn-group.pkl",
            ),
            SourcelessBackend("generator", "declared generator", "synthpipe.resources.generator", "Generator", "generate", ".generator.pkl"),
            SourcelessBackend("mesa", "Mesa simulation", "synthpipe.resources.simulation", "Simulation", "run", ".simulation.pkl"),
        )
    }
)


def backend(name: str) -> Backend:
    """The backend registered under `name`; an unknown name lists the known ones."""
    if name not in BACKENDS:
        raise SynthesizerError(f"Unknown synthesizer {name!r}; choose one of {', '.join(BACKENDS)}.{closest(name, BACKENDS)}")
    return BACKENDS[name]


def names(kind: Kind | None = None) -> tuple[str, ...]:
    """The registered names, of one kind of table or of all, in registry order."""
    if kind is not None and kind not in KINDS:
        raise SynthesizerError(f"Unknown kind of table {kind!r}; choose one of {', '.join(KINDS)}.")
    return tuple(name for name, entry in BACKENDS.items() if kind is None or entry.kind == kind)


def available(kind: Kind | None = None) -> tuple[str, ...]:
    """The registered names whose backend is installed (TabularARGN is an optional extra)."""
    return tuple(name for name in names(kind) if BACKENDS[name].available())


def backend_of(synthesizer: object) -> Backend:
    """The backend a model object belongs to, by its class (no backend module is imported)."""
    for cls in type(synthesizer).__mro__:
        for entry in BACKENDS.values():
            if cls.__name__ == entry.class_name and cls.__module__.startswith(entry.module):
                return entry
    raise SynthesizerError(
        f"{type(synthesizer).__name__} is not a registered synthesizer backend; registered: {', '.join(BACKENDS)}. "
        "Build models with `synthpipe.resources.synthesizers.build_synthesizer`."
    )


def backend_for_file(path: str) -> Backend:
    """The backend that reads a saved model: the one whose file suffix `path` ends with (the
    longest wins, so `.argn.pkl` is TabularARGN's), else SDV's, whose loader reads every SDV model.
    """
    for entry in sorted(BACKENDS.values(), key=lambda e: len(e.file_suffix), reverse=True):
        if path.endswith(entry.file_suffix):
            return entry
    return BACKENDS[names("table")[0]]
