"""Reading published synthetic tables: from Dagster assets, from any Python, from the shell.

Inside Dagster, `PublishedTableLoader` is an input manager: a downstream asset declares
`dg.AssetIn(["published", "adult"], input_manager_key="synthpipe_published")` and receives a
`PublishedTable` (the rows and the version they came from), latest by default or pinned with
`metadata={keys.VERSION: 3}` (or `keys.AS_OF: "2026-11-20T02:00:00"`).

Outside Dagster, `read_synthetic("adult", version=3)` returns the same rows as pandas or Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field

from synthpipe import metadata_keys as keys
from synthpipe.resources.snapshots import DeltaSnapshotStore

__all__ = ["PIN_AS_OF", "PIN_VERSION", "PublishedTable", "PublishedTableLoader", "default_store", "read_synthetic"]

PIN_VERSION = keys.VERSION
PIN_AS_OF = keys.AS_OF


@dataclass(frozen=True)
class PublishedTable:
    """Rows of one published version, with where they came from."""

    table: str
    version: int
    uri: str
    data: pd.DataFrame

    def metadata(self) -> dict[str, Any]:
        """Materialization metadata that records the version a downstream asset read."""
        return {keys.TABLE: self.table, keys.SNAPSHOT_VERSION: self.version, keys.SNAPSHOT_URI: dg.MetadataValue.path(self.uri)}


def default_store(root: str | None) -> DeltaSnapshotStore:
    """The store at `root`, else the project's `$SYNTHPIPE_HOME/snapshots`."""
    from synthpipe.config import resolve_data_dir

    return DeltaSnapshotStore(root=root or str(resolve_data_dir(None) / "snapshots"))


def read_synthetic(
    table: str,
    version: int | None = None,
    as_of: datetime | str | None = None,
    root: str | None = None,
    as_arrow: bool = False,
) -> pd.DataFrame | pa.Table:
    """Reads a published synthetic table: the latest version, a version number, or the newest
    version at a moment.

    Args:
        table: The table's name (`<group>/<table>` for a member of a relational group).
        version: A version number; default the latest.
        as_of: A datetime (or ISO 8601 string); the newest version published at or before it.
        root: The snapshot folder or URL; default `$SYNTHPIPE_HOME/snapshots`.
        as_arrow: Return a `pyarrow.Table` instead of a pandas DataFrame.

    Examples:
        >>> read_synthetic("adult", version=0).shape  # doctest: +SKIP
        (48842, 15)
    """
    moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    arrow = default_store(root).read_arrow(table, version, moment)
    return arrow if as_arrow else arrow.to_pandas()


def _table_of(key: dg.AssetKey) -> str:
    """`adult/published` -> `adult`; `nycflights/published/flights` -> `nycflights/flights`."""
    return "/".join(part for part in key.path if part != "published")


class PublishedTableLoader(dg.ConfigurableIOManager):
    """Loads a published synthetic table for a downstream asset; never writes.

    The version read is returned with the rows (`PublishedTable.version`) and recorded on the
    step's LOADED_INPUT event.
    """

    root: str = Field(description="Folder or URL of the published Delta tables (the snapshot store's root).")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        raise NotImplementedError("PublishedTableLoader only loads published tables; assign it to inputs.")

    def load_input(self, context: dg.InputContext) -> PublishedTable:
        pins = context.definition_metadata or {}
        table = _table_of(context.asset_key)
        store = DeltaSnapshotStore(root=self.root)
        as_of = pins.get(PIN_AS_OF)
        version = store.resolve_version(table, pins.get(PIN_VERSION), datetime.fromisoformat(as_of) if as_of else None)
        loaded = PublishedTable(table, version, store.table_uri(table), store.read(table, version))
        context.add_input_metadata({keys.SNAPSHOT_VERSION: version, "dagster/row_count": len(loaded.data)})
        return loaded
