"""Gates as a person reads them: the verdict in one line, and every check of a candidate in one table."""

import dagster as dg
import pytest

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.gates import GATES, checks_summary, gate_result

pytestmark = pytest.mark.unit


def test_a_passing_gate_says_its_verdict_in_one_line():
    # Run
    result = gate_result("quality", 0.95484, 0.75, "error")

    # Assert: the verdict; the measure first under its own name, the threshold as text (not plotted)
    assert result.passed and result.description == "quality 0.9548 ≥ 0.75 ✓ (`quality_threshold`)"
    assert list(result.metadata)[:2] == [keys.QUALITY_SCORE, keys.GATE_THRESHOLD]
    assert result.metadata[keys.QUALITY_SCORE] == dg.FloatMetadataValue(0.95484)
    assert result.metadata[keys.GATE_THRESHOLD] == dg.MetadataValue.text("≥ 0.75 (quality_threshold)")


def test_a_measure_the_caller_also_passes_is_recorded_once_and_first():
    # Run: the caller's metadata repeats the measure (rounded differently)
    result = gate_result("dcr", 0.41125, 0.6, "error", {keys.NNDR_MEDIAN: 0.95, keys.DCR_CLOSER_SHARE: dg.FloatMetadataValue(0.4112)})

    # Assert
    assert list(result.metadata) == [keys.DCR_CLOSER_SHARE, keys.GATE_THRESHOLD, keys.NNDR_MEDIAN]
    assert result.metadata[keys.DCR_CLOSER_SHARE].value == 0.41125


def test_a_missed_gate_names_the_measure_value_threshold_and_setting_first():
    # Run
    result = gate_result("dcr", 0.7123, 0.6, "warn")

    # Assert
    first_line = result.description.splitlines()[0]
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert first_line.startswith(GATES["dcr"].label + " 0.7123")
    assert "0.1123 above the threshold 0.6 (`max_dcr_closer_share`)" in first_line


def test_the_summary_lists_every_check_with_its_verdict_and_whether_it_blocks():
    # Setup: two gates and a check that is no gate
    results = [
        gate_result("quality", 0.58, 0.75, "error"),
        gate_result("exact_copies", 0.0, 0.01, "error"),
        dg.AssetCheckResult(check_name="expectations", passed=True, severity=dg.AssetCheckSeverity.ERROR),
    ]

    # Run
    rows = checks_summary(results).splitlines()

    # Assert
    assert rows[0] == "| check | measured | threshold | verdict | on a miss |"
    assert rows[2] == "| quality | 0.5800 | ≥ 0.75 | ✗ failed | blocks |"
    assert rows[3] == "| exact_copies | 0.0000 | ≤ 0.01 | ✓ passed | blocks |"
    assert rows[4] == "| expectations | - | - | ✓ passed | blocks |"
