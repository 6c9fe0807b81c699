"""Synthesizer backends behind one small interface, and the MLflow pyfunc that samples rows.

The registry maps a configuration name to an SDV synthesizer class. SDV is imported only when
a synthesizer is built, so loading Dagster definitions stays fast.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.types as pat

from pipelines.errors import SynthesizerError, UnsupportedColumnError, closest

try:  # mlflow is a dependency; the guard keeps this module importable for pure unit tests.
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[misc,assignment]

__all__ = [
    "SYNTHESIZER_NAMES",
    "SynthesizerModel",
    "build_synthesizer",
    "check_modelable",
    "detect_metadata",
    "fit_synthesizer",
    "sample_rows",
    "synthesizer_class",
]

# name in configuration -> (module, class) of the SDV single-table synthesizer
_REGISTRY: dict[str, tuple[str, str]] = {
    "gaussian_copula": ("sdv.single_table", "GaussianCopulaSynthesizer"),
    "ctgan": ("sdv.single_table", "CTGANSynthesizer"),
    "tvae": ("sdv.single_table", "TVAESynthesizer"),
    "copula_gan": ("sdv.single_table", "CopulaGANSynthesizer"),
}
SYNTHESIZER_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def synthesizer_class(name: str) -> type:
    """The SDV class registered under `name`."""
    if name not in _REGISTRY:
        raise SynthesizerError(
            f"Unknown synthesizer {name!r}; choose one of {', '.join(SYNTHESIZER_NAMES)}.{closest(name, SYNTHESIZER_NAMES)}"
        )
    import importlib

    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


def _unsupported_reason(dtype: pa.DataType) -> str | None:
    supported = (
        pat.is_integer(dtype)
        or pat.is_floating(dtype)
        or pat.is_boolean(dtype)
        or pat.is_string(dtype)
        or pat.is_large_string(dtype)
        or pat.is_decimal(dtype)
        or pat.is_temporal(dtype)
        or (pat.is_dictionary(dtype) and _unsupported_reason(dtype.value_type) is None)
        or pat.is_null(dtype)
    )
    if supported and not pat.is_duration(dtype) and not pat.is_time(dtype):
        return None
    return str(dtype)


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


def detect_metadata(table: str, data: pd.DataFrame, overrides: Mapping[str, Mapping[str, Any]]) -> Any:
    """Detects SDV metadata for one table and applies the per-column overrides."""
    from sdv.metadata import Metadata

    unknown = sorted(set(overrides) - set(data.columns))
    if unknown:
        hints = "".join(closest(column, data.columns) for column in unknown)
        raise SynthesizerError(
            f"Table {table!r}: `columns` overrides name columns that are not in the source: {unknown}.{hints} "
            f"Columns: {', '.join(data.columns)}."
        )
    metadata = Metadata.detect_from_dataframes({table: data})
    for column, override in overrides.items():
        values = dict(override)
        sdtype = values.pop("sdtype")
        try:
            metadata.update_column(column_name=column, sdtype=sdtype, table_name=table, **values)
        except Exception as error:  # SDV raises several types for bad column metadata
            raise SynthesizerError(f"Table {table!r}, column {column!r}: override {dict(override)} rejected by SDV: {error}") from None
    metadata.validate()
    return metadata


def build_synthesizer(name: str, params: Mapping[str, Any], metadata: Any, table: str) -> Any:
    """Instantiates the named synthesizer; a wrong parameter names the valid ones."""
    cls = synthesizer_class(name)
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
            return cls(metadata, **params)
    except (TypeError, ValueError) as error:
        raise SynthesizerError(f"Table {table!r}: synthesizer {name!r} rejected `synthesizer_params` {dict(params)}: {error}") from None


def fit_synthesizer(synthesizer: Any, table: str, data: pd.DataFrame) -> float:
    """Fits in place; returns the seconds it took."""
    started = time.perf_counter()
    try:
        synthesizer.fit({table: data})
    except Exception as error:
        raise SynthesizerError(
            f"Table {table!r}: fitting {type(synthesizer).__name__} on {len(data)} rows failed: {error}. "
            "Check the column overrides in `columns`, or exclude the column named above."
        ) from error
    return time.perf_counter() - started


def sample_rows(
    synthesizer: Any,
    num_rows: int,
    seed: int,
    chunk_rows: int = 50_000,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Samples `num_rows` rows reproducibly: the same fitted model and seed give the same rows.

    SDV has no public seeded-sampling call: `reset_sampling` (public) returns the sampler to its
    post-fit state, and the model's random state is then set from `seed`. Chunks continue the
    same random stream, so the result does not depend on the chunk size's boundaries being reset.
    """
    synthesizer.reset_sampling()
    synthesizer._set_random_state(seed)
    table = next(iter(synthesizer.get_metadata().tables))
    chunks = []
    done = 0
    while done < num_rows:
        size = min(chunk_rows, num_rows - done)
        chunks.append(synthesizer.sample(size)[table])
        done += size
        if on_progress:
            on_progress(done, num_rows)
    return pd.concat(chunks, ignore_index=True)


class SynthesizerModel(PythonModel):
    """MLflow pyfunc around a fitted synthesizer: `predict` samples rows.

    The input is a one-row DataFrame with `num_rows` and optionally `seed`.

    Examples:
        >>> model = mlflow.pyfunc.load_model(uri)  # doctest: +SKIP
        >>> model.predict(pd.DataFrame({"num_rows": [100], "seed": [7]}))  # doctest: +SKIP
    """

    ARTIFACT = "synthesizer"

    def __init__(self) -> None:
        self.synthesizer: Any = None

    def load_context(self, context: Any) -> None:
        from sdv.utils import load_synthesizer

        self.synthesizer = load_synthesizer(context.artifacts[self.ARTIFACT])

    @staticmethod
    def signature(synthesizer: Any) -> Any:
        """The pyfunc signature: `num_rows` and `seed` in, the table's columns out."""
        from mlflow.models import infer_signature

        example = pd.DataFrame({"num_rows": [5], "seed": [0]})
        return infer_signature(example, sample_rows(synthesizer, 5, 0))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        num_rows = int(model_input["num_rows"].iloc[0])
        seed = int(model_input["seed"].iloc[0]) if "seed" in model_input else 0
        return sample_rows(self.synthesizer, num_rows, seed)


def save_synthesizer(synthesizer: Any, folder: Path) -> Path:
    """Writes the synthesizer with SDV's own `save`, returning the file."""
    path = folder / "synthesizer.pkl"
    synthesizer.save(str(path))
    return path
