"""The run-scoped IO manager on two tiny real assets and a real Dagster instance."""

import os
import re
import time
from pathlib import Path

import dagster as dg
import pytest

from synthpipe.errors import SynthpipeError
from synthpipe.resources.run_storage import RunScopedIOManager, remove_stale_runs

pytestmark = pytest.mark.unit


class NumbersConfig(dg.Config):
    values: list[int]


@dg.asset
def numbers(config: NumbersConfig) -> list[int]:
    return config.values


@dg.asset
def doubled(numbers: list[int]) -> list[int]:
    return [2 * n for n in numbers]


def _materialize(base: Path, instance: dg.DagsterInstance, selection: list[str], values: list[int] | None = None) -> dg.ExecuteInProcessResult:
    run_config = {"ops": {"numbers": {"config": {"values": values}}}} if values is not None else None
    return dg.materialize(
        [numbers, doubled],
        selection=selection,
        resources={"io_manager": RunScopedIOManager(base_dir=str(base))},
        instance=instance,
        run_config=run_config,
        raise_on_error=False,
    )


def _age(folder: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then))


def test_each_run_keeps_its_values_under_its_id(tmp_path, instance):
    # Run: two runs of the same assets with different inputs
    first = _materialize(tmp_path, instance, ["numbers", "doubled"], [1, 2])
    second = _materialize(tmp_path, instance, ["numbers", "doubled"], [5])

    # Assert: neither run overwrote or read the other's values
    assert first.output_for_node("doubled") == [2, 4]
    assert second.output_for_node("doubled") == [10]
    assert (tmp_path / first.run_id / "numbers").is_file() and (tmp_path / second.run_id / "numbers").is_file()


def test_a_partial_run_loads_the_input_of_the_run_that_made_it_last(tmp_path, instance):
    # Setup
    _materialize(tmp_path, instance, ["numbers", "doubled"], [1, 2])
    latest = _materialize(tmp_path, instance, ["numbers"], [7])

    # Run: only `doubled`, whose input is not part of this run
    partial = _materialize(tmp_path, instance, ["doubled"])

    # Assert
    assert partial.success
    assert partial.output_for_node("doubled") == [14]
    assert (tmp_path / partial.run_id / "doubled").is_file()
    assert not (tmp_path / partial.run_id / "numbers").exists()
    assert latest.run_id != partial.run_id


def test_an_input_never_materialized_is_named_with_the_fix(tmp_path, instance):
    # Run
    result = _materialize(tmp_path, instance, ["doubled"])

    # Assert
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert re.search(r"Asset 'numbers' was never materialized.*Materialize 'numbers' first", message)
    assert SynthpipeError.__name__ in failure.step_failure_data.error.cause.cls_name


def test_stale_runs_go_unless_in_progress_or_holding_a_last_materialization(tmp_path, instance):
    # Setup: an old superseded run, an old run holding the last `numbers`, a fresh run, and
    # an old folder of a run still in progress
    superseded = _materialize(tmp_path, instance, ["numbers", "doubled"], [1])
    holder = _materialize(tmp_path, instance, ["numbers"], [2])
    fresh = _materialize(tmp_path, instance, ["doubled"])
    running = dg.DagsterRun(job_name="refresh", run_id="still-running", status=dg.DagsterRunStatus.STARTED)
    instance.add_run(running)
    (tmp_path / running.run_id / "numbers").parent.mkdir(parents=True)
    (tmp_path / running.run_id / "numbers").write_bytes(b"")
    for run_id in (superseded.run_id, holder.run_id, running.run_id):
        _age(tmp_path / run_id, hours=30)

    # Run
    removed = remove_stale_runs(tmp_path, instance, older_than_hours=24)

    # Assert: `doubled` of the superseded run was replaced by the fresh run's, `numbers` by the holder's
    assert removed == [superseded.run_id]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([holder.run_id, fresh.run_id, running.run_id])
