"""What a data-quality owner reads in the Dagster UI: the verdict of every check of last night's
candidate in one table on `synthetic/<t>`, and a failed gate understood from its first line."""

import pytest

from synthpipe import metadata_keys as keys
from tests.conftest import with_table

pytestmark = pytest.mark.integration


def test_a_blocked_candidate_shows_every_verdict_and_why_it_failed(run_refresh, base_config):
    # Run: a quality threshold above reach
    result = run_refresh(with_table(base_config, quality_threshold=0.999))

    # Assert: the synthetic asset lists every check; the failed one blocks and names its numbers
    [synthetic] = result.asset_materializations_for_node("adult__synthetic")
    summary = synthetic.metadata[keys.CHECKS_SUMMARY].value
    assert list(synthetic.metadata)[:3] == [keys.CHECKS_SUMMARY, keys.QUALITY_SCORE, keys.QUALITY_TREND]  # the verdict first
    rows = {line.split(" | ")[0].strip("| "): line for line in summary.splitlines()[2:]}
    assert set(rows) == {"expectations", "quality", "exact_copies", "dcr", "value_leaks"}
    assert "| ≥ 0.999 | ✗ failed | blocks |" in rows["quality"]
    quality = next(e for e in result.get_asset_check_evaluations() if e.check_name == "quality")
    first_line = quality.description.splitlines()[0]
    score = quality.metadata[keys.QUALITY_SCORE].value
    assert first_line.startswith(f"SDMetrics quality score {score:.4f} is ") and "below the threshold 0.999 (`quality_threshold`)" in first_line
    passed = next(e for e in result.get_asset_check_evaluations() if e.check_name == "exact_copies")
    assert passed.passed and passed.description.startswith("exact_copies 0.0") and "≤ 0.01 ✓" in passed.description


def test_mlflow_opens_the_experiment_on_its_runs_named_by_table_and_date(run_refresh, base_config, data_dir):
    import datetime as dt

    from mlflow import MlflowClient

    from synthpipe.resources.tracking import EXPERIMENT_KIND_TAG

    # Run
    started = dt.datetime.now(dt.timezone.utc)
    assert run_refresh(base_config).success

    # Assert: a model-training experiment (MLflow 3 takes one of no declared kind for GenAI, traces first)
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(base_config["mlflow"]["experiment"])
    assert experiment.tags[EXPERIMENT_KIND_TAG] == "custom_model_development"
    [run] = client.search_runs([experiment.experiment_id], "tags.`synthpipe/table` = 'adult'")
    days = {f"{day:%Y-%m-%d}" for day in (started, dt.datetime.now(dt.timezone.utc))}  # a run across midnight
    assert run.info.run_name.split(" ")[0] == "adult" and run.info.run_name.split(" ")[1] in days
