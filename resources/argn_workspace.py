"""What TabularARGN's backend keeps of the engine's workspace (the files generation reads) and
how it seeds the engine's global random state for one fit or draw, restoring it afterwards."""

from __future__ import annotations

import json
import os
import pickle
import random
from collections.abc import Iterator, Mapping
from typing import Any
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["engine_seed", "load_pickled", "read_model_files", "read_privacy_spent", "save_pickled", "write_model_files"]

# The files of a trained workspace that generation reads. Optimizer and scheduler states only
# resume training; `OriginalData` holds the real training rows and never leaves the fit.
_MODEL_FILES = ("ModelStore/model-data/model-configs.json", "ModelStore/model-data/model-weights.pt")
# `ctx-stats` describes a context table (a sequence model's entities); a flat model has none.
_MODEL_FOLDERS = ("ModelStore/tgt-stats", "ModelStore/ctx-stats")
# Training's progress, one row per message: with differential privacy, `dp_eps` (the ε spent so
# far, the analysis's share included) and `dp_delta`.
_PROGRESS_FILE = "ModelStore/model-data/progress-messages.csv"
_TARGET_STATS = "ModelStore/tgt-stats/stats.json"


def read_model_files(folder: Path) -> dict[str, bytes]:
    files = {name: (folder / name).read_bytes() for name in _MODEL_FILES}
    for sub in _MODEL_FOLDERS:
        for path in sorted((folder / sub).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def read_privacy_spent(folder: Path) -> dict[str, float]:
    """What a fit with differential privacy spent, as the engine accounts it: `epsilon` over the
    whole run (the value analysis's share included; past the kept epoch when training stopped at
    the budget, so it bounds what the kept weights spent; two decimals, as the engine reports it),
    `delta`, and `value_epsilon`, the analysis's share."""
    import pandas as pd

    from synthpipe.errors import SynthesizerError

    messages = pd.read_csv(folder / _PROGRESS_FILE)
    if messages.empty or "dp_eps" not in messages or messages["dp_eps"].isna().all():
        raise SynthesizerError(f"TabularARGN trained with differential privacy but reported no ε spent ({_PROGRESS_FILE}).")
    stats = json.loads((folder / _TARGET_STATS).read_text())
    return {
        "epsilon": float(messages["dp_eps"].max()),
        "delta": float(messages["dp_delta"].dropna().iloc[-1]),
        "value_epsilon": float(stats.get("value_protection_epsilon_spent") or 0.0),
    }


def write_model_files(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


@contextmanager
def engine_seed(seed: int | None) -> Iterator[None]:
    """Seeds the engine (Python's, numpy's and torch's global generators and the variable its
    worker processes read), then puts every one of them back as it was.
    """
    if seed is None:
        yield
        return
    import torch
    from mostlyai.engine import set_random_state

    saved = random.getstate(), np.random.get_state(), torch.random.get_rng_state(), os.environ.get("MOSTLYAI_ENGINE_SEED")
    set_random_state(int(seed) % 2**32)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.random.set_rng_state(saved[2])
        if saved[3] is None:
            os.environ.pop("MOSTLYAI_ENGINE_SEED", None)
        else:
            os.environ["MOSTLYAI_ENGINE_SEED"] = saved[3]


def save_pickled(model: Any, path: str) -> None:
    """A fitted TabularARGN model as one file (its `__getstate__` leaves out what is per process)."""
    with open(path, "wb") as handle:
        pickle.dump(model, handle)


def load_pickled(path: str, expected: type, what: str) -> Any:
    """A model `save_pickled` wrote, refused unless it is an `expected` (named `what` in the error)."""
    from synthpipe.errors import SynthesizerError

    with open(path, "rb") as handle:
        loaded = pickle.load(handle)
    if not isinstance(loaded, expected):
        raise SynthesizerError(f"{path} does not hold {what} (found {type(loaded).__name__}).")
    return loaded
