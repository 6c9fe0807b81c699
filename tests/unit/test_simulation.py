"""Simulations on real Mesa: the example transfer model, seeded runs, table selection, and the
errors of a wrong model path or parameters."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pandas as pd
import pytest

from synthpipe.errors import ConfigError, SynthesizerError
from synthpipe.generated_config import SimulationConfig
from synthpipe.resources.simulation import Simulation, load_model_class, simulation_problems
from synthpipe.simulations.transfers import TRANSACTION_COLUMNS, TransferModel

pytestmark = pytest.mark.unit

MODEL = "synthpipe.simulations.transfers:TransferModel"
SMALL = {"accounts": 60}
STEPS = 24


def small_run(seed: int, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    return Simulation(MODEL, SMALL, STEPS, tables or []).run(seed)


@pytest.fixture(scope="module")
def run_7() -> dict[str, pd.DataFrame]:
    return small_run(7)


def test_same_seed_gives_identical_tables(run_7):
    # Run
    again = small_run(7)

    # Assert
    assert list(again) == list(run_7)
    for name, frame in run_7.items():
        pd.testing.assert_frame_equal(again[name], frame)


def test_different_seeds_give_different_transactions(run_7):
    # Run
    other = small_run(8)

    # Assert
    assert not other["transactions"].equals(run_7["transactions"])


def test_tables_and_columns_are_as_documented(run_7):
    # Assert
    assert list(run_7) == ["model", "agents", "transactions"]
    assert list(run_7["model"].columns) == ["step", "transfers", "volume", "fraud_transfers", "fraud_volume", "hour"]
    assert list(run_7["agents"].columns) == ["step", "agent_id", "balance", "is_fraudster"]
    assert list(run_7["transactions"].columns) == TRANSACTION_COLUMNS == [
        "step", "hour", "sender", "receiver", "amount", "sender_balance_before", "is_fraud",
    ]
    # One model row per step plus the initial state; one agent row per account and row.
    assert run_7["model"]["step"].tolist() == list(range(STEPS + 1))
    assert len(run_7["agents"]) == SMALL["accounts"] * (STEPS + 1)
    assert run_7["model"]["transfers"].sum() == len(run_7["transactions"])


def test_every_transaction_moves_a_positive_amount_within_the_balance(run_7):
    # Setup
    rows = run_7["transactions"]

    # Assert
    assert (rows["amount"] > 0).all()
    assert (rows["amount"] <= rows["sender_balance_before"]).all()
    assert (rows["sender"] != rows["receiver"]).all()
    assert rows["hour"].between(0, 23).all()
    assert rows["hour"].tolist() == (rows["step"] % 24).tolist()


def test_fraud_is_rare_but_present_and_only_from_fraudulent_accounts():
    # Run
    runs = [small_run(seed) for seed in (1, 2, 3)]

    # Assert
    transactions = pd.concat([r["transactions"] for r in runs])
    share = transactions["is_fraud"].mean()
    assert 0.001 <= share <= 0.05
    for tables in runs:
        fraudsters = set(tables["agents"].loc[tables["agents"]["is_fraudster"], "agent_id"])
        rows = tables["transactions"]
        assert set(rows.loc[rows["is_fraud"], "sender"]) <= fraudsters
        assert not rows.loc[~rows["is_fraud"], "sender"].isin(fraudsters).any()


def test_tables_selects_and_orders_what_is_returned():
    # Run
    tables = small_run(7, ["transactions", "model"])

    # Assert
    assert list(tables) == ["transactions", "model"]


def test_an_unknown_table_lists_the_collected_ones():
    # Setup
    simulation = Simulation(MODEL, SMALL, 2, ["transaction"])

    # Run / Assert
    with pytest.raises(SynthesizerError, match=re.escape("collects no table 'transaction'. Did you mean 'transactions'?")) as error:
        simulation.run(7)
    assert "It collects: model, agents, transactions. Fix `tables`." in str(error.value)


def test_run_records_its_speed():
    # Setup
    simulation = Simulation(MODEL, SMALL, 3, [])

    # Run
    simulation.run(7)

    # Assert
    assert simulation.steps_per_second > 0
    assert simulation.run_seconds > 0


@pytest.mark.parametrize(
    "path, message",
    [
        ("nocolon", "setting `model` 'nocolon' is not `module:Class`"),
        ("no.such.module:X", "setting `model` 'no.such.module:X': module 'no.such.module' does not import (ModuleNotFoundError"),
        (f"{MODEL.split(':')[0]}:Missing", f"setting `model` '{MODEL.split(':')[0]}:Missing': module 'synthpipe.simulations.transfers' has no class 'Missing'"),
        ("collections:OrderedDict", "setting `model` 'collections:OrderedDict': OrderedDict is not a Mesa model (a subclass of `mesa.Model`)"),
    ],
)
def test_load_model_class_says_what_is_wrong(path, message):
    # Run / Assert
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_model_class(path)


def test_load_model_class_loads_the_example():
    # Run / Assert
    assert load_model_class(MODEL) is TransferModel


@pytest.mark.parametrize(
    "settings, problems",
    [
        ({}, []),
        (
            {"parameters": {"acounts": 10}},
            [f"simulation 'transfers': {MODEL} takes no parameter 'acounts'. Did you mean 'accounts'? "
             "Its parameters: accounts, fraud_share, transfer_rate, mean_amount."],
        ),
        ({"parameters": {"rng": 3}}, ["simulation 'transfers': `parameters` sets 'rng', which is the seed; set `seed:` on the simulation instead."]),
        ({"steps": 0}, ["simulation 'transfers': `steps` must be at least 1; got 0."]),
        ({"model": "nocolon"}, ["simulation 'transfers': setting `model` 'nocolon' is not `module:Class`; write the module and the class "
                                f"with a colon, e.g. {MODEL!r}."]),
    ],
)
def test_simulation_problems(settings, problems):
    # Setup
    config = SimulationConfig(**{"name": "transfers", "model": MODEL, "steps": 24, **settings})

    # Run / Assert
    assert simulation_problems(config) == problems


def test_save_and_load_give_the_same_run(tmp_path: Path, run_7):
    # Setup
    simulation = Simulation(MODEL, SMALL, STEPS, [])
    path = tmp_path / "simulation.pkl"

    # Run
    simulation.save(str(path))
    loaded = Simulation.load(str(path))

    # Assert
    assert loaded.get_parameters() == simulation.get_parameters() == {"model": MODEL, "parameters": SMALL, "steps": STEPS, "tables": []}
    for name, frame in loaded.run(7).items():
        pd.testing.assert_frame_equal(frame, run_7[name])


def test_load_refuses_another_pickle(tmp_path: Path):
    # Setup
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps([1, 2]))

    # Run / Assert
    with pytest.raises(SynthesizerError, match=re.escape("does not hold a simulation (found list)")):
        Simulation.load(str(path))


def test_model_parameters_out_of_range_are_reported_on_build():
    # Setup
    simulation = Simulation(MODEL, {"accounts": 1, "transfer_rate": 2}, 1, [])

    # Run / Assert
    with pytest.raises(SynthesizerError, match=re.escape("`accounts` must be an integer of at least 2; got 1.")):
        simulation.run(7)
