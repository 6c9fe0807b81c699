"""A stale twin shows as such in Dagster: once a night is missed, or blocked by a gate, the
published asset turns WARN and then FAIL, exactly as Dagster's freshness daemon records it and
the UI reads it; a `refresh: on_change` table has no freshness to miss.

Real Dagster throughout: the refresh job runs on a real instance at a frozen time, the
definitions are loaded as a code location, and each evaluation is one iteration of Dagster's own
`FreshnessDaemon`. Dagster internals this relies on (1.13):
`dagster._core.test_utils.freeze_time`, `create_test_daemon_workspace_context` and
`InProcessTestWorkspaceLoadTarget`; `dagster._daemon.freshness.FreshnessDaemon.run_iteration`;
`DagsterInstance.get_freshness_state_records` and `dagster._core.definitions.freshness.FreshnessState`;
and the UI's GraphQL field `assetNodes { freshnessStatusInfo internalFreshnessPolicy }`
(`dagster_graphql.test.utils.execute_dagster_graphql`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget, create_test_daemon_workspace_context, freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._daemon.freshness import FreshnessDaemon
from dagster_graphql.test.utils import execute_dagster_graphql

from tests.conftest import step_error, with_table

pytestmark = pytest.mark.integration

PUBLISHED = dg.AssetKey(["adult", "published"])
WATCHED = dg.AssetKey(["watched", "published"])
# Five past the 02:00 tick of the nightly schedule (`0 2 * * *`): warn after 24 h, fail after 30 h.
T0 = dt.datetime(2026, 3, 2, 2, 5, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)

UI_QUERY = """
query Freshness($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    freshnessStatusInfo { freshnessStatus freshnessStatusMetadata { lastMaterializedTimestamp } }
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } }
  }
}
"""


@contextmanager
def _code_location(folder: Path, config: dict[str, Any], instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The definitions loaded as a code location, as the daemon and the webserver load them: a
    Python file that builds them from a YAML configuration."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "synthpipe.yaml").write_text(yaml.safe_dump(config))
    (folder / "location.py").write_text(
        "from pathlib import Path\n"
        "from synthpipe.factory import build_synthpipe_defs\n"
        "defs = build_synthpipe_defs(Path(__file__).with_name('synthpipe.yaml'))\n"
    )
    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=str(folder / "location.py"), attribute="defs"))
    with create_test_daemon_workspace_context(InProcessTestWorkspaceLoadTarget(origin), instance) as context:
        yield context


def _evaluate_at(when: dt.datetime, daemon: FreshnessDaemon, context: WorkspaceProcessContext) -> None:
    """One iteration of Dagster's freshness daemon at `when`: it stores every asset's state."""
    with freeze_time(when):
        list(daemon.run_iteration(context))


def _stored_state(instance: dg.DagsterInstance, key: dg.AssetKey) -> FreshnessState | None:
    record = instance.get_freshness_state_records([key]).get(key)
    return record.freshness_state if record else None


def _ui(context: WorkspaceProcessContext, *keys: dg.AssetKey) -> dict[str, dict[str, Any]]:
    """What the UI's asset pages read for `keys`, by asset key."""
    result = execute_dagster_graphql(context.create_request_context(), UI_QUERY, {"keys": [{"path": k.path} for k in keys]})
    assert not result.errors, result.errors
    return {"/".join(node["assetKey"]["path"]): node for node in result.data["assetNodes"]}


def _ui_status(context: WorkspaceProcessContext, key: dg.AssetKey) -> str | None:
    info = _ui(context, key)[key.to_user_string()]["freshnessStatusInfo"]
    return info["freshnessStatus"] if info else None


@pytest.mark.dagster_on_disk  # the daemon's workspace reads the instance
def test_a_missed_or_blocked_night_shows_the_twin_stale(run_refresh, base_config, instance, tmp_path):
    # Setup: a nightly table, fast to refresh, and an `on_change` table on the same source
    config = with_table(base_config, synthesizer="gaussian_copula", num_rows=300)
    config["tables"].append({"name": "watched", "source_table": "adult", "refresh": "on_change"})
    daemon = FreshnessDaemon()
    with _code_location(tmp_path / "location", config, instance) as context:
        # Assert: the UI shows the schedule's windows on the published twin, none on the `on_change` one
        policies = _ui(context, PUBLISHED, WATCHED)
        assert policies["adult/published"]["internalFreshnessPolicy"] == {"failWindowSeconds": 30 * 3600, "warnWindowSeconds": 24 * 3600}
        assert policies["watched/published"]["internalFreshnessPolicy"] is None

        # Run: the daemon before any refresh
        _evaluate_at(T0 - HOUR, daemon, context)

        # Assert: never published: unknown, not fresh; the `on_change` twin is out of scope
        assert _stored_state(instance, PUBLISHED) == FreshnessState.UNKNOWN
        assert _stored_state(instance, WATCHED) == FreshnessState.NOT_APPLICABLE

        # Run: the night's refresh at T0, then the daemon an hour later
        with freeze_time(T0):
            night = run_refresh(config)
        assert night.success, step_error(night)
        [published] = night.asset_materializations_for_node("adult__published")
        _evaluate_at(T0 + HOUR, daemon, context)

        # Assert: fresh, from the refresh's own materialization at T0
        assert _stored_state(instance, PUBLISHED) == FreshnessState.PASS
        assert _ui_status(context, PUBLISHED) == "HEALTHY"
        last = _ui(context, PUBLISHED)["adult/published"]["freshnessStatusInfo"]["freshnessStatusMetadata"]
        assert last["lastMaterializedTimestamp"] == pytest.approx(T0.timestamp(), abs=1)
        assert published.asset_key == PUBLISHED

        # Run: the next night is missed; the daemon at T0 + 25 h
        _evaluate_at(T0 + 25 * HOUR, daemon, context)

        # Assert: past the warn window (24 h), within the fail window (30 h)
        assert _stored_state(instance, PUBLISHED) == FreshnessState.WARN
        assert _ui_status(context, PUBLISHED) == "WARNING"

        # Run: a late refresh at T0 + 26 h, blocked by a quality threshold above reach
        with freeze_time(T0 + 26 * HOUR):
            blocked = run_refresh(with_table(config, quality_threshold=0.999))
        _evaluate_at(T0 + 26 * HOUR + dt.timedelta(minutes=5), daemon, context)

        # Assert: the quality gate blocked it and nothing was published, so the twin is still stale
        assert not blocked.success
        assert [e.passed for e in blocked.get_asset_check_evaluations() if e.check_name == "quality"] == [False]
        assert blocked.asset_materializations_for_node("adult__published") == []
        assert _stored_state(instance, PUBLISHED) == FreshnessState.WARN

        # Run: the daemon at T0 + 31 h
        _evaluate_at(T0 + 31 * HOUR, daemon, context)

        # Assert: past the fail window: failing, in the store and in the UI; `on_change` still out of scope
        assert _stored_state(instance, PUBLISHED) == FreshnessState.FAIL
        assert _ui_status(context, PUBLISHED) == "DEGRADED"
        assert _stored_state(instance, WATCHED) == FreshnessState.NOT_APPLICABLE
        assert _ui_status(context, WATCHED) is None
