"""Where Great Expectations Data Docs are built: one local site per table and Dagster run.

Each site holds that run's validations of the table (source guards, the derived suite, the
user suites); it is linked from the checks' metadata and logged to the table's MLflow run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from pydantic import Field

from synthpipe.resources.links import Links

__all__ = ["DataDocsFolder"]


class DataDocsFolder(dg.ConfigurableResource):
    """The folder that holds the Data Docs sites (`<data_dir>/data_docs` by default)."""

    root: str = Field(description="Folder of the Data Docs sites: `<root>/<table>/<dagster run id>/index.html`.")
    files_root: str | None = Field(default=None, description="Data folder whose files `synthpipe serve` serves.")
    files_url: str | None = Field(default=None, description="Address of `synthpipe serve`; pages under `files_root` link there.")

    def link(self, uri: str) -> str:
        """The address a browser opens for a page of a site (its file URI without a server)."""
        if not (self.files_root and self.files_url):
            return uri
        return Links(root=Path(self.files_root), files_url=self.files_url, mlflow_url=None).file(uri)

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
