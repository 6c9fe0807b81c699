"""Source resources: read a table through Arrow, whatever holds it.

Every source implements `SourceResource.read_table`, returning a `pyarrow.Table`; the pipeline
converts to pandas once, after the read. DuckDB is the embedded default; SQLAlchemy URLs and
files implement the same two methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
from dagster import ConfigurableResource
from pydantic import Field

from pipelines.errors import EmptyTableError, SourceError, SourceTableNotFoundError, closest

__all__ = ["DuckDBSource", "SourceResource", "quote_identifier"]


def quote_identifier(name: str) -> str:
    """Quotes one SQL identifier (embedded double quotes doubled), so a name is never SQL.

    Examples:
        >>> quote_identifier('my "odd"; table')
        '"my ""odd""; table"'
    """
    if not name or "\x00" in name:
        raise SourceError(f"Table name {name!r} is empty or contains a NUL byte; name an existing table.")
    return '"' + name.replace('"', '""') + '"'


class SourceResource(ConfigurableResource, ABC):
    """The interface every source implements."""

    @abstractmethod
    def read_table(self, table: str) -> pa.Table:
        """Reads the whole table; raises `SourceTableNotFoundError` or `EmptyTableError`."""

    @abstractmethod
    def describe(self) -> str:
        """A short, secret-free description of the source for logs and metadata."""


class DuckDBSource(SourceResource):
    """Reads tables from a DuckDB database file, read-only.

    Examples:
        >>> DuckDBSource(database="sources/adult.duckdb").read_table("adult")  # doctest: +SKIP
    """

    database: str = Field(description="Path of the DuckDB database file, opened read-only.")

    @contextmanager
    def connect(self) -> Iterator[object]:
        import duckdb

        path = Path(self.database)
        if not path.exists():
            raise SourceError(
                f"DuckDB source database {self.database!r} does not exist. Check `source.database`, "
                "or run `make demo` to build the demo database."
            )
        try:
            connection = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as error:
            raise SourceError(f"Cannot open DuckDB source {self.database!r}: {error}") from None
        try:
            yield connection
        finally:
            connection.close()

    def read_table(self, table: str) -> pa.Table:
        with self.connect() as connection:
            available = [
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() ORDER BY table_name"
                ).fetchall()
            ]
            if table not in available:
                raise SourceTableNotFoundError(
                    f"Source table {table!r} was not found in DuckDB database {self.database!r}."
                    f"{closest(table, available)} Tables there: {', '.join(available) or '(none)'}. "
                    "Fix `source_table` (or `name`) of this table in the configuration."
                )
            result = connection.sql(f"SELECT * FROM {quote_identifier(table)}").to_arrow_table()
        if result.num_rows == 0:
            raise EmptyTableError(
                f"Source table {table!r} in {self.database!r} has no rows; a synthesizer cannot learn from an "
                "empty table. Load the table first, or remove it from the configuration."
            )
        return result

    def describe(self) -> str:
        return f"duckdb:{Path(self.database).name}"
