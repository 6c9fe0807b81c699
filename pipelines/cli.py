"""The `synthpipe` command: `versions TABLE` lists the published versions of a table with what
made them, `reproduce TABLE VERSION` regenerates one, `serve` serves reports and Data Docs."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from synthpipe.errors import SynthpipeError
from synthpipe.resources.published import default_store

__all__ = ["main"]

_COLUMNS = ("version", "published", "rows", "seed", "model_version", "quality_score", "dagster_run_id")


def _rows(table: str, root: str | None) -> list[list[str]]:
    store = default_store(root)
    store.resolve_version(table)  # a clear error when the table was never published
    rows = []
    for entry in store.history(table):
        published = datetime.fromtimestamp(entry["timestamp"] / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        values = {**entry, "published": published}
        rows.append([str(values.get(column, "")) for column in _COLUMNS])
    return rows


def _reproduce(arguments: argparse.Namespace) -> int:
    import os

    from synthpipe.config import resolve_data_dir
    from synthpipe.resources.reproduce import reproduce
    from synthpipe.resources.tracking import MlflowTracker

    uri = arguments.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{resolve_data_dir(None) / 'mlflow' / 'mlflow.db'}"
    result = reproduce(arguments.table, arguments.version, default_store(arguments.root), MlflowTracker(tracking_uri=uri))
    verdict = "identical" if result.identical else "DIFFERENT"
    print(f"{result.table} version {result.version} from {result.model} with seed {result.seed}: {verdict} (row hash {result.regenerated_hash[:16]})")
    return 0 if result.identical else 1


def _serve(arguments: argparse.Namespace) -> int:
    from synthpipe.config import resolve_data_dir
    from synthpipe.resources.links import serve

    root = resolve_data_dir(arguments.data_dir)
    server = serve(root, arguments.host, arguments.port)
    print(f"synthpipe: serving the reports and Data Docs of {root} on http://{arguments.host}:{arguments.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthpipe", description="Inspect published synthetic tables; serve their reports.")
    commands = parser.add_subparsers(dest="command", required=True)
    versions = commands.add_parser("versions", help="List a table's published versions, newest first.")
    versions.add_argument("table", help="Table name; `<group>/<table>` for a member of a group.")
    versions.add_argument("--root", default=None, help="Snapshot folder or URL (default: $SYNTHPIPE_HOME/snapshots).")
    again = commands.add_parser("reproduce", help="Regenerate a version from its registered model and seed; compare.")
    again.add_argument("table", help="Table name.")
    again.add_argument("version", type=int, help="Version number.")
    again.add_argument("--root", default=None, help="Snapshot folder or URL (default: $SYNTHPIPE_HOME/snapshots).")
    again.add_argument("--tracking-uri", default=None, help="MLflow URI (default: $MLFLOW_TRACKING_URI, else the local store).")
    served = commands.add_parser("serve", help="Serve the data folder's reports and Data Docs over HTTP (the links on assets).")
    served.add_argument("--data-dir", default=None, help="Data folder (default: $SYNTHPIPE_HOME, else .synthpipe).")
    served.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    served.add_argument("--port", type=int, default=3100, help="Port (default 3100, the default `links.files_url`).")
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        return _serve(arguments)
    try:
        if arguments.command == "reproduce":
            return _reproduce(arguments)
        rows = _rows(arguments.table, arguments.root)
    except SynthpipeError as error:
        print(f"synthpipe: {error}", file=sys.stderr)
        return 2
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
