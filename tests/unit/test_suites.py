"""User suite files: what loading finds wrong, how rules become expectations, who wins over the
derived suite. Expectations are built and run with real Great Expectations."""

from __future__ import annotations

import textwrap

import pytest

from synthpipe.expectations.profile import derive_suite, profile_table
from synthpipe.expectations.runner import validate
from synthpipe.expectations.suites import SuiteError, load_suite, merge_suites, missing_columns

pytestmark = pytest.mark.unit


def _write(tmp_path, text: str, name: str = "adult.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_valid_suite_loads_with_where_each_entry_was_written(tmp_path):
    # Setup
    path = _write(
        tmp_path,
        """\
        suite: adult_contract
        expectations:
          - type: expect_column_values_to_be_between
            kwargs: {column: age, min_value: 17, max_value: 90}
          - type: expect_column_values_to_be_in_set
            kwargs: {column: income, value_set: ["<=50K", ">50K"]}
            severity: warn
            run_on: [synthetic]
        rules:
          - fixed_combinations: [education, educational-num]
          - {inequality: {low: capital-loss, high: capital-gain}, enforce: false}
        """,
    )

    # Run
    suite = load_suite(path)

    # Assert
    assert suite.name == "adult_contract"
    first, second = suite.expectations
    assert first.where == "adult.yaml, expectations[0] (line 3)" and first.run_on == {"source", "synthetic"}
    assert second.spec.severity == "warn" and second.run_on == {"synthetic"}
    assert [r.kind for r in suite.rules] == ["fixed_combinations", "inequality"]
    assert suite.rules[0].where == "adult.yaml, rules[0] (line 10)"
    assert [r.kind for r in suite.enforced_rules] == ["fixed_combinations"]
    # On the source: the age range and the inequality (a fixed combination proves nothing there)
    assert [s.type for s, _ in suite.source_specs()] == ["expect_column_values_to_be_between", "expect_column_pair_values_a_to_be_greater_than_b"]


def test_typos_name_the_file_entry_line_and_closest_names(tmp_path):
    # Setup: a misspelt type, a misspelt argument, a bad argument value, a misspelt rule
    path = _write(
        tmp_path,
        """\
        expectations:
          - type: expect_column_values_to_be_betwen
            kwargs: {column: age, min_value: 17}
          - type: expect_column_values_to_be_between
            kwargs: {column: age, min: 17}
          - type: expect_column_values_to_be_in_set
            kwargs: {column: income, value_set: 3}
            severity: fatal
        rules:
          - fixed_combination: [education, educational-num]
        """,
    )

    # Run
    with pytest.raises(SuiteError) as raised:
        load_suite(path)

    # Assert: every problem at once, each with its place and the fix
    problems = raised.value.problems
    text = "\n".join(problems)
    assert "adult.yaml, expectations[0] (line 2): unknown expectation type 'expect_column_values_to_be_betwen'" in text
    assert "Did you mean 'expect_column_values_to_be_between'" in text
    assert "adult.yaml, expectations[1] (line 4): expect_column_values_to_be_between has no argument 'min'" in text
    assert "'min_value'" in problems[1]
    assert "expectations[2] (line 6)" in text and "value_set" in text
    assert "`severity` must be 'error' (blocks) or 'warn' (reports); got 'fatal'" in text
    assert "adult.yaml, rules[0] (line 10)" in text and "Did you mean 'fixed_combinations'" in text


def test_an_empty_or_unreadable_suite_is_refused(tmp_path):
    with pytest.raises(SuiteError, match="has no `expectations` and no `rules`"):
        load_suite(_write(tmp_path, "suite: empty\n"))
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite(tmp_path / "missing.yaml")
    with pytest.raises(SuiteError, match="`suite` must be letters"):
        load_suite(_write(tmp_path, "suite: my-suite\nrules: [{inequality: {low: a, high: b}}]\n", "bad.yaml"))


def test_columns_the_table_lacks_are_named_with_the_closest(tmp_path):
    suite = load_suite(
        _write(
            tmp_path,
            """\
            expectations:
              - type: expect_column_values_to_be_between
                kwargs: {column: agee, min_value: 17, max_value: 90}
              - type: expect_table_columns_to_match_ordered_list
                kwargs: {column_list: [age, education, educational-num, income]}
            rules:
              - fixed_combinations: [education, education_num]
            """,
        )
    )

    problems = missing_columns([suite], ["age", "education", "educational-num"], "adult")

    # A missing `income` is what the column-list expectation itself reports (a guard failure), not a suite error
    assert len(problems) == 2
    assert "suite 'adult' (adult.yaml, expectations[0] (line 2))" in problems[0] and "'agee'" in problems[0]
    assert "Did you mean 'age'" in problems[0]
    assert "'education_num'" in problems[1] and "Did you mean 'educational-num'" in problems[1]


def test_the_users_expectation_replaces_the_derived_one_on_the_same_column(adult_slice):
    # Setup: the profile says age 17..90 on this slice; the user allows 16..100 and sets income's classes
    derived = derive_suite(profile_table(adult_slice), None)
    user = [
        ("expect_column_values_to_be_between", {"column": "age", "min_value": 16, "max_value": 100}),
        ("expect_column_values_to_be_in_set", {"column": "income", "value_set": ["<=50K", ">50K"]}),
    ]
    from synthpipe.expectations.profile import ExpectationSpec

    specs = [ExpectationSpec(t, k) for t, k in user]

    # Run
    kept, overridden = merge_suites(derived, specs)

    # Assert: exactly the two derived expectations on the same things gave way
    assert sorted((s.type, s.column) for s in overridden) == sorted((t, k["column"]) for t, k in user)
    assert len(kept) == len(derived) - 2
    assert ("expect_column_values_to_be_between", "fnlwgt") in {(s.type, s.column) for s in kept}


def test_rules_become_expectations_that_real_rows_pass_and_broken_rows_fail(tmp_path, adult_slice):
    # Setup
    suite = load_suite(
        _write(
            tmp_path,
            """\
            rules:
              - fixed_combinations: [education, educational-num]
              - range: {low: capital-loss, middle: hours-per-week, high: age, strict: false}
            """,
        )
    )
    specs = [s for s, _ in suite.synthetic_specs(adult_slice)]
    broken = adult_slice.copy()
    broken.loc[0, "educational-num"] = 1 if broken.loc[0, "education"] != "Preschool" else 2

    # Run
    real = validate(adult_slice, "adult", "adult.rules", [s for s in specs if s.type == "expect_column_pair_values_to_be_in_set"])
    failed = validate(broken, "adult", "adult.rules", specs)

    # Assert: the real rows keep their own combinations; one changed row is caught with its values
    assert real.success
    [failure] = [f for f in failed.failures if f.type == "expect_column_pair_values_to_be_in_set"]
    assert failure.unexpected_count == 1
    assert failure.unexpected_examples == [(broken.loc[0, "education"], int(broken.loc[0, "educational-num"]))]
    # hours-per-week above age: real Adult rows break `range` and the check shows how many
    ranged = {f.column: f.unexpected_count for f in failed.failures if f.type == "expect_column_pair_values_a_to_be_greater_than_b"}
    assert ranged["age, hours-per-week"] == int((adult_slice["hours-per-week"] > adult_slice["age"]).sum())
    assert ranged["hours-per-week, capital-loss"] == int((adult_slice["capital-loss"] > adult_slice["hours-per-week"]).sum())
