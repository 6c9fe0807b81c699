"""`make demo` end to end: the DuckDB source built from real tables, every entry published."""

from __future__ import annotations

import json

import pytest

from synthpipe.resources.snapshots import DeltaSnapshotStore
from tests.conftest import served_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]


# The whole demo (every kind of table, 48,842 Adult rows) beside another test process: more than
# the suite's 600 s per test on a loaded two-core runner. Nothing it asserts depends on time.
@pytest.mark.timeout(1800)
def test_demo_publishes_the_adult_twin(tmp_path, monkeypatch, capsys):
    # Setup
    monkeypatch.setenv("SYNTHPIPE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    from synthpipe.demo import main

    # Run
    exit_code = main()

    # Assert
    output = capsys.readouterr().out
    assert exit_code == 0, output
    assert (tmp_path / "sources" / "demo.duckdb").exists()
    store = DeltaSnapshotStore(root=str(tmp_path / "snapshots"))
    [version] = store.history("adult")
    assert version["version"] == 0 and int(version["rows"]) == 48_842
    assert "registered model synthpipe-adult version 1 (alias champion)" in output
    assert "adult: snapshot" in output and "version 0" in output and "quality score" in output
    assert [v["version"] for v in store.history("nycflights/flights")] == [0]
    assert [v["version"] for v in store.history("plane_flights")] == [0]
    assert json.loads(store.history("bank/customers")[0]["twin_versions"]) == {"adult": 0}
    assert "bank (generated, no source): version 0" in output and "drawn from the adult twin v0" in output
    assert [v["version"] for v in store.history("transfers/transactions")] == [0]
    assert "transfers (Mesa simulation): version 0" in output
    ranking = output.split("auto chose", 1)[1].split("privacy:", 1)[0]
    assert "| gaussian_copula |" in ranking and "| argn |" in ranking, output
    assert version["synthesizer"] in ("gaussian_copula", "argn")
    assert "guard_adult_contract on adult/source: passed" in output
    assert "suite_adult_contract on adult/synthetic:" in output
    docs = output.split("Data Docs: ", 1)[1].split()[0]
    assert served_file(docs, tmp_path).is_file() and "(`make ui` serves it)" in output
    assert "privacy: exact copies" in output and "utility (AUC, synthetic/real)" in output
    assert (tmp_path / "dagster").exists() and any((tmp_path / "dagster").iterdir())
