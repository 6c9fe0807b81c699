"""The code location that `dagster dev -w workspace.yaml` loads: assets, checks and schedule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_workspace_validates_with_the_dagster_cli(tmp_path):
    # Run
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path), SYNTHPIPE_HOME=str(tmp_path / "data"))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    # Assert
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "Validation successful for code location synthpipe" in output


def test_code_location_declares_stages_checks_job_and_schedule():
    # Run
    from synthpipe.definitions import defs

    definitions = defs()

    # Assert
    graph = definitions.resolve_asset_graph()
    stages = ("source", "synthesizer", "synthetic")
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == {
        *(f"{name}/{stage}" for stage in stages for name in ("adult", "plane_flights", "nycflights", "bank", "transfers")),
        "adult/published",
        "adult/downstream",
        "plane_flights/published",
        "plane_flights/downstream",
        *(f"nycflights/published/{t}" for t in ("airlines", "airports", "planes", "flights")),
        "bank/published/customers",
        "bank/published/accounts",
        *(f"transfers/published/{t}" for t in ("transactions", "model", "agents")),
    }
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert checks == {
        ("adult/source", "guard_adult_contract"),
        ("adult/synthetic", "suite_adult_contract"),
        ("adult/synthetic", "expectations"),
        ("adult/synthetic", "quality"),
        ("adult/synthetic", "exact_copies"),
        ("adult/synthetic", "dcr"),
        ("adult/synthetic", "value_leaks"),
        ("adult/synthetic", "utility"),
        ("plane_flights/synthetic", "expectations"),
        ("plane_flights/synthetic", "quality"),
        ("plane_flights/synthetic", "exact_copies"),
        ("plane_flights/synthetic", "dcr"),
        ("plane_flights/synthetic", "value_leaks"),
        ("plane_flights/synthetic", "utility"),
        ("plane_flights/synthetic", "sequences"),
        ("plane_flights/synthetic", "sequence_lengths"),
        ("nycflights/synthetic", "expectations"),
        ("nycflights/synthetic", "referential_integrity"),
        ("nycflights/synthetic", "quality"),
        ("nycflights/synthetic", "exact_copies"),
        ("nycflights/synthetic", "dcr"),
        ("nycflights/synthetic", "value_leaks"),
        ("nycflights/synthetic", "utility"),
        *(("bank/synthetic", check) for check in ("distributions", "correlations", "rules", "keys", "fit")),
        ("transfers/synthetic", "collected"),
        ("transfers/synthetic", "suite_transactions_transfers_contract"),
    }
    # the generated set draws from the adult twin: the twin publishes first in the same run
    assert dg.AssetKey(["adult", "published"]) in graph.get(dg.AssetKey(["bank", "source"])).parent_keys
    synthetic = definitions.resolve_assets_def(dg.AssetKey(["adult", "synthetic"]))
    assert {spec.name: spec.blocking for spec in synthetic.check_specs} == {
        "expectations": True, "quality": True, "exact_copies": True, "dcr": True, "value_leaks": True, "utility": True, "suite_adult_contract": True
    }
    schedule = definitions.resolve_schedule_def("synthpipe_nightly_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "synthpipe_nightly_refresh"
    assert isinstance(definitions.resolve_job_def("synthpipe_nightly_refresh"), dg.JobDefinition)
