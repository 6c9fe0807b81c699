"""Change detection for `refresh: on_change` tables.

A sensor probes each such table's source (one aggregate query, or file sizes and times) and
compares the signature, and the table's configuration fingerprint, with what the table's last
fit recorded on its `<t>/synthesizer` materialization. Only a changed table gets a run; an
unchanged one costs the probe, not a refit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from synthpipe.assets.source import drop_excluded
from synthpipe.resources.fingerprints import content_fingerprint, content_probe
from synthpipe import metadata_keys as keys
from synthpipe.config import TableConfig
from synthpipe.resources.sources import SourceResource

__all__ = ["ON_CHANGE_JOB", "ON_CHANGE_SENSOR", "WatchedTable", "build_change_sensor", "change_reason", "current_probe"]

ON_CHANGE_JOB = "synthpipe_on_change_refresh"
ON_CHANGE_SENSOR = "synthpipe_on_change_sensor"


@dataclass(frozen=True)
class WatchedTable:
    """An `on_change` table with the assets a refresh of it materializes."""

    table: TableConfig
    asset_keys: Sequence[dg.AssetKey]
    synthesizer_key: dg.AssetKey


def current_probe(source: SourceResource, table: TableConfig) -> str:
    """The source's signature of the table now; the same value the source asset records."""
    probe = source.probe(table.source_name, query=table.query, limit=table.row_limit)
    if probe is None:  # no cheap probe for this source: read and fingerprint, still no fit
        arrow = drop_excluded(table, source.read_table(table.source_name, query=table.query, limit=table.row_limit))
        probe = content_probe(content_fingerprint(arrow))
    return probe


def change_reason(table: TableConfig, probe: str, last_fit: dict[str, Any] | None) -> str | None:
    """Why the table needs a refresh, or None when nothing changed since its last fit."""
    if last_fit is None:
        return "never fitted"
    if last_fit.get(keys.SOURCE_PROBE) != probe:
        return "source data changed"
    if last_fit.get(keys.CONFIG_FINGERPRINT) != table.config_fingerprint:
        return "table configuration changed"
    return None


def _last_fit(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, Any] | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return {name: getattr(value, "value", value) for name, value in event.asset_materialization.metadata.items()}


def build_change_sensor(
    watched: Sequence[WatchedTable], job: Any, interval_seconds: int, running: bool
) -> dg.SensorDefinition:
    names = ", ".join(w.table.name for w in watched)

    @dg.sensor(
        name=ON_CHANGE_SENSOR,
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
        description=f"Refreshes {names} when its source data or configuration changed since the last fit.",
    )
    def on_change(context: dg.SensorEvaluationContext, synthpipe_source: SourceResource):  # noqa: ANN202 - Dagster reads the hints
        requests, unchanged = [], []
        for item in watched:
            table = item.table
            probe = current_probe(synthpipe_source, table)
            reason = change_reason(table, probe, _last_fit(context.instance, item.synthesizer_key))
            if reason is None:
                unchanged.append(table.name)
                continue
            context.log.info(f"{table.name}: {reason}; requesting a refresh")
            requests.append(
                dg.RunRequest(
                    # one run per table state: a tick during the run, or after a failed one, asks again only on a new change
                    run_key=f"{table.name}:{probe}:{table.config_fingerprint}",
                    asset_selection=list(item.asset_keys),
                    tags={keys.TABLE: table.name, keys.REFRESH_REASON: reason},
                )
            )
        if not requests:
            return dg.SkipReason(f"Unchanged since their last fit: {', '.join(unchanged)}")
        return requests

    return on_change
