"""Published versions: time travel by number or date, clear errors, the CLI and the loader
that downstream assets use, on real Delta tables.
"""

from __future__ import annotations

import os

import time
from datetime import datetime, timezone

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from synthpipe.cli import main as cli
from synthpipe.errors import SnapshotNotFoundError
from synthpipe.resources.published import (
    PIN_VERSION,
    PublishedTable,
    PublishedTableLoader,
    read_synthetic,
)
from synthpipe.resources.snapshots import DeltaSnapshotStore

pytestmark = pytest.mark.integration


@pytest.fixture
def two_versions(tmp_path, adult_slice) -> tuple[DeltaSnapshotStore, datetime]:
    """Version 0 (200 rows, seed 1), then version 1 (300 rows, seed 2); returns the moment between."""
    store = DeltaSnapshotStore(root=str(tmp_path / "snapshots"))
    store.publish("adult", adult_slice.head(200), {"synthpipe/seed": 1, "synthpipe/rows": 200})
    time.sleep(0.05)
    between = datetime.now(timezone.utc)
    time.sleep(0.05)
    store.publish("adult", adult_slice.head(300), {"synthpipe/seed": 2, "synthpipe/rows": 300})
    return store, between


def test_time_travel_by_number_date_and_latest(two_versions, adult_slice):
    store, between = two_versions
    assert len(store.read("adult")) == 300
    assert len(store.read("adult", version=0)) == 200
    assert len(store.read("adult", as_of=between)) == 200
    pd.testing.assert_frame_equal(read_synthetic("adult", version=0, root=store.root), adult_slice.head(200), check_dtype=False)
    arrow = read_synthetic("adult", as_of=between.isoformat(), root=store.root, as_arrow=True)
    assert isinstance(arrow, pa.Table) and arrow.num_rows == 200


@pytest.mark.parametrize(
    ("table", "kwargs", "message"),
    [
        ("adult", {"version": 7}, "Table 'adult' has no version 7; versions available: 0, 1."),
        ("adults", {}, "Table 'adults' has never been published under"),
        ("adult", {"as_of": datetime(2001, 1, 1, tzinfo=timezone.utc)}, "Table 'adult' has no version published at or before 2001-01-01T00:00:00+00:00"),
    ],
)
def test_bad_requests_name_the_table_the_ask_and_what_exists(two_versions, table, kwargs, message):
    store, _ = two_versions
    with pytest.raises(SnapshotNotFoundError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        store.read(table, **kwargs)


def test_cli_lists_versions_newest_first(two_versions, capsys):
    store, _ = two_versions
    assert cli(["versions", "adult", "--root", store.root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["version", "published", "rows", "seed"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "0"]
    assert lines[1].split()[4] == "2"  # seed of version 1
    assert cli(["versions", "adults", "--root", store.root]) == 2


def test_downstream_asset_reads_a_pinned_version_and_records_it(two_versions):
    # Setup: a user's training asset pinned to version 0 of the published table
    store, _ = two_versions
    published = dg.AssetSpec(["adult", "published"])

    @dg.asset(ins={"twin": dg.AssetIn(published.key, input_manager_key="synthpipe_published", metadata={PIN_VERSION: 0})})
    def income_model(twin: PublishedTable) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={**twin.metadata(), "rows": len(twin.data)})

    # Run
    result = dg.materialize([published, income_model], resources={"synthpipe_published": PublishedTableLoader(root=store.root)}, selection=[income_model])

    # Assert
    [event] = result.asset_materializations_for_node("income_model")
    assert event.metadata["synthpipe/snapshot_version"].value == 0 and event.metadata["rows"].value == 200


def test_retention_keeps_the_newest_and_the_pinned_versions(base_config, data_dir, adult_slice, instance):
    # Setup: five published versions of adult; version 1 pinned by name
    from synthpipe.factory import MAINTENANCE_JOB, build_synthpipe_defs

    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    for night in range(5):
        store.publish("adult", adult_slice.head(100 + night), {"synthpipe/seed": night})
    config = {**base_config, "retention": {"keep_last": 2, "pins": {"adult": {"baseline": 1}}}}
    # ... and the Data Docs sites of four runs, oldest first
    docs = data_dir / "data_docs" / "adult"
    for night in range(4):
        (docs / f"run-{night}").mkdir(parents=True)
        (docs / f"run-{night}" / "index.html").write_text("<html></html>")
        os.utime(docs / f"run-{night}", (1_800_000_000 + night, 1_800_000_000 + night))

    # Run: the maintenance job, as its schedule would
    result = build_synthpipe_defs(config).resolve_job_def(MAINTENANCE_JOB).execute_in_process(instance=instance)

    # Assert: 3, 4 and the pinned 1 still read; 0 and 2 say why they cannot
    assert result.success
    assert [len(store.read("adult", version=v)) for v in (1, 3, 4)] == [101, 103, 104]
    for gone in (0, 2):
        with pytest.raises(SnapshotNotFoundError, match=f"Table 'adult' version {gone} can no longer be read"):
            store.read("adult", version=gone)
    assert [entry["version"] for entry in store.history("adult")] == [4, 3, 2, 1, 0]  # the log stays whole
    assert sorted(p.name for p in docs.iterdir()) == ["run-2", "run-3"]
