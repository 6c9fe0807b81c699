"""User suites end to end: real Great Expectations on the source and the candidate, real SDV
constraints, real Dagster checks, Data Docs on disk and in a real MLflow store."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mlflow import MlflowClient

from synthpipe.errors import ConfigError
from synthpipe.factory import build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from tests.conftest import served_file, step_error, with_table

pytestmark = pytest.mark.integration


@pytest.fixture
def suites_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "contracts"
    folder.mkdir()
    return folder


def _config(base_config: dict, suites_dir: Path, suite: str, **table) -> dict:
    (suites_dir / "adult.yaml").write_text(textwrap.dedent(suite))
    config = with_table(base_config, expectation_suites=["adult.yaml"], gate_severity={"dcr": "warn"}, **table)
    return {**config, "expectations_dir": str(suites_dir)}


def _checks(result) -> dict:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def _history(data_dir: Path) -> list[int]:
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    return [v["version"] for v in store.history("adult")] if store.latest_version("adult") is not None else []


CONTRACT = """\
    suite: adult_contract
    expectations:
      - type: expect_column_values_to_be_between
        kwargs: {column: age, min_value: 16, max_value: 95}
      - type: expect_column_values_to_be_in_set
        kwargs: {column: income, value_set: ["<=50K", ">50K"]}
      - type: expect_column_values_to_be_between
        kwargs: {column: fnlwgt, min_value: 100000, max_value: 200000}
        run_on: [synthetic]
        severity: warn
    """


def test_a_user_suite_is_one_check_listing_failures_with_data_docs(run_refresh, base_config, suites_dir, data_dir):
    # Run
    result = run_refresh(_config(base_config, suites_dir, CONTRACT))

    # Assert: a warning does not block; the guard ran on every source row
    assert result.success, step_error(result)
    assert _history(data_dir) == [0]
    checks = _checks(result)
    guard = checks[("adult/source", "guard_adult_contract")]
    assert guard.passed and guard.metadata["synthpipe/guard_rows"].value == 1200
    suite = checks[("adult/synthetic", "suite_adult_contract")]
    assert not suite.passed and suite.severity.value == "WARN"
    assert suite.metadata["synthpipe/expectations_evaluated"].value == 3
    listed = suite.metadata["synthpipe/failed_expectations"].value
    assert "`expect_column_values_to_be_between` | fnlwgt |" in listed and "adult.yaml, expectations[2] (line 7)" in listed
    # The user's age and fnlwgt ranges and income set replaced the derived ones
    derived = checks[("adult/synthetic", "expectations")]
    assert derived.passed and derived.metadata["synthpipe/overridden_by_user_suites"].value == 3
    # Data Docs: the page the check links exists and the site is in the table's MLflow run
    page = served_file(suite.metadata["synthpipe/data_docs"].value, data_dir)
    assert page.is_file() and "fnlwgt" in page.read_text() and "100000" in page.read_text()
    assert served_file(guard.metadata["synthpipe/data_docs"].value, data_dir).is_file()
    run_id = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")[0]["mlflow_run_id"]
    client = MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    logged = {a.path for a in client.list_artifacts(run_id, "data_docs")}
    assert "data_docs/index.html" in logged and "data_docs/validations" in logged
    assert client.get_run(run_id).data.metrics["suite.adult_contract.failed"] == 1


def test_a_source_that_fails_its_guard_publishes_nothing(run_refresh, base_config, suites_dir, data_dir, instance):
    # Setup: a night that publishes version 0
    assert run_refresh(_config(base_config, suites_dir, CONTRACT)).success
    # ... then the owners' rule says the mean age is in years between 50 and 60 (the load "changed unit")
    broken = CONTRACT.rstrip(" ") + textwrap.indent(
        "  - type: expect_column_mean_to_be_between\n    kwargs: {column: age, min_value: 50, max_value: 60}\n", "    "
    )

    # Run
    result = run_refresh(_config(base_config, suites_dir, broken))

    # Assert: the guard blocked before fitting; version 0 is still the latest
    assert not result.success
    guard = _checks(result)[("adult/source", "guard_adult_contract")]
    assert not guard.passed and guard.severity.value == "ERROR"
    assert "expect_column_mean_to_be_between` | age |" in guard.metadata["synthpipe/failed_expectations"].value
    assert "guard_adult_contract" in step_error(result)
    assert not result.asset_materializations_for_node("adult__synthesizer")
    assert _history(data_dir) == [0]
    messages = [e.user_message for e in instance.all_logs(result.run_id) if "Source guard" in (e.user_message or "")]
    assert messages and "expect_column_mean_to_be_between on 'age'" in messages[0] and "adult.yaml" in messages[0]


RULE = """\
    suite: education
    rules:
      - {{fixed_combinations: [education, educational-num], enforce: {enforce}}}
    """


def test_a_rule_is_broken_without_its_constraint_and_obeyed_with_it(run_refresh, base_config, suites_dir, data_dir, adult_slice):
    # Run: the same rule, first only checked, then enforced as an SDV constraint
    checked_only = run_refresh(_config(base_config, suites_dir, RULE.format(enforce="false")))
    enforced = run_refresh(_config(base_config, suites_dir, RULE.format(enforce="true")))

    # Assert: without the constraint the Gaussian copula mixes education and its number ...
    broken = _checks(checked_only)[("adult/synthetic", "suite_education")]
    assert not checked_only.success and not broken.passed
    assert "expect_column_pair_values_to_be_in_set` | education, educational-num |" in broken.metadata["synthpipe/failed_expectations"].value
    # ... with it, every synthetic pair is a real one, proven by the same check, and published
    assert enforced.success, step_error(enforced)
    assert _checks(enforced)[("adult/synthetic", "suite_education")].passed
    [version] = DeltaSnapshotStore(root=str(data_dir / "snapshots")).history("adult")
    published = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read("adult", int(version["version"]))
    real_pairs = set(adult_slice[["education", "educational-num"]].itertuples(index=False, name=None))
    assert set(published[["education", "educational-num"]].itertuples(index=False, name=None)) <= real_pairs


def test_a_suite_naming_a_missing_column_stops_with_the_closest_name(run_refresh, base_config, suites_dir, data_dir):
    suite = CONTRACT.replace("column: income", "column: incme")

    result = run_refresh(_config(base_config, suites_dir, suite))

    assert not result.success
    error = step_error(result)
    assert "suite 'adult_contract' (adult.yaml, expectations[1] (line 5))" in error
    assert "'incme'" in error and "Did you mean 'income'" in error
    assert _history(data_dir) == []


def test_a_typo_in_a_suite_fails_when_definitions_load(base_config, suites_dir):
    suite = CONTRACT.replace("expect_column_values_to_be_in_set", "expect_column_values_to_be_inset")

    with pytest.raises(ConfigError) as raised:
        build_synthpipe_defs(_config(base_config, suites_dir, suite))

    message = str(raised.value)
    assert "table 'adult': adult.yaml, expectations[1] (line 5): unknown expectation type 'expect_column_values_to_be_inset'" in message
    assert "Did you mean 'expect_column_values_to_be_in_set'" in message


def test_argn_obeys_a_rule_by_drawing_again(run_refresh, base_config, suites_dir, data_dir, adult_slice):
    pytest.importorskip("mostlyai.engine")
    # bounded by epochs, not by time: the time budget (minutes) is far above what 3 epochs take
    argn = {"synthesizer": "argn", "synthesizer_params": {"max_epochs": 3, "random_state": 1}}

    # Run: TabularARGN takes no SDV constraints; rows that break the rule are drawn again
    result = run_refresh(_config(base_config, suites_dir, RULE.format(enforce="true"), **argn))

    # Assert: published, and every pair of the 1,200 rows is a real one
    assert result.success, step_error(result)
    assert _checks(result)[("adult/synthetic", "suite_education")].passed
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    published = store.read("adult", 0)
    assert len(published) == len(adult_slice)
    real_pairs = set(adult_slice[["education", "educational-num"]].itertuples(index=False, name=None))
    assert set(published[["education", "educational-num"]].itertuples(index=False, name=None)) <= real_pairs
