"""Tables without a source end to end: a declared set of related tables, a set drawing from a
learned twin in the same run, and a Mesa simulation; each through real Dagster runs, Delta
tables, an MLflow store and Great Expectations."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from synthpipe import metadata_keys as keys
from synthpipe.errors import ConfigError
from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.tracking import MlflowTracker
from synthpipe.validation import load_config
from tests.conftest import step_error

pytestmark = pytest.mark.integration

BANK: dict[str, Any] = {
    "name": "bank",
    "seed": 11,
    "tables": [
        {
            "name": "customers",
            "num_rows": 3000,
            "columns": {
                "customer_id": {"sequence": {"start": 1, "format": "C{:06d}"}},
                "segment": {"categories": {"retail": 4, "business": 1}},
                "tier": {"categories": {"standard": 0.9, "gold": 0.1}},
                "credit_score": {"distribution": "norm", "params": {"loc": 680, "scale": 60}},
                "monthly_income": {"distribution": "lognorm", "params": {"s": 0.5, "scale": 3200}},
                "name": {"faker": "name"},
            },
            "correlations": [{"columns": ["credit_score", "monthly_income"], "rho": 0.6}],
            "rules": [{"conditional": {"when": {"segment": "business"}, "column": "tier", "categories": {"gold": 0.6, "standard": 0.4}}}],
        },
        {
            "name": "accounts",
            "parent": {"table": "customers", "key": "customer_id", "count": {"distribution": "poisson", "params": {"mu": 1.5}}},
            "columns": {
                "account_id": {"sequence": {"start": 100000}},
                "product": {"categories": {"checking": 0.6, "savings": 0.3, "loan": 0.1}},
                "currency": {"categories": {"EUR": 0.8, "USD": 0.2}},
                "balance": {"distribution": "gamma", "params": {"a": 2.0, "scale": 800.0}},
                "credit_limit": {"formula": "balance * 2 + 500"},
                "opened_days_ago": {"distribution": "poisson", "params": {"mu": 400}},
            },
            "rules": [
                {"inequality": {"low": "balance", "high": "credit_limit"}},
                # every combination the categories make: the rule is proven on every row, and cuts nothing
                {"fixed_combinations": {"columns": ["product", "currency"], "combinations": [[p, c] for p in ("checking", "savings", "loan") for c in ("EUR", "USD")]}},
            ],
        },
    ],
}

TRANSFERS: dict[str, Any] = {
    "name": "transfers",
    "model": "synthpipe.simulations.transfers:TransferModel",
    "parameters": {"accounts": 80},
    "steps": 24,
    "seed": 5,
    "tables": ["transactions", "model"],
    "expectation_suites": {"transactions": ["transfers.yaml"]},
}


def sourceless(data_dir: Path, **units: Any) -> dict[str, Any]:
    return {"data_dir": str(data_dir), "mlflow": {"experiment": "synthpipe-test"}, **units}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def tracker(data_dir: Path) -> MlflowTracker:
    return MlflowTracker(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}", experiment="synthpipe-test")


def test_a_declared_set_fits_its_declarations_keeps_its_rules_and_reproduces(run_refresh, data_dir, store):
    # Run
    result = run_refresh(sourceless(data_dir, generated=[BANK]))

    # Assert: every check passed, each with the figures that prove it
    assert result.success, step_error(result)
    found = checks(result)
    assert {name: found[name].passed for name in ("distributions", "correlations", "rules", "keys", "fit")} == dict.fromkeys(
        ("distributions", "correlations", "rules", "keys", "fit"), True
    )
    tests = found["distributions"].metadata[keys.FIT_TESTS].value
    assert re.search(r"\| customers \| credit_score \| norm\(.*\) \| ks \|", tests)
    assert re.search(r"\| customers \| segment \| .* \| chi2 \|", tests)
    assert re.search(r"\| accounts \| customer_id per customers \| poisson\(.*\) \| chi2 \|", tests)
    assert found["rules"].metadata[keys.EXPECTATIONS_EVALUATED].value >= 3

    # privacy: no value comes from a real row; what looks personal is reported as made up, not hidden
    synthetic = next(e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["bank", "synthetic"]))
    personal = synthetic.step_materialization_data.materialization.metadata[keys.LOOKS_PERSONAL].value
    assert "`customers.name`: made up by Faker's `name`, never real" in personal
    customers, accounts = store.read("bank/customers"), store.read("bank/accounts")
    assert len(customers) == 3000 and customers["customer_id"].is_unique
    assert accounts["customer_id"].isin(set(customers["customer_id"])).all()
    assert (accounts["balance"] <= accounts["credit_limit"]).all()
    assert abs(len(accounts) / len(customers) - 1.5) < 0.1
    # the conditional rule: business customers are gold far more often than the 10% of the rest
    gold = customers.groupby("segment")["tier"].apply(lambda s: (s == "gold").mean())
    assert gold["business"] > 0.5 > 0.15 > gold["retail"]
    spearman = customers[["credit_score", "monthly_income"]].corr(method="spearman").iloc[0, 1]
    assert abs(spearman - 0.582) < 0.05  # 6/pi * asin(0.6 / 2)

    # MLflow holds the declaration as a registered model, the seed and the measures
    client = MlflowClient(tracking_uri=tracker(data_dir).tracking_uri)
    [run] = client.search_runs([client.get_experiment_by_name("synthpipe-test").experiment_id])
    assert run.data.params["seed"] == "11" and run.data.params["synthesizer"] == "generator"
    assert run.data.metrics["rows.customers"] == 3000 and "fit.customers.credit_score" in run.data.metrics
    assert str(client.get_model_version_by_alias("synthpipe-bank", "champion").version) == "1"

    # Run again: the same seed draws the same rows, and `reproduce` regenerates the version
    again = run_refresh(sourceless(data_dir, generated=[BANK]))
    assert again.success, step_error(again)
    history = store.history("bank/accounts")
    assert [h["version"] for h in history] == [1, 0] and history[0]["row_hash"] == history[1]["row_hash"]
    assert reproduce("bank/accounts", 0, store, tracker(data_dir)).identical
    assert str(client.get_model_version_by_alias("synthpipe-bank", "champion").version) == "1"  # unchanged declaration: reused


def test_rules_that_cut_into_the_declared_distributions_block_the_set(run_refresh, data_dir, store):
    # Setup: a published version, then a declaration whose rule rejects about a third of the rows
    assert run_refresh(sourceless(data_dir, generated=[BANK])).success
    cut = copy.deepcopy(BANK)
    cut["tables"][1]["columns"]["overdraft"] = {"distribution": "norm", "params": {"loc": 900, "scale": 800}}
    cut["tables"][1]["rules"].append({"inequality": {"low": "overdraft", "high": "balance"}})

    # Run
    result = run_refresh(sourceless(data_dir, generated=[cut]))

    # Assert: the truncated marginals fail their fit tests; nothing new is published
    found = checks(result)
    assert not found["distributions"].passed and found["rules"].passed
    failed = found["distributions"].description
    assert "accounts.overdraft" in failed or "accounts.balance" in failed
    assert store.latest_version("bank/accounts") == 0 and store.latest_version("bank/customers") == 0
    assert json.loads(json.dumps(found["distributions"].metadata["synthpipe/tests_failed"].value)) >= 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["tables"][0]["columns"]["credit_score"].update(distribution="normal"), ["column 'credit_score'", "'normal'", "norm"]),
        (lambda d: d["tables"][0]["columns"]["credit_score"].update(params={"loc": 680, "scale": -60}), ["column 'credit_score'", "scale"]),
        (
            lambda d: d["tables"][1]["rules"].append({"inequality": {"low": "opened_days_ago", "high": "account_id"}}),
            ["table 'accounts'", "opened_days_ago", "none of"],
        ),
    ],
    ids=["unknown distribution", "bad parameter", "rule no row meets"],
)
def test_a_broken_declaration_is_refused_at_load_with_the_field_and_the_fix(data_dir, change, expected):
    # Setup
    broken = copy.deepcopy(BANK)
    if expected[-1] == "none of":  # account ids start at 100000: no account is that old
        broken["tables"][1]["columns"]["opened_days_ago"] = {"distribution": "uniform", "params": {"loc": 200000, "scale": 1000}}
    change(broken)

    # Run / Assert
    with pytest.raises(ConfigError) as error:
        load_config(sourceless(data_dir, generated=[broken]))
    message = str(error.value)
    assert "generated set 'bank'" in message
    for fragment in expected:
        assert fragment in message


@pytest.mark.slow
def test_a_set_drawing_from_a_learned_twin_publishes_with_it_in_one_run(run_refresh, base_config, data_dir, store):
    # Setup: customers take age, occupation and income from the published adult twin of the same run
    config = copy.deepcopy(base_config)
    config["tables"][0].update(gate_severity={"dcr": "warn"})
    bank = copy.deepcopy(BANK)
    bank["tables"][0]["columns"].update(
        age={"twin": {"table": "adult", "column": "age"}},
        occupation={"twin": {"table": "adult", "column": "occupation"}},
        income={"twin": {"table": "adult", "column": "income"}},
    )
    config["generated"] = [bank]
    definitions = build_synthpipe_defs(config)
    graph = definitions.resolve_asset_graph()
    assert dg.AssetKey(["adult", "published"]) in graph.get(dg.AssetKey(["bank", "source"])).parent_keys

    # Run
    result = run_refresh(config)

    # Assert: both publish; the set records the twin version it drew, whose rows it holds
    assert result.success, step_error(result)
    history = store.history("bank/customers")
    assert json.loads(history[0]["twin_versions"]) == {"adult": 0}
    twin, customers = store.read("adult"), store.read("bank/customers")
    drawn = customers[["age", "occupation", "income"]].astype(str).agg("|".join, axis=1)
    rows = set(twin[["age", "occupation", "income"]].astype(str).agg("|".join, axis=1))
    assert drawn.isin(rows).all()  # whole twin rows: no real value, no combination the twin lacks
    assert reproduce("bank/customers", 0, store, tracker(data_dir)).identical


def test_a_simulation_publishes_its_tables_with_its_parameters_and_reproduces(run_refresh, data_dir, store):
    # Run
    result = run_refresh(sourceless(data_dir, simulations=[TRANSFERS]))

    # Assert: its contract passed; both tables published with the settings in the commit
    assert result.success, step_error(result)
    found = checks(result)
    assert found["collected"].passed and found["suite_transactions_transfers_contract"].passed
    transactions = store.read("transfers/transactions")
    assert len(transactions) > 100 and 0 < transactions["is_fraud"].mean() < 0.2
    assert len(store.read("transfers/model")) == 25  # collected once at the start and after each step
    commit = store.history("transfers/transactions")[0]
    assert json.loads(commit["simulation"])["parameters"] == {"accounts": 80} and commit["seed"] == "5"

    client = MlflowClient(tracking_uri=tracker(data_dir).tracking_uri)
    [run] = client.search_runs([client.get_experiment_by_name("synthpipe-test").experiment_id])
    assert run.data.params["parameters.accounts"] == "80" and run.data.params["steps"] == "24" and run.data.params["seed"] == "5"
    assert run.data.metrics["steps_per_second"] > 0 and 0 < run.data.metrics["share.transactions.is_fraud"] < 0.2
    assert reproduce("transfers/transactions", 0, store, tracker(data_dir)).identical
    assert isinstance(store, DeltaSnapshotStore) and isinstance(transactions, pd.DataFrame)


def test_a_blocked_twin_holds_back_the_set_that_draws_from_it(run_refresh, base_config, data_dir, store):
    # Setup: the twin cannot reach its quality threshold; the set draws ages from it
    config = copy.deepcopy(base_config)
    config["tables"][0].update(quality_threshold=0.99)
    bank = copy.deepcopy(BANK)
    bank["tables"][0]["columns"]["age"] = {"twin": {"table": "adult", "column": "age"}}
    config["generated"] = [bank]

    # Run
    result = run_refresh(config)

    # Assert: neither publishes; the set never drew from a twin that was not published tonight
    assert not result.success and not checks(result)["quality"].passed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert not any(key.startswith("bank/") for key in materialized), materialized
    assert store.history("bank/customers") == [] and store.history("adult") == []
