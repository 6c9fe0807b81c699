"""Links a browser opens from the Dagster UI: reports and Data Docs over HTTP, MLflow pages.

A `file://` URL in asset metadata is dead in a browser ("Not allowed to load local resource").
`synthpipe serve` serves the report and Data Docs pages of the data folder over HTTP; every
link synthpipe records to a file under that folder is rewritten to that server's address.
MLflow runs and model versions link to the MLflow UI.
"""

from __future__ import annotations

import mimetypes
import posixpath
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit
from urllib.request import url2pathname

__all__ = ["DEFAULT_FILES_URL", "DEFAULT_MLFLOW_URL", "Links", "ServedFiles", "serve"]

DEFAULT_FILES_URL = "http://127.0.0.1:3100"
DEFAULT_MLFLOW_URL = "http://127.0.0.1:5000"
# MLflow 3.17's UI opens an experiment in its GenAI view (traces, evaluations) unless told.
_MODEL_TRAINING = "workflowType=machine_learning"
# What the pages need, nothing else: a browser never gets a staged pickle, a model or a source row.
_SERVED_SUFFIXES = frozenset({".html", ".css", ".js", ".png", ".svg", ".ico", ".woff2", ".otf", ".txt"})
# Data Docs sites, and the report and trend artifacts of MLflow runs (what assets link to).
_SERVED_FOLDERS = ("data_docs",)
_SERVED_ARTIFACTS = ("report", "trend")


@dataclass(frozen=True)
class Links:
    """Turns what synthpipe records into addresses a browser opens.

    Args:
        root: The data folder; files under it are served by `synthpipe serve`.
        files_url: Where `synthpipe serve` listens; None keeps file paths as they are.
        mlflow_url: The MLflow UI; None leaves runs and model versions unlinked.
    """

    root: Path
    files_url: str | None = DEFAULT_FILES_URL
    mlflow_url: str | None = DEFAULT_MLFLOW_URL

    def file(self, uri: str) -> str:
        """`file:///<root>/data_docs/adult/…/index.html` -> `<files_url>/data_docs/adult/…/index.html`;
        anything outside the data folder (an S3 artifact, say) comes back unchanged."""
        if self.files_url is None:
            return uri
        path = Path(url2pathname(urlsplit(uri).path)) if uri.startswith("file:") else Path(uri)
        try:
            relative = path.resolve().relative_to(self.root.resolve())
        except (ValueError, OSError):
            return uri
        return f"{self.files_url.rstrip('/')}/{quote(relative.as_posix())}"

    def run(self, experiment_id: str, run_id: str) -> str | None:
        if self.mlflow_url is None:
            return None
        return f"{self.mlflow_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{_MODEL_TRAINING}"

    def model_version(self, model_name: str, version: str) -> str | None:
        if self.mlflow_url is None:
            return None
        return f"{self.mlflow_url.rstrip('/')}/#/models/{quote(model_name, safe='')}/versions/{version}?{_MODEL_TRAINING}"


def _servable(relative: PurePosixPath) -> bool:
    """Only report and Data Docs pages and what they load (see `_SERVED_*`)."""
    if relative.suffix.lower() not in _SERVED_SUFFIXES or ".." in relative.parts or not relative.parts:
        return False
    if relative.parts[0] in _SERVED_FOLDERS:
        return True
    # mlflow/artifacts/<run id>/artifacts/<report|trend>/... (the default local store)
    parts = relative.parts
    return len(parts) > 5 and parts[:2] == ("mlflow", "artifacts") and parts[3] == "artifacts" and parts[4] in _SERVED_ARTIFACTS


class ServedFiles(SimpleHTTPRequestHandler):
    """Serves the servable files of one data folder; everything else is 404, and no listings."""

    def send_head(self):  # type: ignore[no-untyped-def]
        relative = PurePosixPath(posixpath.normpath(unquote(urlsplit(self.path).path)).lstrip("/"))
        if not _servable(relative):
            self.send_error(HTTPStatus.NOT_FOUND, "synthpipe serves report and Data Docs pages only")
            return None
        return super().send_head()

    def guess_type(self, path):  # type: ignore[no-untyped-def]
        return mimetypes.guess_type(str(path))[0] or "application/octet-stream"

    def log_message(self, format, *args):  # type: ignore[no-untyped-def]  # noqa: A002
        pass


def serve(root: Path, host: str = "127.0.0.1", port: int = 3100) -> ThreadingHTTPServer:
    """A server for `root`'s report and Data Docs pages (call `serve_forever` on it)."""
    return ThreadingHTTPServer((host, port), partial(ServedFiles, directory=str(root)))
