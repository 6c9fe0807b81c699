"""The edges of TabularARGN's engine (`mostlyai-engine`, the optional `argn` extra) shared by
the single-table, sequence and group models (`resources.argn*`): the training defaults, whether it is installed,
importing it with an error that says how to install it, the models' constructor signatures,
casting its output back to the source's dtypes, and Faker values for `pii` columns.
"""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from synthpipe.errors import SynthesizerError
from synthpipe.extras import ARGN_ENGINE_VERSION as ENGINE_VERSION
from synthpipe.extras import ARGN_INSTALL_HINT as INSTALL_HINT
from synthpipe.extras import argn_engine_available

__all__ = ["DEFAULT_MAX_EPOCHS", "DEFAULT_TRAINING_MINUTES", "ENGINE_VERSION", "INSTALL_HINT", "cast_like", "engine_available", "fake_values", "require_engine", "with_parameter"]


class _DefaultMinutes(float):
    """The default training budget: a float that knows it was not asked for."""


# Ten minutes, unless `max_epochs` is given and `max_training_time` is not: then epochs (and
# early stopping) end training, never the clock.
DEFAULT_TRAINING_MINUTES = _DefaultMinutes(10.0)
DEFAULT_MAX_EPOCHS = 100.0


def engine_available() -> bool:
    """True when `mostlyai-engine` is installed (looked up without importing it)."""
    return argn_engine_available()


def require_engine(what: str) -> Any:
    """Imports the engine, or raises an error that says how to install it."""
    try:
        import mostlyai.engine as engine
    except ImportError as error:
        raise SynthesizerError(
            f"{what} needs the TabularARGN engine, which is not installed ({error}); {INSTALL_HINT}."
        ) from None
    return engine


def with_parameter(base: inspect.Signature, name: str, default: Any, annotation: str) -> inspect.Signature:
    """A constructor signature (ArgnModel's) with one more parameter after `metadata`: what a model
    built on ArgnModel's parameters declares, so `synthesizer_params` are checked against it."""
    parameters = list(base.parameters.values())
    extra = inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)
    return base.replace(parameters=[*parameters[:2], extra, *parameters[2:]])


def fake_values(kind: str, rows: int, seed: int) -> list[Any]:
    from faker import Faker

    faker = Faker()
    faker.seed_instance(seed)
    provider = getattr(faker, kind, None)
    if provider is None:
        raise SynthesizerError(f"`pii` kind {kind!r} is not a Faker provider; use one such as name, email or phone_number.")
    return [provider() for _ in range(rows)]


def cast_like(values: pd.Series, dtype: str) -> pd.Series:
    """The engine returns nullable pandas dtypes; synthpipe's stages expect the source's."""
    try:
        if dtype.startswith(("int", "uint")) and values.isna().any():
            return values.astype("float64")
        if dtype == "object":
            return values.astype(object).where(values.notna(), None)
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values

