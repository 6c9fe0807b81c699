"""The definitions builder: configuration in, Dagster definitions out.

Code-first users call `build_synthpipe_defs` directly; the YAML component calls it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from typing import Any

import dagster as dg

from synthpipe.assets.kinds import units
from synthpipe.assets.specs import build_unit_assets, freshness_policy, linked_unit_specs, source_kind
from synthpipe.assets.translator import SynthpipeTranslator
from synthpipe import metadata_keys as keys
from synthpipe.change import ON_CHANGE_JOB, WatchedTable, build_change_sensor
from synthpipe.config import (
    EnvValue,
    ExecutionConfig,
    GroupConfig,
    SourceConfig,
    SynthpipeConfig,
    TableConfig,
    resolve_data_dir,
)
from synthpipe.resources.chunk_tasks import ChunkSampler, celery_settings
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.links import DEFAULT_MLFLOW_URL
from synthpipe.resources.file_source import FileSource
from synthpipe.resources.published import PublishedTableLoader
from synthpipe.resources.run_storage import RunScopedIOManager, remove_stale_runs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import DuckDBSource, SourceResource
from synthpipe.resources.sql_source import SqlSource
from synthpipe.resources.tracking import MlflowTracker
from synthpipe.validation import load_config

__all__ = ["MAINTENANCE_JOB", "ON_CHANGE_JOB", "REFRESH_JOB", "build_executor", "build_maintenance_job", "build_resources", "build_synthpipe_defs", "celery_backend"]

REFRESH_JOB = "synthpipe_nightly_refresh"
MAINTENANCE_JOB = "synthpipe_maintenance"
# Staged chunks and intermediate values untouched for this long belong to runs that are over.
STALE_STAGING_HOURS = 24.0


def _settings(**values: str | EnvValue) -> dict[str, Any]:
    """Resource arguments for settings that may be `{env: NAME}`: a literal as it is, a variable
    by its name, listed in `from_env` so that the resource reads it when the run starts.

    Dagster's own `EnvVar` is resolved before any resource runs and fails with a bare config
    traceback when the variable is unset; reading it in the resource names the setting and the
    fix instead. Either way the value never enters the definitions.
    """
    arguments: dict[str, Any] = {}
    from_env = []
    for field, value in values.items():
        if isinstance(value, EnvValue):
            arguments[field] = value.env
            from_env.append(field)
        else:
            arguments[field] = value
    return {**arguments, "from_env": from_env}


def _local_path(value: str | EnvValue, data_dir: Path) -> str | EnvValue:
    """A literal path resolved against the data folder; a variable is read as it is."""
    if isinstance(value, EnvValue):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else data_dir / path)


def build_source(source: SourceConfig, data_dir: Path) -> SourceResource:
    """The source resource for the configured kind; validated configuration guarantees its setting."""
    if source.kind == "duckdb":
        # validation requires `database` wherever a table reads it; generated tables read nothing
        return DuckDBSource(**_settings(database=_local_path(source.database or "sources/none.duckdb", data_dir)))
    if source.kind == "sql":
        assert source.url is not None
        return SqlSource(**_settings(url=source.url), db_schema=source.db_schema)
    assert source.path is not None
    is_url = isinstance(source.path, str) and "://" in source.path
    return FileSource(**_settings(path=source.path if is_url else _local_path(source.path, data_dir)), format=source.kind)


def _config_source(value: str | EnvValue) -> str | dict[str, str]:
    """A setting as Dagster's config reads it: a literal, or `{env: NAME}` read when the run starts."""
    return {"env": value.env} if isinstance(value, EnvValue) else value


def celery_backend(execution: ExecutionConfig) -> str | EnvValue:
    """Where Celery workers put results: `execution.backend`, else the broker itself for Redis
    (a Redis database holds results as well as tasks), else `rpc://` (RabbitMQ's reply queues)."""
    if execution.backend is not None:
        return execution.backend
    broker = execution.broker
    assert isinstance(broker, str)  # validation asks for `backend` beside a broker read from a variable
    return broker if broker.startswith(("redis://", "rediss://")) else "rpc://"


def build_executor(execution: ExecutionConfig) -> dg.ExecutorDefinition:
    """The executor `execution.executor` names. In one process, SDV, Great Expectations and MLflow
    are imported once per run; a process per step (`multiprocess`) imports them in every step
    (10-20 s each); Celery workers import them once per worker process and run many steps."""
    if execution.executor == "in_process":
        return dg.in_process_executor
    if execution.executor == "multiprocess":
        return dg.multiprocess_executor.configured({"max_concurrent": execution.max_concurrent or 0}, name="synthpipe_multiprocess")
    from dagster_celery import celery_executor

    assert execution.broker is not None
    return celery_executor.configured(
        {
            "broker": _config_source(execution.broker),
            "backend": _config_source(celery_backend(execution)),
            "config_source": celery_settings(execution.queue),
        },
        name="synthpipe_celery",
    )


def build_chunk_sampler(config: SynthpipeConfig, tracking_uri: str | EnvValue) -> ChunkSampler:
    """The chunk tasks' sender (`execution.chunk_tasks`); without them, one that samples nothing
    remotely. The tracking URI travels to the workers as written (a variable's name, never its value)."""
    execution = config.execution
    if not execution.chunk_tasks:
        return ChunkSampler()
    assert execution.broker is not None
    from_env = isinstance(tracking_uri, EnvValue)
    return ChunkSampler(
        **_settings(broker=execution.broker, backend=celery_backend(execution)),
        queue=execution.queue,
        tracking_uri=tracking_uri.env if isinstance(tracking_uri, EnvValue) else tracking_uri,
        tracking_from_env=from_env,
    )


def run_storage_dir(data_dir: Path) -> Path:
    """Where the intermediate values of each run live: `<data folder>/staging/runs/<run id>`."""
    return data_dir / "staging" / "runs"


def mlflow_ui_url(config: SynthpipeConfig) -> str:
    """The MLflow UI that links point to: `links.mlflow_url`, else an http(s) tracking server,
    else the local UI of `make mlflow-ui`."""
    if config.links.mlflow_url:
        return config.links.mlflow_url
    uri = config.mlflow.tracking_uri
    if isinstance(uri, str) and uri.startswith(("http://", "https://")):
        # never a password in a link: only the scheme, host and path of the tracking server
        parts = urlsplit(uri)
        return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))
    return DEFAULT_MLFLOW_URL


def build_resources(config: SynthpipeConfig) -> dict[str, Any]:
    """The resources the assets use, with local defaults under the data folder."""
    data_dir = resolve_data_dir(config.data_dir)
    mlflow_dir = data_dir / "mlflow"
    tracking_uri = config.mlflow.tracking_uri if config.mlflow.tracking_uri is not None else f"sqlite:///{mlflow_dir / 'mlflow.db'}"
    return {
        "synthpipe_source": build_source(config.source, data_dir),
        "synthpipe_snapshots": DeltaSnapshotStore(root=str(data_dir / "snapshots"), staging=str(data_dir / "staging" / "chunks")),
        "synthpipe_published": PublishedTableLoader(root=str(data_dir / "snapshots")),
        "synthpipe_mlflow": MlflowTracker(
            **_settings(tracking_uri=tracking_uri, experiment=config.mlflow.experiment),
            artifact_location=(mlflow_dir / "artifacts").as_uri(),
            ui_url=mlflow_ui_url(config),
            files_root=str(data_dir),
            files_url=config.links.files_url,
        ),
        "synthpipe_data_docs": DataDocsFolder(root=str(data_dir / "data_docs"), files_root=str(data_dir), files_url=config.links.files_url),
        "synthpipe_chunks": build_chunk_sampler(config, tracking_uri),
        # Per run, so that two refreshes of one table running at once never share a value.
        "io_manager": RunScopedIOManager(base_dir=str(run_storage_dir(data_dir))),
    }


def build_synthpipe_defs(
    config: SynthpipeConfig | Mapping[str, Any] | str | Path,
    *,
    translator: SynthpipeTranslator | None = None,
) -> dg.Definitions:
    """Builds assets, checks, the refresh job, its schedule and the resources.

    Args:
        config: A `SynthpipeConfig`, a mapping of the same shape or a YAML path; validated as a
            whole, every problem reported at once.
        translator: Customises asset keys, groups, tags and descriptions.

    Examples:
        >>> defs = build_synthpipe_defs({"source": {"database": "sources/adult.duckdb"},
        ...                              "tables": [{"name": "adult"}]})
        >>> defs.resolve_job_def("synthpipe_nightly_refresh").name
        'synthpipe_nightly_refresh'
    """
    config = load_config(config)
    source_description = f"the {config.source.kind} source"
    technology = source_kind(config.source)
    nightly_freshness = freshness_policy(config.schedule)
    built = linked_unit_specs(config, translator, source_description, technology, nightly_freshness)
    # Reads of the source claim a slot of one pool, so that a fleet never overloads its database.
    pool = config.execution.source_pool
    assets = {name: build_unit_assets(kind, specs, pool if isinstance(kind.config, (TableConfig, GroupConfig)) else None) for name, (kind, specs) in built.items()}
    executor = build_executor(config.execution)
    # `refresh: on_change` tables run when the change sensor finds their source changed; the rest nightly
    watched = [
        WatchedTable(kind.config, [spec.key for spec in specs.all()], specs.synthesizer.key)
        for kind, specs in built.values()
        if getattr(kind.config, "refresh", "always") == "on_change"
    ]
    on_change = {w.table.name for w in watched}
    nightly = [a for name, unit in assets.items() if name not in on_change for a in unit]
    status = dg.DefaultScheduleStatus.RUNNING if config.schedule.enabled else dg.DefaultScheduleStatus.STOPPED
    jobs: list[Any] = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    # By default one process runs every stage (`build_executor`); `execution:` selects another.
    if nightly:
        job = dg.define_asset_job(
            REFRESH_JOB,
            selection=dg.AssetSelection.assets(*nightly),
            executor_def=executor,
            description="Pull each source table, fit, sample, check and publish its synthetic twin.",
        )
        jobs.append(job)
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{REFRESH_JOB}_schedule",
                job=job,
                cron_schedule=config.schedule.cron,
                execution_timezone=config.schedule.timezone,
                default_status=status,
            )
        )
    if watched:
        on_change_job = dg.define_asset_job(
            ON_CHANGE_JOB,
            selection=dg.AssetSelection.assets(*(key for w in watched for key in w.asset_keys)),
            executor_def=executor,
            description="Refresh of the `refresh: on_change` tables the change sensor found changed.",
        )
        jobs.append(on_change_job)
        sensors.append(build_change_sensor(watched, on_change_job, config.schedule.change_check_seconds, config.schedule.enabled))
    maintenance = build_maintenance_job(config)
    maintenance_schedule = dg.ScheduleDefinition(
        name=f"{MAINTENANCE_JOB}_schedule",
        job=maintenance,
        cron_schedule=config.retention.cron,
        execution_timezone=config.schedule.timezone,
        default_status=status,
    )
    return dg.Definitions(
        assets=[a for unit in assets.values() for a in unit],
        jobs=[*jobs, maintenance],
        schedules=[*schedules, maintenance_schedule],
        sensors=sensors,
        resources=build_resources(config),
    )


def _docs_names(config: SynthpipeConfig) -> list[str]:
    return [t.name for t in config.tables] + [g.name for g in config.groups] + [g.name for g in config.generated] + [s.name for s in config.simulations]


def _published_names(config: SynthpipeConfig) -> list[str]:
    members = [f"{g.name}/{t.name}" for g in [*config.groups, *config.generated] for t in g.tables]
    return [t.name for t in config.tables] + members + [f"{s.name}/{m}" for s in config.simulations for m in s.published_tables]


def build_maintenance_job(config: SynthpipeConfig) -> dg.JobDefinition:
    """Applies retention to every published table: the last `keep_last` versions and the pinned
    ones keep their data; older versions' files are removed. Also removes what runs left in
    staging: chunks never published and intermediate values nobody will load again.
    """
    retention = config.retention
    names = _published_names(config)
    run_storage = run_storage_dir(resolve_data_dir(config.data_dir))

    @dg.op(name="apply_retention", description="Keep the newest and the pinned versions of every published table.")
    def apply_retention(context, synthpipe_snapshots: DeltaSnapshotStore, synthpipe_data_docs: DataDocsFolder):  # noqa: ANN001 - Dagster reads these hints at runtime
        outcome = {}
        # Data Docs sites: one per table (or group) and run; the newest `keep_last` runs stay.
        docs_removed = sum(len(synthpipe_data_docs.prune(name, retention.keep_last)) for name in _docs_names(config))
        context.log.info(f"Removed {docs_removed} Data Docs site(s) older than the newest {retention.keep_last} runs")
        for name in names:
            if synthpipe_snapshots.latest_version(name) is None:
                continue
            pinned = set(retention.pins.get(name, {}).values())
            outcome[name] = synthpipe_snapshots.apply_retention(name, retention.keep_last, pinned)
            context.log.info(f"{name}: kept {outcome[name]['kept']}, removed the data of {outcome[name]['removed']}")
        stale = synthpipe_snapshots.clean_staging(STALE_STAGING_HOURS)
        context.log.info(f"Removed the staged chunks of {len(stale)} run(s) that never published")
        stale_runs = remove_stale_runs(run_storage, context.instance, STALE_STAGING_HOURS)
        context.log.info(
            f"Removed the intermediate values of {len(stale_runs)} run(s) older than {STALE_STAGING_HOURS:g} h "
            "(kept: runs in progress and each asset's last materialization)"
        )
        return dg.Output(
            outcome,
            metadata={
                keys.RETENTION: dg.MetadataValue.json(outcome),
                keys.STALE_STAGING_REMOVED: len(stale),
                keys.STALE_RUN_VALUES_REMOVED: len(stale_runs),
                keys.DATA_DOCS_REMOVED: docs_removed,
            },
        )

    @dg.job(name=MAINTENANCE_JOB, description="Retention of published versions.", executor_def=dg.in_process_executor)
    def maintenance() -> None:
        apply_retention()

    return maintenance
