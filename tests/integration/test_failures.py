"""Bad input stops the run with a message that names the thing and the fix, and the version
published before stays exactly as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from mlflow import MlflowClient

from synthpipe.errors import ConfigError
from synthpipe.factory import build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from tests.conftest import assert_unchanged, step_error, with_table

pytestmark = pytest.mark.integration


def _published(result: dg.ExecuteInProcessResult) -> list[object]:
    return result.asset_materializations_for_node("adult__published")


@pytest.mark.slow
def test_failed_quality_gate_publishes_nothing(run_refresh, base_config, data_dir, store):
    # Setup: a good night publishes version 0 and moves `champion` to model version 1
    assert run_refresh(base_config).success

    # Run: a threshold no synthesizer reaches
    result = run_refresh(with_table(base_config, quality_threshold=0.999))

    # Assert: the gate failed with its numbers, nothing was published, the champion stayed
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["quality"].passed
    assert evaluations["quality"].metadata["synthpipe/threshold"].value == "≥ 0.999 (quality_threshold)"
    assert "below the threshold 0.999" in evaluations["quality"].description
    assert _published(result) == []
    assert store.latest_version("adult") == 0
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias("synthpipe-adult", "champion").version) == "1"
    # a gate setting is no fit setting: the night reused model v1 and sampled it again, in a new run
    assert str(client.get_model_version_by_alias("synthpipe-adult", "candidate").version) == "1"
    [fitted] = result.asset_materializations_for_node("adult__synthesizer")
    failed_run = client.get_run(fitted.metadata["synthpipe/mlflow_run_id"].value)
    assert failed_run.info.status == "FAILED"
    assert failed_run.data.tags["synthpipe/blocked_by"] == "quality"


def test_privacy_gate_blocks_and_says_by_how_much(run_refresh, base_config, store, published_before):
    # Run: no synthetic row may be closer to training than to holdout rows: an impossible bar
    result = run_refresh(with_table(base_config, max_dcr_closer_share=0.0))

    # Assert
    assert not result.success
    dcr = {e.check_name: e for e in result.get_asset_check_evaluations()}["dcr"]
    assert not dcr.passed
    measured = dcr.metadata["synthpipe/dcr_closer_to_training_share"].value
    threshold = dcr.metadata["synthpipe/threshold"].value
    assert measured > 0 and threshold == "≤ 0.0 (max_dcr_closer_share), decided on the 95% interval"
    # The description gives the measure, the threshold it is above with 95% confidence, and the interval
    said = re.fullmatch(
        r"share of synthetic rows closer to training than to holdout rows \(DCR\) "
        r"(\d\.\d{4}) is above the threshold 0\.0 with 95% confidence \(interval (\d\.\d{4})-(\d\.\d{4}); `max_dcr_closer_share`\)",
        dcr.description,
    )
    assert said, dcr.description
    assert abs(float(said[1]) - measured) <= 1e-4 and float(said[2]) <= measured <= float(said[3])
    assert dcr.metadata["synthpipe/interval"].value == f"{said[2]}-{said[3]}"
    assert_unchanged(store, published_before)


def test_warn_severity_reports_a_miss_and_still_publishes(run_refresh, base_config, store):
    # Run
    result = run_refresh(with_table(base_config, max_dcr_closer_share=0.0, gate_severity={"dcr": "warn"}))

    # Assert
    assert result.success
    dcr = {e.check_name: e for e in result.get_asset_check_evaluations()}["dcr"]
    assert not dcr.passed and dcr.severity == dg.AssetCheckSeverity.WARN
    assert store.latest_version("adult") == 0


def test_missing_source_table_names_it_and_keeps_the_last_version(
    run_refresh, base_config, store, published_before
):
    # Run
    result = run_refresh(with_table(base_config, source_table="adults"))

    # Assert
    assert not result.success
    message = step_error(result)
    assert "Source table 'adults' was not found" in message
    assert "Did you mean 'adult'?" in message
    assert "Fix `source_table`" in message
    assert_unchanged(store, published_before)


def test_empty_source_table_is_refused(run_refresh, base_config, source_db, store, published_before):
    # Setup
    with duckdb.connect(str(source_db)) as connection:
        connection.execute("CREATE TABLE empty_adult AS SELECT * FROM adult LIMIT 0")

    # Run
    result = run_refresh(with_table(base_config, source_table="empty_adult"))

    # Assert
    assert not result.success
    assert "Source table 'empty_adult'" in step_error(result)
    assert "has no rows" in step_error(result)
    assert_unchanged(store, published_before)


def test_unmodelable_column_is_named_with_the_fix(run_refresh, base_config, source_db, store, published_before):
    # Setup: a binary column, which no synthesizer can model
    with duckdb.connect(str(source_db)) as connection:
        connection.execute("ALTER TABLE adult ADD COLUMN scan BLOB DEFAULT '\\xAA\\xBB'::BLOB")

    # Run
    result = run_refresh(base_config)

    # Assert
    assert not result.success
    message = step_error(result)
    assert "'scan' (binary)" in message
    assert "exclude_columns: ['scan']" in message
    assert_unchanged(store, published_before)


def test_excluded_column_is_left_out(base_config, source_db, instance):
    # Setup
    with duckdb.connect(str(source_db)) as connection:
        connection.execute("ALTER TABLE adult ADD COLUMN scan BLOB DEFAULT '\\xAA\\xBB'::BLOB")
    definitions = build_synthpipe_defs(with_table(base_config, exclude_columns=["scan"]))

    # Run: only the source stage, which is where the column would be refused
    result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(["adult", "source"])]
    )

    # Assert
    [event] = result.asset_materializations_for_node("adult__source")
    columns = [c.name for c in event.metadata["dagster/column_schema"].value.columns]
    assert "scan" not in columns and "income" in columns


def test_unreachable_mlflow_store_fails_clearly_without_leaking_credentials(
    run_refresh, base_config, store, published_before, monkeypatch
):
    # Setup: credentials in the URI come from the environment; nothing listens on port 9
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    monkeypatch.setenv("SYNTHPIPE_TEST_TRACKING_URI", "http://alice:s3cr3t-token@127.0.0.1:9")
    config = dict(base_config, mlflow={"tracking_uri": {"env": "SYNTHPIPE_TEST_TRACKING_URI"}})

    # Run
    result = run_refresh(config)

    # Assert
    assert not result.success
    message = step_error(result)
    assert "MLflow run creation failed" in message or "MLflow experiment lookup failed" in message
    assert "http://***@127.0.0.1:9" in message
    assert "Check `mlflow.tracking_uri`" in message
    every_event = "\n".join(str(event) for event in result.all_events)
    assert "s3cr3t-token" not in message and "s3cr3t-token" not in every_event
    assert_unchanged(store, published_before)


def test_yaml_typo_is_reported_with_the_fix(tmp_path):
    # Setup
    path = tmp_path / "synthpipe.yaml"
    path.write_text(
        "source: {database: sources/adult.duckdb}\n"
        "tables:\n"
        "  - name: adult\n"
        "    quality_treshold: 0.8\n"
        "    synthesizer: gausian_copula\n"
        "  - name: adult\n"
    )

    # Run / Assert: every problem at once, each with its table, setting and fix
    with pytest.raises(ConfigError) as raised:
        build_synthpipe_defs(path)
    message = str(raised.value)
    assert message.startswith("Invalid synthpipe configuration (3 problems):")
    assert re.search(r"table 'adult': unknown setting 'quality_treshold'\. Did you mean 'quality_threshold'\?", message)
    assert "unknown `synthesizer` 'gausian_copula'" in message and "Did you mean 'gaussian_copula'?" in message
    assert "table 'adult' is declared twice" in message


def test_yaml_typo_in_the_component_names_file_line_and_fix():
    # Setup
    from synthpipe.component import SynthpipeComponent

    yaml_text = "source: {database: sources/adult.duckdb}\ntables:\n  - name: adult\n    holdout_fracton: 0.3\n"

    # Run / Assert
    with pytest.raises(Exception, match=re.escape("unknown setting 'holdout_fracton'. Did you mean 'holdout_fraction'?")):
        SynthpipeComponent.resolve_from_yaml(yaml_text)
