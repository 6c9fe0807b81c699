"""A simulation's registered model: a Mesa model class, its parameters and its step count, run
with a seed into the data collector's tables.

`Simulation` plays the part a fitted synthesizer plays for a learned table: it is what is saved
and registered, and a run with the recorded seed gives the same tables again. There is nothing
to fit; the model *is* the generator. `simulation_problems` checks a `SimulationConfig` when
definitions load (the class imports, is a `mesa.Model`, takes the parameters); `load_model_class`
raises the same problems when a run needs the class.

Mesa is imported only when a model is loaded or run.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import time
from typing import Any

import pandas as pd

from synthpipe.errors import ConfigError, SynthesizerError, closest
from synthpipe.generated_config import AGENTS_TABLE, MODEL_TABLE, SimulationConfig

__all__ = ["Simulation", "load_model_class", "simulation_problems"]

_EXAMPLE = "synthpipe.simulations.transfers:TransferModel"
# Constructor keywords a simulation sets itself: the seed goes in as `rng`.
_SEED_KEYWORDS = ("rng", "seed")


class Simulation:
    """A Mesa model class with its parameters and step count; `run(seed)` gives its tables.

    Args:
        model: The model class, `module:Class`.
        parameters: Keyword arguments of the class's constructor.
        steps: Steps per run (at least 1).
        tables: The tables `run` returns (`model`, `agents` or a data collector table); empty
            returns every one collected.

    Attributes:
        run_seconds: Wall time of the last run (building the model, stepping it, reading its tables).
        steps_per_second: Steps per second of the last run's stepping alone.

    Examples:
        >>> simulation = Simulation("synthpipe.simulations.transfers:TransferModel", {"accounts": 60}, 24, [])
        >>> tables = simulation.run(seed=7)
        >>> sorted(tables)
        ['agents', 'model', 'transactions']
    """

    FILE_SUFFIX = ".simulation.pkl"  # the registry's `file_suffix` of the `mesa` backend

    def __init__(self, model: str, parameters: dict[str, Any], steps: int, tables: list[str]):
        self.model = model
        self.parameters = dict(parameters)
        self.steps = int(steps)
        self.tables = list(tables)
        self.run_seconds = 0.0
        self.steps_per_second = 0.0

    def get_parameters(self) -> dict[str, Any]:
        """The four settings, as logged to MLflow."""
        return {"model": self.model, "parameters": copy.deepcopy(self.parameters), "steps": self.steps, "tables": list(self.tables)}

    def get_metadata(self) -> None:
        """A simulation has no SDV metadata: its tables' columns are whatever the model collects."""
        return None

    def fit(self, data: Any = None) -> None:
        """Nothing to learn: a simulation generates from its model alone."""

    def run(self, seed: int) -> dict[str, pd.DataFrame]:
        """Builds the model with `parameters` and `seed`, runs `steps` steps (fewer when the
        model sets `running` to False) and returns the data collector's tables by name.

        `model` has a `step` column and `agents` `step` and `agent_id` columns in front of the
        reporters. A table that is empty or has no columns is left out unless `tables` names it.

        Raises:
            ConfigError: The model class cannot be loaded.
            SynthesizerError: The model cannot be built, has no `datacollector`, or `tables`
                names a table it does not collect.
        """
        started = time.perf_counter()
        model = self._build(seed)
        stepping = time.perf_counter()
        ran = 0
        for _ in range(self.steps):
            if not getattr(model, "running", True):
                break
            model.step()
            ran += 1
        self.steps_per_second = ran / max(time.perf_counter() - stepping, 1e-9)
        tables = self._select(collected_tables(model, self.model))
        self.run_seconds = time.perf_counter() - started
        return tables

    def _build(self, seed: int) -> Any:
        cls = load_model_class(self.model)
        seed_keyword = _seed_keyword(cls) or "rng"
        try:
            return cls(**self.parameters, **{seed_keyword: seed})
        except Exception as error:
            raise SynthesizerError(
                f"simulation model {self.model!r} could not be built with parameters {self.parameters!r} "
                f"({type(error).__name__}: {error}); fix `parameters`."
            ) from error

    def _select(self, collected: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        if not self.tables:
            return {name: frame for name, frame in collected.items() if len(frame.columns) and len(frame)}
        unknown = [name for name in self.tables if name not in collected]
        if unknown:
            hints = "".join(closest(name, list(collected)) for name in unknown)
            raise SynthesizerError(
                f"simulation model {self.model!r} collects no table {', '.join(map(repr, unknown))}.{hints} "
                f"It collects: {', '.join(collected)}. Fix `tables`."
            )
        return {name: collected[name] for name in self.tables}

    def sample(self, num_rows: int | None = None, /, seed: int = 0) -> dict[str, pd.DataFrame]:
        """`run(seed)` under the `Synthesizer` protocol's name; `steps` set the rows, so
        `num_rows` is ignored."""
        return self.run(seed)

    def save(self, path: str) -> None:
        """Writes the four settings (never a built model) to one pickle file."""
        with open(path, "wb") as handle:
            pickle.dump(self.get_parameters(), handle)

    @classmethod
    def load(cls, path: str) -> Simulation:
        """A simulation `save` wrote."""
        with open(path, "rb") as handle:
            settings = pickle.load(handle)
        if not isinstance(settings, dict) or set(settings) != {"model", "parameters", "steps", "tables"}:
            raise SynthesizerError(f"{path} does not hold a simulation (found {type(settings).__name__}); save one with `Simulation.save`.")
        return cls(**settings)


def collected_tables(model: Any, path: str = "") -> dict[str, pd.DataFrame]:
    """Every table a built model's data collector holds: `model`, `agents` (empty frames when
    it has no such reporters), then its own tables in declaration order.

    The `model` table's `step` is its row number, which is the model's step count when it
    collects once when built and once per step, as Mesa's examples do.
    """
    collector = getattr(model, "datacollector", None)
    if collector is None:
        raise SynthesizerError(
            f"simulation model {path or type(model).__name__!r} has no `datacollector`; create a `mesa.DataCollector` "
            "as `self.datacollector` in its constructor and call `self.datacollector.collect(self)` in `step`."
        )
    tables = {MODEL_TABLE: pd.DataFrame(), AGENTS_TABLE: pd.DataFrame()}
    if collector.model_reporters:
        frame = collector.get_model_vars_dataframe().reset_index(drop=True)
        frame.insert(0, "step", range(len(frame)))
        tables[MODEL_TABLE] = frame
    if collector.agent_reporters:
        frame = collector.get_agent_vars_dataframe().reset_index()
        tables[AGENTS_TABLE] = frame.rename(columns={"Step": "step", "AgentID": "agent_id"})
    for name in collector.tables:
        tables[name] = collector.get_table_dataframe(name)
    return tables


def load_model_class(path: str) -> type:
    """The Mesa model class `path` (`module:Class`) names.

    Raises:
        ConfigError: `path` is not `module:Class`, the module does not import, it has no such
            class, or the class is not a `mesa.Model`; the message says which and the fix.

    Examples:
        >>> load_model_class("synthpipe.simulations.transfers:TransferModel").__name__
        'TransferModel'
    """
    cls, problem = _model_class(path)
    if problem:
        raise ConfigError([problem], heading="Invalid simulation model")
    return cls  # type: ignore[return-value]


def simulation_problems(config: SimulationConfig) -> list[str]:
    """Everything wrong with a simulation's settings that shows without running it: the model
    path, the step count, and parameters the constructor does not take."""
    prefix = f"simulation {config.name!r}: "
    problems = []
    if config.steps < 1:
        problems.append(f"`steps` must be at least 1; got {config.steps!r}.")
    cls, problem = _model_class(config.model)
    if problem:
        problems.append(problem)
    else:
        problems += _parameter_problems(cls, config.parameters, config.model)  # type: ignore[arg-type]
    return [prefix + p for p in problems]


def _model_class(path: str) -> tuple[type | None, str | None]:
    """The class, or the problem that keeps it from loading."""
    if not isinstance(path, str) or path.count(":") != 1 or not all(path.split(":")):
        return None, f"setting `model` {path!r} is not `module:Class`; write the module and the class with a colon, e.g. {_EXAMPLE!r}."
    module_name, class_name = path.split(":")
    try:
        import mesa
    except ImportError as error:  # a core dependency, so only a broken environment gets here
        return None, f"setting `model` {path!r} needs Mesa, which does not import ({error}); `pip install \"mesa>=3.3,<3.4\"`."
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an ImportError, or whatever the module raises while importing
        return None, (
            f"setting `model` {path!r}: module {module_name!r} does not import ({type(error).__name__}: {error}); "
            "check the module name and that it is installed where the refresh runs."
        )
    cls = getattr(module, class_name, None)
    if cls is None:
        classes = [name for name, value in vars(module).items() if isinstance(value, type)]
        return None, (
            f"setting `model` {path!r}: module {module_name!r} has no class {class_name!r}.{closest(class_name, classes)} "
            "Check the class name after the colon."
        )
    if not (isinstance(cls, type) and issubclass(cls, mesa.Model)):
        return None, (
            f"setting `model` {path!r}: {class_name} is not a Mesa model (a subclass of `mesa.Model`); "
            "point `model` at a class that subclasses `mesa.Model`."
        )
    return cls, None


def _parameter_problems(cls: type, parameters: dict[str, Any], path: str) -> list[str]:
    signature = inspect.signature(cls)
    accepted = [n for n, p in signature.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    problems = []
    for name in parameters:
        if name in _SEED_KEYWORDS:
            problems.append(f"`parameters` sets {name!r}, which is the seed; set `seed:` on the simulation instead.")
        elif name not in accepted and not takes_any:
            settable = [n for n in accepted if n not in _SEED_KEYWORDS]
            problems.append(
                f"{path} takes no parameter {name!r}.{closest(name, settable)} Its parameters: {', '.join(settable) or '(none)'}."
            )
    if not takes_any and _seed_keyword(cls) is None:
        problems.append(f"{path} takes no `rng` (or `seed`) keyword, so a run cannot be seeded; add `rng=None` to its constructor and pass it to `super().__init__(rng=rng)`.")
    return problems


def _seed_keyword(cls: type) -> str | None:
    """The constructor keyword that takes the seed: `rng`, else `seed`; None when neither is
    named (a constructor taking `**kwargs` gets `rng`)."""
    parameters = inspect.signature(cls).parameters
    return next((name for name in _SEED_KEYWORDS if name in parameters), None)
