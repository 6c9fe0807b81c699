"""`conditions` on the real Adult table: rows sampled with fixed values for some columns, through
every stage; impossible conditions refused with what the source holds."""

from __future__ import annotations

import json

import pytest

from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.tracking import MlflowTracker
from tests.conftest import assert_unchanged, step_error, with_table

pytestmark = pytest.mark.integration

CONDITIONS = [{"values": {"gender": "Female"}, "rows": 150}, {"values": {"gender": "Male", "income": ">50K"}, "rows": 50}]
# A twin sampled under conditions does not mirror the source's shares: quality is reported, not gated
CONDITIONED = {"conditions": CONDITIONS, "seed": 3, "gate_severity": {"quality": "warn", "dcr": "warn"}}


def test_every_row_meets_its_condition_and_the_version_reproduces(run_refresh, base_config, store, data_dir):
    # Run
    result = run_refresh(with_table(base_config, **CONDITIONED))

    # Assert: every row meets a condition, each condition has its rows
    assert result.success, step_error(result) if not result.success else ""
    published = store.read("adult")
    women = published["gender"] == "Female"
    rich_men = (published["gender"] == "Male") & (published["income"] == ">50K")
    assert len(published) == 200 and (women | rich_men).all()
    assert (int(women.sum()), int(rich_men.sum())) == (150, 50)
    # the columns not fixed are drawn, not constant
    assert published.loc[women, "age"].nunique() > 10 and published.loc[women, "income"].nunique() == 2

    # Assert: recorded in the commit and in MLflow; the registry and seed regenerate the version
    [entry] = store.history("adult")
    assert json.loads(entry["conditions"]) == CONDITIONS
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    params = MlflowTracker(tracking_uri=uri).client.get_run(entry["mlflow_run_id"]).data.params
    assert params["conditions"] == "150 rows with gender = 'Female'; 50 rows with gender = 'Male', income = '>50K'"
    assert reproduce("adult", 0, store, MlflowTracker(tracking_uri=uri)).identical


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"gender": "Femal"}, "`conditions[1]` (10 rows with gender = 'Femal'): 'Femal' is not a value of 'gender', which holds 'Male', 'Female'. Did you mean 'Female'?"),
        ({"age": 140}, "`conditions[1]` (10 rows with age = 140): 140 is outside 'age''s range in the source, 17 to 90"),
        # four Canadians among the training rows: the model never learned the value
        ({"native-country": "Canada"}, "'Canada' of 'native-country' is in 4 source rows, fewer than `rare_value_min_count` (5)"),
        ({"genre": "Female"}, "the table has no column ['genre']. Did you mean 'gender'?"),
    ],
)
def test_an_impossible_condition_names_what_the_source_holds_and_keeps_the_last_version(
    run_refresh, base_config, store, published_before, values, expected
):
    # Run
    result = run_refresh(with_table(base_config, conditions=[{"values": values, "rows": 10}], gate_severity={"dcr": "warn"}))

    # Assert
    assert not result.success
    message = step_error(result)
    assert expected in message and "Fix `conditions` with values the source holds." in message
    assert_unchanged(store, published_before)
