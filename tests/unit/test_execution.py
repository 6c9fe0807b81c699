"""`execution:`: which executor runs a refresh, its Celery settings, the source pool."""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
import pytest

from synthpipe.config import EnvValue, ExecutionConfig
from synthpipe.errors import ConfigError
from synthpipe.factory import build_executor, build_synthpipe_defs, celery_backend
from synthpipe.validation import load_config

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = {"source": {"kind": "duckdb", "database": "sources/adult.duckdb"}, "tables": [{"name": "adult"}]}


def _configured(executor: dg.ExecutorDefinition) -> dict[str, Any]:
    """The configuration a configured executor was given (what a run of the job uses)."""
    return executor.config_schema._config_fn({})  # noqa: SLF001 - Dagster keeps no public reader of it


def _with(**execution: Any) -> dict[str, Any]:
    return {**BASE, "execution": execution}


@pytest.mark.parametrize(
    ("execution", "expected"),
    [
        ({"executor": "celery"}, "`execution.executor: celery` needs `execution.broker`"),
        ({"executor": "in_process", "broker": "redis://127.0.0.1:6379/0"}, "`execution.broker` is a Celery setting but `execution.executor` is 'in_process'"),
        ({"executor": "multiprocess", "chunk_tasks": True}, "`execution.chunk_tasks` is a Celery setting but `execution.executor` is 'multiprocess'"),
        ({"executor": "celery", "broker": {"env": "BROKER"}}, "`execution.broker` is read from $BROKER, so synthpipe cannot tell Redis from RabbitMQ"),
        ({"executor": "celery", "broker": "redis://h:6379/0", "max_concurrent": 4}, "`execution.max_concurrent` must be at least 1 and only applies to `executor: multiprocess`"),
        ({"source_pool_limit": 0}, "`execution.source_pool_limit` must be at least 1; got 0"),
        ({"executor": "celery", "broker": "redis://h:6379/0", "queue": "night #1"}, "`execution.queue` must be a non-empty name without spaces"),
        ({"executor": "dask"}, "Input should be 'in_process', 'multiprocess' or 'celery'"),
    ],
)
def test_a_bad_execution_setting_is_named_with_its_fix(execution, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(_with(**execution))


def test_the_default_runs_every_step_in_one_process():
    assert build_executor(ExecutionConfig()) is dg.in_process_executor


def test_multiprocess_runs_as_many_steps_as_configured():
    executor = build_executor(ExecutionConfig(executor="multiprocess", max_concurrent=3))
    assert executor.name == "synthpipe_multiprocess"
    assert _configured(executor)["max_concurrent"] == 3


def test_celery_reads_the_broker_from_the_environment_and_acknowledges_late():
    # Setup
    execution = ExecutionConfig(executor="celery", broker=EnvValue(env="SYNTHPIPE_BROKER_URL"), backend="rpc://", queue="night")

    # Run
    executor = build_executor(execution)
    config = _configured(executor)

    # Assert: the URL is a reference, resolved when a run starts; a lost worker's task is redelivered
    assert executor.name == "synthpipe_celery"
    assert config["broker"] == {"env": "SYNTHPIPE_BROKER_URL"}
    source = config["config_source"]
    assert source["task_acks_late"] is True and source["task_reject_on_worker_lost"] is True
    assert source["task_default_queue"] == "night" and source["worker_prefetch_multiplier"] == 1


@pytest.mark.parametrize(
    ("broker", "backend"),
    [("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"), ("amqp://guest@127.0.0.1:5672//", "rpc://")],
)
def test_the_result_backend_follows_the_broker(broker, backend):
    assert celery_backend(ExecutionConfig(executor="celery", broker=broker)) == backend


def test_source_reads_claim_the_source_pool_and_generated_sets_do_not():
    # Setup
    config = {
        **_with(source_pool="warehouse"),
        "generated": [{"name": "bank", "tables": [{"name": "customers", "num_rows": 10, "columns": {"id": {"sequence": {"start": 1}}}}]}],
    }

    # Run
    defs = build_synthpipe_defs(config)
    pools = {key.to_user_string(): defs.resolve_assets_def(key).op.pool for key in [dg.AssetKey(["adult", "source"]), dg.AssetKey(["bank", "source"])]}

    # Assert
    assert pools == {"adult/source": "warehouse", "bank/source": None}


def test_chunk_tasks_send_the_tracking_uri_as_a_variable_name():
    # Setup
    config = {
        **_with(executor="celery", broker={"env": "BROKER"}, backend={"env": "BROKER"}, chunk_tasks=True),
        "mlflow": {"tracking_uri": {"env": "MLFLOW_TRACKING_URI"}},
    }

    # Run
    sampler = build_synthpipe_defs(config).resources["synthpipe_chunks"]

    # Assert: names, not values, are what the definitions hold
    assert sampler.remote and sampler.broker == "BROKER" and sampler.from_env == ["broker", "backend"]
    assert sampler.tracking_uri == "MLFLOW_TRACKING_URI" and sampler.tracking_from_env


def test_without_chunk_tasks_chunks_are_sampled_in_the_step():
    assert not build_synthpipe_defs(BASE).resources["synthpipe_chunks"].remote
