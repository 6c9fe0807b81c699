"""The suite derived from a profile, and running it with real Great Expectations."""

from __future__ import annotations

import pytest

from synthpipe.expectations.profile import derive_suite, profile_table
from synthpipe.expectations.runner import validate

pytestmark = pytest.mark.unit


def test_suite_follows_the_profile(adult_slice):
    # Run
    specs = derive_suite(profile_table(adult_slice), expected_rows=500)

    # Assert
    by_key = {(s.type, s.column): s.kwargs for s in specs}
    assert by_key[("expect_table_columns_to_match_ordered_list", None)]["column_list"] == list(adult_slice.columns)
    assert by_key[("expect_table_row_count_to_equal", None)]["value"] == 500
    age = by_key[("expect_column_values_to_be_between", "age")]
    assert (age["min_value"], age["max_value"]) == (adult_slice["age"].min(), adult_slice["age"].max())
    assert set(by_key[("expect_column_values_to_be_in_set", "income")]["value_set"]) == {"<=50K", ">50K"}
    assert "int64" in by_key[("expect_column_values_to_be_in_type_list", "age")]["type_list"]
    assert ("expect_column_values_to_not_be_null", "education") in by_key


def test_real_rows_pass_their_own_suite(adult_slice):
    specs = derive_suite(profile_table(adult_slice), expected_rows=len(adult_slice))
    result = validate(adult_slice, "adult", "adult.derived", specs)
    assert result.success, [f.describe() for f in result.failures]
    assert result.evaluated == len(specs)


def test_broken_rows_fail_with_observed_values(adult_slice):
    # Setup: an impossible age, an unknown income class, a missing column, a lost row
    specs = derive_suite(profile_table(adult_slice), expected_rows=len(adult_slice))
    broken = adult_slice.copy().drop(columns=["fnlwgt"]).iloc[1:].reset_index(drop=True)
    broken.loc[0, "age"] = 250
    broken.loc[1, "income"] = "unknown"

    # Run
    result = validate(broken, "adult", "adult.derived", specs)

    # Assert
    failed = {(f.type, f.column): f for f in result.failures}
    assert not result.success
    assert failed[("expect_column_values_to_be_between", "age")].unexpected_examples == [250]
    assert failed[("expect_column_values_to_be_in_set", "income")].unexpected_examples == ["unknown"]
    assert failed[("expect_table_row_count_to_equal", None)].observed == len(adult_slice) - 1
    assert ("expect_table_columns_to_match_ordered_list", None) in failed


def test_lenient_ranges_warn_instead_of_blocking(adult_slice):
    # Setup: an age past the real range, with `age` lenient
    specs = derive_suite(profile_table(adult_slice), expected_rows=len(adult_slice), lenient_ranges=["age"])
    older = adult_slice.copy()
    older.loc[0, "age"] = 250

    # Run
    result = validate(older, "adult", "adult.derived", specs)

    # Assert: reported, not blocking
    assert result.success
    [failure] = result.failures
    assert failure.severity == "warn" and "(warning)" in failure.describe()


def test_a_warn_severity_reports_the_whole_derived_suite_without_blocking(adult_slice):
    # Setup: a missing column and an age past the range, with `gate_severity: {expectations: warn}`
    specs = derive_suite(profile_table(adult_slice), expected_rows=len(adult_slice), severity="warn")
    broken = adult_slice.drop(columns=["education"]).copy()
    broken.loc[0, "age"] = 250

    # Run
    result = validate(broken, "adult", "adult.derived", specs)

    # Assert: every failure reported as a warning; none blocks
    assert len(result.failures) >= 2
    assert {f.severity for f in result.failures} == {"warn"}
    assert result.blocking_failures == []
