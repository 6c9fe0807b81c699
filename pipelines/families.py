"""Value families of columns by their pandas type alone (never by name): what the derived
expectations and the modelled sdtypes are chosen from."""

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["column_family"]


def column_family(series: pd.Series) -> str:
    """The value family of a column by its pandas type: boolean, integer, float, datetime or string."""
    if pd.api.types.is_bool_dtype(series) or _is_nullable_boolean(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


def _is_nullable_boolean(series: pd.Series) -> bool:
    """Booleans with nulls come from Arrow as `object` (True, False, None): still booleans, not text."""
    if series.dtype != object:
        return False
    present: Any = series.dropna()
    return bool(len(present)) and bool(present.map(type).isin([bool, np.bool_]).all())
