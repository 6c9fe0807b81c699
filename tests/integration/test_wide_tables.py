"""A wide table through the real refresh: the quality score measures a bounded, seeded subset
of the column pairs, says so, and reports progress while it measures them."""

from __future__ import annotations


import pytest

from bench.wide import TABLE, wide_config, widen
from synthpipe import metadata_keys as keys
from synthpipe.demo_data import load_adult, write_duckdb_table
from tests.conftest import served_file

pytestmark = pytest.mark.integration

COLUMNS = 60  # 1,770 column pairs, over the 500 that are measured
ROWS = 600


def test_a_wide_table_measures_a_bounded_subset_of_pairs_with_progress_lines(run_refresh, instance, tmp_path):
    # Setup: Adult widened to 60 columns with seeded noise, in a DuckDB file
    database = tmp_path / "sources" / "wide.duckdb"
    write_duckdb_table(database, TABLE, widen(load_adult(rows=ROWS, seed=7), COLUMNS, seed=0))

    # Run
    result = run_refresh(wide_config(tmp_path / "synthpipe", database))

    # Assert: published; the evaluation logged the bound and each quarter of the pairs
    assert result.success
    lines = [r.user_message for r in instance.all_logs(result.run_id) if r.step_key == f"{TABLE}__synthetic"]
    assert "Quality: measuring column pair trends on a seeded subset of 500 of the 1,770 pairs" in lines
    progress = [line.split(" pairs in ")[0] for line in lines if line.startswith("Quality: column pair trends ")]
    assert progress == [f"Quality: column pair trends {n}/500" for n in (125, 250, 375, 500)]
    assert any(line.startswith(f"Quality: column shapes done on {COLUMNS} columns") for line in lines)
    [event] = result.asset_materializations_for_node(f"{TABLE}__synthetic")
    report = served_file(event.metadata[keys.REPORT].value, tmp_path / "synthpipe").read_text()
    assert "500 of its 1,770 column pairs, a seeded random subset, were measured" in report
    assert "lowest-scoring pairs" in report  # a table of pairs, not a heat map of 60 columns
