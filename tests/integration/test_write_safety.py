"""Publishing is all or nothing: a killed writer leaves no visible version, and two writers
at once never corrupt the table (Delta's optimistic concurrency).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from synthpipe.resources.snapshots import DeltaSnapshotStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys
import numpy as np, pandas as pd
from synthpipe.resources.snapshots import DeltaSnapshotStore
rows, seed = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
data = pd.DataFrame({f"c{i}": rng.random(rows) for i in range(8)})
data["seed"] = seed
print("writing", flush=True)
version = DeltaSnapshotStore(root=sys.argv[1]).publish("big", data, {"synthpipe/seed": seed})
print("published", version, flush=True)
"""


def _writer(root: Path, rows: int, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(rows), str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )


def _data_files(table: Path) -> set[Path]:
    return {p for p in table.glob("*.parquet")}


def test_a_killed_write_leaves_no_visible_version_and_the_next_write_succeeds(tmp_path):
    # Setup: version 0 exists
    store = DeltaSnapshotStore(root=str(tmp_path))
    store.publish("big", pd.DataFrame({"c0": [0.5], "seed": [0]}), {"synthpipe/seed": 0})
    table = tmp_path / "big"
    before = _data_files(table)

    # Run: a real writer of a large version, killed once its data files start to appear
    writer = _writer(tmp_path, rows=12_000_000, seed=1)
    deadline = time.monotonic() + 120
    while not (_data_files(table) - before) and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)

    # Assert: killed mid-write (files begun, nothing committed), version 0 intact, next write fine
    assert writer.returncode == -signal.SIGKILL, writer.stdout.read() if writer.stdout else ""
    assert _data_files(table) - before, "the writer was killed before it wrote anything"
    assert store.latest_version("big") == 0
    assert store.read("big")["seed"].tolist() == [0]
    assert store.publish("big", pd.DataFrame({"c0": [0.25], "seed": [2]}), {"synthpipe/seed": 2}) == 1
    assert store.read("big")["seed"].tolist() == [2]


def test_two_writers_at_once_never_corrupt_the_table(tmp_path):
    # Setup
    store = DeltaSnapshotStore(root=str(tmp_path))
    store.publish("big", pd.DataFrame({"c0": [0.5], "seed": [0]}), {"synthpipe/seed": 0})

    # Run: two real processes publish the same table at the same time
    writers = [_writer(tmp_path, rows=300_000, seed=seed) for seed in (1, 2)]
    outcomes = [(w.wait(timeout=180), *w.communicate()) for w in writers]

    # Assert: both land (the loser of a commit race commits again on top), each version whole
    # and carrying its own writer's metadata
    for code, out, err in outcomes:
        assert code == 0, err[-2000:]
    history = store.history("big")
    assert sorted(entry["version"] for entry in history) == [0, 1, 2]
    assert sorted(entry["seed"] for entry in history[:2]) == ["1", "2"]
    for entry in history[:2]:
        data = store.read("big", version=entry["version"])
        assert len(data) == 300_000 and set(data["seed"]) == {int(entry["seed"])}


REFRESH = """
import sys
from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
config = {"data_dir": sys.argv[1], "source": {"kind": "duckdb", "database": "sources/adult.duckdb"},
          "mlflow": {"experiment": "synthpipe-test"},
          "tables": [{"name": "adult", "quality_threshold": 0.6, "num_rows": int(sys.argv[2]), "sample_chunk_rows": 20000}]}
result = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB).execute_in_process(raise_on_error=False)
print("finished", result.success, flush=True)
"""


@pytest.mark.slow
def test_a_refresh_killed_while_sampling_publishes_nothing_and_the_next_one_succeeds(run_refresh, base_config, data_dir):
    # Setup: a night already published version 0
    assert run_refresh(base_config).success
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    published = store.read("adult")

    # Run: a real refresh of 2,000,000 rows in its own process, killed once sampling has begun
    refresh = subprocess.Popen(
        [sys.executable, "-c", REFRESH, str(data_dir), "2000000"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )
    log = []
    assert refresh.stdout is not None
    for line in refresh.stdout:
        log.append(line)
        if "Sampled " in line and " rows (" in line:  # the first chunk is done, sampling goes on
            break
    refresh.send_signal(signal.SIGKILL)
    refresh.wait(timeout=30)

    # Assert: killed during sampling; version 0 is still the latest and whole; the next night publishes
    assert refresh.returncode == -signal.SIGKILL, "".join(log[-20:])
    assert not any("Published 'adult'" in line for line in log)
    assert [entry["version"] for entry in store.history("adult")] == [0]
    pd.testing.assert_frame_equal(store.read("adult"), published)
    assert run_refresh(base_config).success
    assert store.latest_version("adult") == 1


def test_staged_chunks_publish_as_one_version_and_stale_ones_are_cleaned(tmp_path):
    # Setup: version 0, then three chunks staged for a candidate (a reader sees none of them)
    store = DeltaSnapshotStore(root=str(tmp_path / "snapshots"), staging=str(tmp_path / "staging"))
    store.publish("big", pd.DataFrame({"c0": [0.5], "seed": [0]}), {"synthpipe/seed": 0})
    writer = store.stage("big", "run-1")
    for seed in (1, 2, 3):
        writer.write(pd.DataFrame({"c0": [seed / 10] * 1_000, "seed": [seed] * 1_000}))
    assert store.read("big")["seed"].tolist() == [0]

    # Run
    version = store.publish_staged("big", str(writer.folder), {"synthpipe/seed": 1})

    # Assert: one commit holds every chunk, the staging folder is gone
    assert version == 1 and store.latest_version("big") == 1
    assert store.read("big").groupby("seed").size().to_dict() == {1: 1_000, 2: 1_000, 3: 1_000}
    assert not writer.folder.exists()

    # Run: a run that staged and died long ago leaves chunks; the clean-up removes only old ones
    stale, fresh = store.stage("big", "killed"), store.stage("big", "running")
    stale.write(pd.DataFrame({"c0": [1.0], "seed": [9]}))
    fresh.write(pd.DataFrame({"c0": [1.0], "seed": [8]}))
    old = time.time() - 2 * 24 * 3600
    os.utime(stale.folder / "part-00000.parquet", (old, old))
    assert store.clean_staging(older_than_hours=24) == [str(stale.folder)]
    assert not stale.folder.exists() and fresh.folder.exists()


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_staged_chunks_become_the_versions_data_files_unrewritten(tmp_path):
    # Setup: version 0, then two chunks staged; their bytes fingerprinted
    store = DeltaSnapshotStore(root=str(tmp_path / "snapshots"), staging=str(tmp_path / "staging"))
    store.publish("big", pd.DataFrame({"c0": [0.5], "seed": [0]}), {"synthpipe/seed": 0})
    writer = store.stage("big", "run-1")
    for seed in (1, 2):
        writer.write(pd.DataFrame({"c0": [seed / 10] * 5_000, "seed": [seed] * 5_000}))
    staged = sorted(_digest(p) for p in writer.folder.glob("part-*.parquet"))

    # Run
    version = store.publish_staged("big", str(writer.folder), {"synthpipe/seed": 1})

    # Assert: the version's files are the staged files, byte for byte (moved, not rewritten),
    # and version 0 is still there to travel back to
    from deltalake import DeltaTable

    table = DeltaTable(store.table_uri("big"))
    assert version == 1
    assert sorted(_digest(Path(uri.removeprefix("file://"))) for uri in table.file_uris()) == staged
    assert store.read("big").groupby("seed").size().to_dict() == {1: 5_000, 2: 5_000}
    assert store.read("big", version=0)["seed"].tolist() == [0]
    import pyarrow as pa

    assert pa.table(table.get_add_actions(flatten=True)).column("num_records").to_pylist() == [5_000, 5_000]


def test_a_staged_version_whose_columns_changed_replaces_the_schema(tmp_path):
    # Setup: version 0 with two columns; a candidate without one of them and with a new one
    store = DeltaSnapshotStore(root=str(tmp_path / "snapshots"), staging=str(tmp_path / "staging"))
    store.publish("big", pd.DataFrame({"c0": [0.5], "seed": [0]}), {"synthpipe/seed": 0})
    writer = store.stage("big", "run-1")
    writer.write(pd.DataFrame({"seed": [1, 2], "note": ["a", "b"]}))

    # Run
    store.publish_staged("big", str(writer.folder), {"synthpipe/seed": 1})

    # Assert
    assert list(store.read("big").columns) == ["seed", "note"]
    assert list(store.read("big", version=0).columns) == ["c0", "seed"]
