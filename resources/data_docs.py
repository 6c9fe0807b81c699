"""Where Great Expectations Data Docs are built: one local site per table and Dagster run.

Each site holds that run's validations of the table (source guards, the derived suite, the
user suites); it is linked from the checks' metadata and logged to the table's MLflow run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from pydantic import Field

__all__ = ["DataDocsFolder"]


class DataDocsFolder(dg.ConfigurableResource):
    """The folder that holds the Data Docs sites (`<data_dir>/data_docs` by default)."""

    root: str = Field(description="Folder of the Data Docs sites: `<root>/<table>/<dagster run id>/index.html`.")

    def site(self, table: str, run_id: str) -> Path:
        return Path(self.root) / table / run_id

    def prune(self, table: str, keep: int) -> list[str]:
        """Removes all but the `keep` newest runs' sites of `table`; returns the run ids removed."""
        folder = Path(self.root) / table
        if not folder.is_dir():
            return []
        runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in runs[keep:]:
            shutil.rmtree(stale)
        return [p.name for p in runs[keep:]]
