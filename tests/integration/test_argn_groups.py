"""TabularARGN on a real relational schema deeper than HMA allows: the Chinook music store's
customers -> invoices -> invoice lines (two levels of children), end to end through the nightly
refresh, bounded by epochs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient

from synthpipe.config import ForeignKeyConfig
from synthpipe.demo_data import load_chinook, write_duckdb_table
from synthpipe.errors import ConfigError
from synthpipe.factory import build_synthpipe_defs
from synthpipe.resources.relational import integrity_problems
from synthpipe.resources.reproduce import reproduce
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.tracking import MlflowTracker

pytestmark = pytest.mark.integration

FOREIGN_KEYS = [
    {"parent": "customers", "parent_key": "customer_id", "child": "invoices", "child_key": "customer_id"},
    {"parent": "invoices", "parent_key": "invoice_id", "child": "invoice_lines", "child_key": "invoice_id"},
]
PRIMARY_KEYS = {"customers": "customer_id", "invoices": "invoice_id", "invoice_lines": "invoice_line_id"}
COLUMNS = {
    "customers": ["customer_id", "firstname", "lastname", "email", "country", "support_rep_id"],
    "invoices": ["invoice_id", "customer_id", "invoicedate", "billingcountry", "total"],
    "invoice_lines": ["invoice_line_id", "invoice_id", "unit_price", "quantity"],
}
PARAMS = {"model": "MOSTLY_AI/Small", "max_epochs": 3, "random_state": 1}


@pytest.fixture(scope="module")
def store_tables() -> dict[str, pd.DataFrame]:
    chinook = load_chinook()
    return {name: chinook[name][columns] for name, columns in COLUMNS.items()}


@pytest.fixture
def chinook_source(data_dir: Path, store_tables: dict[str, pd.DataFrame]) -> str:
    for name, frame in store_tables.items():
        write_duckdb_table(data_dir / "sources" / "chinook.duckdb", name, frame)
    return "sources/chinook.duckdb"


def group_config(data_dir: Path, database: str, **group: Any) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "source": {"kind": "duckdb", "database": database},
        "groups": [
            {
                "name": "store",
                "synthesizer": "argn",
                "synthesizer_params": PARAMS,
                "tables": [
                    # names and e-mail addresses are personal: generated fresh, never learned
                    {"name": "customers", "primary_key": "customer_id", "pii": {"firstname": "first_name", "lastname": "last_name", "email": "email"},
                     "columns": {"support_rep_id": {"sdtype": "categorical"}}},
                    {"name": "invoices", "primary_key": "invoice_id"},
                    {"name": "invoice_lines", "primary_key": "invoice_line_id"},
                ],
                "foreign_keys": FOREIGN_KEYS,
                "quality_threshold": 0.5,
                "seed": 7,
                # a 3-epoch model on 59 customers: the DCR share is reported, not gated, here
                "gate_severity": {"dcr": "warn"},
                **group,
            }
        ],
    }


@pytest.mark.slow
def test_a_chain_deeper_than_hma_allows_is_published_whole_and_reproduced(run_refresh, data_dir, chinook_source, store_tables, capsys):
    # Run
    result = run_refresh(group_config(data_dir, chinook_source))

    # Assert: the whole chain published in one run, every key resolving (checked independently)
    failed = {e.check_name: e.description for e in result.get_asset_check_evaluations() if not e.passed}
    assert result.success, failed
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    published = {name: store.read(f"store/{name}") for name in COLUMNS}
    assert integrity_problems(published, PRIMARY_KEYS, [ForeignKeyConfig(**fk) for fk in FOREIGN_KEYS]) == []
    assert all(list(published[n].columns) == COLUMNS[n] for n in COLUMNS)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["referential_integrity"].passed and evaluations["value_leaks"].passed

    # Assert: real proportions. Whole families are held out, so the twin has as many invoices per
    # customer and lines per invoice as the source (within 15%), not 20% fewer
    real, synthetic = store_tables, published
    for parent, child in (("customers", "invoices"), ("invoices", "invoice_lines")):
        real_ratio, synthetic_ratio = len(real[child]) / len(real[parent]), len(synthetic[child]) / len(synthetic[parent])
        assert abs(synthetic_ratio / real_ratio - 1) < 0.15, (child, real_ratio, synthetic_ratio)
    assert len(synthetic["customers"]) == len(real["customers"])

    # Assert: privacy. Declared personal columns are fresh; keys are new; no rare real value
    # (Faker's first names are common ones, so a Jennifer may be in both; a real person is not)
    people = lambda frame: set(zip(frame["firstname"], frame["lastname"]))  # noqa: E731
    assert not people(synthetic["customers"]) & people(real["customers"])
    assert not synthetic["customers"]["email"].isin(set(real["customers"]["email"])).any()
    counts = real["customers"]["country"].value_counts()
    assert set(synthetic["customers"]["country"]) <= set(counts[counts >= 5].index)

    # Assert: MLflow holds the group's model; the registry and the recorded seed regenerate each table
    uri = f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version_by_alias("synthpipe-store", "champion")
    assert client.get_run(version.run_id).data.params["synthesizer"] == "argn_group"
    for name in COLUMNS:
        again = reproduce(f"store/{name}", 0, store, MlflowTracker(tracking_uri=uri))
        assert again.identical, name

    # Assert: and so does `synthpipe reproduce` for the grand-children
    from synthpipe.cli import main as cli

    code = cli(["reproduce", "store/invoice_lines", "0", "--root", str(data_dir / "snapshots"), "--tracking-uri", uri])
    output = capsys.readouterr().out
    assert code == 0 and "store/invoice_lines version 0 from synthpipe-store v1 with seed 7" in output and ": identical" in output, output


def test_hma_refuses_the_same_chain_and_names_argn(data_dir, chinook_source):
    with pytest.raises(ConfigError, match="relationships are 2 levels deep .*HMA handles one level. Options: set `synthesizer: argn`"):
        build_synthpipe_defs(group_config(data_dir, chinook_source, synthesizer="hma", synthesizer_params={}))


def test_a_self_reference_is_refused_when_definitions_load(data_dir, chinook_source):
    # Setup: the real employees table, whose `reports_to` points at another employee
    config = group_config(data_dir, chinook_source)
    config["groups"][0]["tables"].append({"name": "employees", "primary_key": "employee_id"})
    config["groups"][0]["foreign_keys"].append({"parent": "employees", "parent_key": "employee_id", "child": "employees", "child_key": "reports_to"})

    # Run / Assert
    with pytest.raises(ConfigError, match="employees.reports_to -> employees.employee_id points at its own table.*exclude_columns"):
        build_synthpipe_defs(config)
