"""Parquet and CSV files through Arrow filesystems: local folders and object-store URLs
(`s3://`, `gs://`, `abfs://`, as far as the installed pyarrow supports them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field

from synthpipe.errors import SourceError
from synthpipe.resources.sources import SourceResource, _not_found, _require_rows, signature
from synthpipe.resources.tracking import redact_uri

__all__ = ["FileSource"]


class FileSource(SourceResource):
    """Reads `<path>/<table>.<format>` (a file, or a folder of Parquet files).

    Examples:
        >>> FileSource(path="s3://lake/exports", format="parquet").read_table("orders")  # doctest: +SKIP
    """

    path: str = Field(description="Folder or object-store URL that holds one file (or Parquet folder) per table.")
    format: Literal["parquet", "csv"] = Field(default="parquet", description="File format of the tables.")

    def _filesystem(self) -> tuple[Any, str]:
        from pyarrow import fs

        if "://" in self.path:
            try:
                return fs.FileSystem.from_uri(self.path)
            except (pa.ArrowInvalid, OSError) as error:
                raise SourceError(f"`source.path` {redact_uri(self.path)!r} cannot be opened: {error}") from None
        return fs.LocalFileSystem(), str(Path(self.path).expanduser().resolve())

    def _file_name(self, table: str) -> str:
        return table if table.endswith(f".{self.format}") else f"{table}.{self.format}"

    def read_table(self, table: str, *, query: str | None = None, limit: int | None = None) -> pa.Table:
        from pyarrow import csv, fs, parquet

        if query is not None:
            raise SourceError(f"Table {table!r}: `query` needs a SQL or DuckDB source; a {self.format} source reads whole files.")
        filesystem, root = self._filesystem()
        location = f"{root.rstrip('/')}/{self._file_name(table)}"
        where = f"{self.format} folder {redact_uri(self.path)!r}"
        try:
            info = filesystem.get_file_info(location)
        except OSError as error:
            raise SourceError(
                f"Table {table!r}: cannot reach {where}: {redact_uri(str(error)).splitlines()[0]}. Check `source.path` "
                "(or the environment variable it names), the credentials and that the storage is reachable."
            ) from None
        if info.type == fs.FileType.NotFound:
            if filesystem.get_file_info(root).type == fs.FileType.File:
                folder = root.rsplit("/", 1)[0] or "/"
                raise SourceError(
                    f"Table {table!r}: `source.path` {redact_uri(self.path)!r} is a file; it must be the folder that holds "
                    f"one file per table (`<table>.{self.format}`). Set `source.path` to {folder!r} and name the table "
                    "after the file."
                )
            listing = filesystem.get_file_info(fs.FileSelector(root, allow_not_found=True))
            available = sorted(info.base_name.removesuffix(f".{self.format}") for info in listing)
            raise _not_found(table, where, available)
        try:
            if self.format == "parquet":
                arrow = parquet.read_table(location, filesystem=filesystem)
            else:
                with filesystem.open_input_stream(location) as stream:
                    arrow = csv.read_csv(stream)
        except (pa.ArrowInvalid, OSError) as error:
            raise SourceError(f"Table {table!r}: {location!r} is not a readable {self.format} file: {error}") from None
        if limit is not None:
            arrow = arrow.slice(0, limit)
        return _require_rows(arrow, table, where)

    def describe(self) -> str:
        return f"{self.format}:{redact_uri(self.path)}"

    def probe(self, table: str, *, query: str | None = None, limit: int | None = None) -> str | None:
        """The size and modification time of every file of the table: no data is read."""
        from pyarrow import fs

        filesystem, root = self._filesystem()
        location = f"{root.rstrip('/')}/{self._file_name(table)}"
        try:
            info = filesystem.get_file_info(location)
            files = (
                filesystem.get_file_info(fs.FileSelector(location, recursive=True))
                if info.type == fs.FileType.Directory
                else [info]
            )
        except OSError as error:
            raise SourceError(f"Table {table!r}: cannot probe {redact_uri(self.path)!r}: {redact_uri(str(error)).splitlines()[0]}") from None
        if info.type == fs.FileType.NotFound:
            return None  # the read reports the missing table with the available ones
        listing = sorted((f.path, f.size, f.mtime_ns) for f in files if f.type == fs.FileType.File)
        return signature([], listing, limit)
