"""A published twin's freshness policy follows the refresh schedule, so a missed or blocked
night shows the twin as stale."""

import datetime as dt

import dagster as dg
import pytest

from synthpipe.assets.specs import freshness_policy
from synthpipe.assets.translator import StageData, SynthpipeTranslator
from synthpipe.config import ScheduleConfig
from synthpipe.factory import build_synthpipe_defs

pytestmark = pytest.mark.unit

MONDAY = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("cron", "warn", "fail"),
    [
        ("0 2 * * *", dt.timedelta(days=1), dt.timedelta(hours=30)),  # nightly: stale 6 h past a missed night
        ("0 2 * * 1-5", dt.timedelta(days=3), dt.timedelta(hours=90)),  # weekdays: the weekend is the longest gap
        ("0 */6 * * *", dt.timedelta(hours=6), dt.timedelta(hours=7, minutes=30)),
    ],
)
def test_the_window_is_the_longest_interval_between_refreshes(cron, warn, fail):
    policy = freshness_policy(ScheduleConfig(cron=cron), now=MONDAY)
    assert policy.warn_window.to_timedelta() == warn and policy.fail_window.to_timedelta() == fail


def test_published_twins_refreshed_on_the_schedule_carry_it_and_nothing_else_does():
    # Run
    definitions = build_synthpipe_defs(
        {"source": {"database": "a.duckdb"}, "schedule": {"cron": "0 3 * * *"},
         "tables": [{"name": "adult"}, {"name": "watched", "refresh": "on_change"}],
         "groups": [{"name": "nycflights", "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
                     "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]}]}
    )

    # Assert
    fresh = {spec.key.to_user_string() for spec in definitions.resolve_all_asset_specs() if spec.freshness_policy is not None}
    assert fresh == {"adult/published", "nycflights/published/planes", "nycflights/published/flights"}


def test_a_translator_s_own_policy_wins():
    class Hourly(SynthpipeTranslator):
        def get_asset_spec(self, data: StageData) -> dg.AssetSpec:
            spec = super().get_asset_spec(data)
            return spec.replace_attributes(freshness_policy=dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=1)))

    definitions = build_synthpipe_defs({"source": {"database": "a.duckdb"}, "tables": [{"name": "adult"}]}, translator=Hourly())
    [published] = [s for s in definitions.resolve_all_asset_specs() if s.key.to_user_string() == "adult/published"]
    assert published.freshness_policy.fail_window.to_timedelta() == dt.timedelta(hours=1)
