"""The MLflow pyfunc of a fitted synthesizer: `predict` samples rows.

Kept apart from `synthpipe.resources.synthesizers` so that loading Dagster definitions does not import
MLflow (over a second); only logging and loading a model does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from synthpipe.resources.backends import Synthesizer, backend_of
from synthpipe.resources.synthesizers import (
    is_relational,
    is_sequential,
    sample_rows,
    sample_sequences,
)

__all__ = ["SynthesizerModel", "save_synthesizer"]


class SynthesizerModel(PythonModel):
    """MLflow pyfunc around a fitted synthesizer: `predict` samples rows.

    The input is a one-row DataFrame with `num_rows` (`num_sequences` for a sequential model,
    `scale` for a relational one, which returns a dict of DataFrames, as a generator or a
    simulation does from `seed` alone) and optionally `seed`.

    Examples:
        >>> model = mlflow.pyfunc.load_model(uri)  # doctest: +SKIP
        >>> model.predict(pd.DataFrame({"num_rows": [100], "seed": [7]}))  # doctest: +SKIP
    """

    ARTIFACT = "synthesizer"

    def __init__(self) -> None:
        self.synthesizer: Synthesizer | None = None

    def load_context(self, context: Any) -> None:
        from synthpipe.resources.synthesizers import load_synthesizer

        self.synthesizer = load_synthesizer(context.artifacts[self.ARTIFACT])

    @staticmethod
    def signature(synthesizer: Synthesizer) -> Any:
        """The pyfunc signature: `num_rows` and `seed` in, the table's columns out (none for a
        relational model, whose output is one DataFrame per table).
        """
        from mlflow.models import infer_signature

        if is_relational(synthesizer) or backend_of(synthesizer).kind == "generated":
            return None
        if is_sequential(synthesizer):
            example = pd.DataFrame({"num_sequences": [2], "seed": [0]})
            return infer_signature(example, sample_sequences(synthesizer, 2, 0))
        example = pd.DataFrame({"num_rows": [5], "seed": [0]})
        return infer_signature(example, sample_rows(synthesizer, 5, 0))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        seed = int(model_input["seed"].iloc[0]) if "seed" in model_input else 0
        if backend_of(self.synthesizer).kind == "generated":  # every table of a generator or simulation
            return backend_of(self.synthesizer).sample(self.synthesizer, 1.0, seed)
        if is_relational(self.synthesizer):
            from synthpipe.resources.relational import sample_group

            return sample_group(self.synthesizer, float(model_input["scale"].iloc[0]), seed)
        if is_sequential(self.synthesizer):
            return sample_sequences(self.synthesizer, int(model_input["num_sequences"].iloc[0]), seed)
        return sample_rows(self.synthesizer, int(model_input["num_rows"].iloc[0]), seed)


def save_synthesizer(synthesizer: Synthesizer, folder: Path) -> Path:
    """Writes the synthesizer with its backend's own `save` (SDV's, or TabularARGN's, whose file
    suffix tells `load_synthesizer` which backend reads it), returning the file.
    """
    return backend_of(synthesizer).save(synthesizer, folder)
