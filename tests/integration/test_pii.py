"""Personal columns are never learned: every value in the snapshot is generated fresh."""

from __future__ import annotations

import pytest

from synthpipe.demo_data import load_nycflights, write_duckdb_table
from synthpipe.resources.snapshots import DeltaSnapshotStore

pytestmark = pytest.mark.integration


def test_no_source_value_of_a_pii_column_reaches_the_snapshot(run_refresh, data_dir):
    # Setup: the real airports table; `name` (free text naming a place) is declared personal
    airports = load_nycflights("airports")
    write_duckdb_table(data_dir / "sources" / "airports.duckdb", "airports", airports)
    config = {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": "sources/airports.duckdb"},
        "tables": [{"name": "airports", "pii": {"name": "company"}, "quality_threshold": 0.5, "seed": 4}],
    }

    # Run
    result = run_refresh(config)

    # Assert
    assert result.success
    snapshot = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read("airports")
    assert len(snapshot) == len(airports) and snapshot["name"].notna().all()
    assert not snapshot["name"].isin(set(airports["name"])).any()
    assert snapshot["tzone"].isin(set(airports["tzone"].dropna())).mean() > 0.9  # other columns are learned
