"""The YAML component is the configuration model: every setting, however deep, comes through a
real `defs.yaml` loaded by Dagster."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from pydantic import BaseModel

from synthpipe.component import SynthpipeComponent
from synthpipe.config import EnvValue, SynthpipeConfig

pytestmark = pytest.mark.unit

RULES = "rules:\n  - inequality: {low: capital-loss, high: capital-gain}\n"

# Every setting of every configuration model set to a value other than its default, across three
# documents (a source's location settings exclude one another). Values stay semantically valid:
# `to_config` validates the whole configuration.
SOURCES = [
    {"kind": "duckdb", "database": {"env": "SYNTHPIPE_TEST_SOURCE"}},
    {"kind": "sql", "url": "sqlite:////srv/crm.db", "db_schema": "main"},
    {"kind": "parquet", "path": "s3://lake/exports"},
]
EVALUATED = {
    "holdout_fraction": 0.3,
    "split_seed": 3,
    "min_utility_ratio": 0.9,
    "max_exact_copy_share": 0.0,
    "max_dcr_closer_share": 0.55,
    "rare_value_min_count": 10,
    "max_value_leak_share": 0.01,
    "gate_severity": {"dcr": "warn"},
}
SINGLE = {
    "name": "adult",
    "attack_rows": 1000,
    "max_singling_out_risk": 0.05,
    "max_linkability_risk": 0.05,
    "max_inference_risk": 0.2,
    "source_table": "raw_adult",
    "query": "SELECT * FROM raw_adult WHERE age >= 18",
    "row_limit": 5000,
    "fit_rows": 1000,
    "synthesizer": "auto",
    "auto_candidates": ["gaussian_copula", "tvae"],
    "auto_budget_seconds": 60.0,
    "candidate_params": {"tvae": {"epochs": 2}},
    "synthesizer_params": {"default_distribution": "norm"},
    "columns": {"age": {"sdtype": "numerical"}, "born": {"sdtype": "datetime", "datetime_format": "%Y"}},
    "exclude_columns": ["fnlwgt"],
    "pii": {"customer": "name"},
    "expectation_suites": ["adult.yaml"],
    "num_rows": 500,
    "seed": 11,
    "quality_threshold": 0.75,
    "target": "income",
    "train_on": ["real", "synthetic", "real+synthetic"],
    "sample_chunk_rows": 1000,
    "sample_workers": 2,
    "evaluation_rows": 5000,
    "model_name": "twins-adult",
    "refresh": "on_change",
    **EVALUATED,
}
# sampled under conditions instead of `num_rows`
CONDITIONED = {"name": "adult_women", "source_table": "raw_adult", "conditions": [{"values": {"gender": "Female"}, "rows": 100}]}
REBALANCED = {"name": "adult_rich", "source_table": "raw_adult", "rebalance": {"column": "income", "shares": {">50K": 0.5}, "tolerance": 0.01, "min_class_margin": 0.05}}
PARTIAL = {"name": "adult_partial", "source_table": "raw_adult", "synthesize_columns": ["income"]}
HYBRID = {"name": "adult_hybrid", "source_table": "raw_adult", "impute": ["workclass"]}
# differential privacy: TabularARGN with every setting of the budget
PRIVATE = {
    "name": "adult_private",
    "source_table": "raw_adult",
    "synthesizer": "argn",
    "privacy": {"epsilon": 4.0, "delta": 1e-06, "value_epsilon": 0.5, "noise_multiplier": 1.2, "max_grad_norm": 0.8},
}
FAIR = {"name": "adult_fair", "source_table": "raw_adult", "fairness": {"target": "income", "sensitive": "gender", "method": "conditions", "max_parity_gap": 0.02}}
SEQUENTIAL = {
    "name": "plane_flights",
    "synthesizer": "par",
    "sequence": {"entity_key": "tailnum", "order_by": "time_hour", "context_columns": ["carrier"]},
    "num_sequences": 7,
}
GROUP = {
    "name": "nycflights",
    "tables": [
        {
            "name": "planes",
            "source_table": "raw_planes",
            "query": "SELECT * FROM raw_planes",
            "row_limit": 100,
            "primary_key": "tailnum",
            "exclude_columns": ["speed"],
            "columns": {"engines": {"sdtype": "categorical"}},
            "pii": {"manufacturer": "company"},
            "expectation_suites": ["planes.yaml"],
        },
        {"name": "flights"},
    ],
    "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}],
    "orphans": "drop",
    "synthesizer": "hma",
    "synthesizer_params": {"verbose": False},
    "scale": 0.5,
    "seed": 4,
    "quality_threshold": 0.65,
    "target": {"table": "flights", "column": "arr_delay"},
    "model_name": "twins-nycflights",
    **{**EVALUATED, "gate_severity": {"utility": "warn"}},
}


# TabularARGN's group: a context key, no enforced rules
ARGN_GROUP: dict[str, Any] = {
    "name": "nycflights_argn",
    "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
    "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum", "context": True}],
    "synthesizer": "argn",
    "synthesizer_params": {"model": "MOSTLY_AI/Small"},
}


# Tables without a source: a generated set (drawing ages from the adult twin) and a simulation.
GENERATED: dict[str, Any] = {
    "name": "bank",
    "seed": 3,
    "significance": 0.01,
    "quality_threshold": 0.95,
    "gate_severity": {"correlations": "warn"},
    "max_rejected_share": 0.4,
    "model_name": "twins-bank",
    "tables": [
        {
            "name": "customers",
            "num_rows": 500,
            "expectation_suites": ["adult.yaml"],
            "columns": {
                "customer_id": {"sequence": {"start": 10, "step": 2, "format": "C{:06d}"}},
                "age": {"twin": {"table": "adult", "column": "age"}},
                "segment": {"categories": {"retail": 0.8, "business": 0.2}},
                "tier": {"categories": {"standard": 0.9, "gold": 0.1}},
                "score": {"distribution": "norm", "params": {"loc": 680, "scale": 60}, "round": 0},
                "floor": {"distribution": "norm", "params": {"loc": 400, "scale": 30}},
                "ceiling": {"distribution": "norm", "params": {"loc": 900, "scale": 30}},
                "spend": {"distribution": "lognorm", "params": {"s": 0.5, "scale": 1800}, "null_share": 0.05},
                "name": {"faker": "name", "locale": "de_DE"},
                "spend_k": {"formula": "spend / 1000"},
            },
            "correlations": [{"columns": ["floor", "spend"], "rho": 0.4}],
            "rules": [
                {"range": {"low": "floor", "middle": "score", "high": "ceiling"}},
                {"conditional": {"when": {"segment": "business"}, "column": "tier", "categories": {"gold": 0.6, "standard": 0.4}}},
            ],
        },
        {
            "name": "accounts",
            "parent": {"table": "customers", "key": "customer_id", "column": "owner_id", "count": {"distribution": "poisson", "params": {"mu": 2}}},
            "columns": {
                "account_id": {"sequence": {}},
                "product": {"categories": {"checking": 0.7, "loan": 0.3}},
                "currency": {"categories": {"EUR": 0.5, "USD": 0.5}},
                "balance": {"distribution": "gamma", "params": {"a": 2.0, "scale": 800.0}},
                "limit": {"formula": "balance * 2 + 100"},
            },
            "rules": [
                {"inequality": {"low": "balance", "high": "limit"}},
                {"fixed_combinations": {"columns": ["product", "currency"], "combinations": [["checking", "EUR"], ["checking", "USD"], ["loan", "EUR"]]}},
            ],
        },
    ],
}
SIMULATED: dict[str, Any] = {
    "name": "transfers",
    "model": "synthpipe.simulations.transfers:TransferModel",
    "parameters": {"accounts": 50, "fraud_share": 0.05},
    "steps": 12,
    "seed": 1,
    "tables": ["transactions", "model"],
    "expectation_suites": {"transactions": [str(Path(__file__).parents[2] / "expectations" / "transfers.yaml")]},
    "model_name": "twins-transfers",
}


def _documents(suites: Path, data: Path) -> list[dict[str, Any]]:
    everything = {
        "data_dir": str(data),
        "source": SOURCES[0],
        "mlflow": {"tracking_uri": "sqlite:////srv/mlflow/mlflow.db", "experiment": "twins"},
        "links": {"files_url": "https://twins-docs.internal", "mlflow_url": "https://mlflow.internal"},
        "schedule": {"cron": "30 1 * * *", "timezone": "Europe/Berlin", "enabled": False, "change_check_seconds": 600},
        "retention": {"keep_last": 7, "pins": {"adult": {"paper-2026": 3}}, "cron": "0 5 * * 1"},
        "expectations_dir": str(suites),
        "tables": [SINGLE, SEQUENTIAL, CONDITIONED, REBALANCED, FAIR, PARTIAL, HYBRID, PRIVATE],
        "groups": [GROUP, ARGN_GROUP],
        "generated": [GENERATED],
        "simulations": [SIMULATED],
        "execution": {
            "executor": "celery", "broker": {"env": "SYNTHPIPE_BROKER_URL"}, "backend": "rpc://", "chunk_tasks": True,
            "queue": "twins-nightly", "source_pool": "warehouse", "source_pool_limit": 2,
        },
    }
    # the settings of the other executors, one document each
    multiprocess = {"source": SOURCES[0], "tables": [{"name": "adult_steps", "source_table": "adult"}], "execution": {"executor": "multiprocess", "max_concurrent": 3}}
    return [everything, multiprocess] + [{"source": source, "tables": [{"name": "adult"}]} for source in SOURCES[1:]]


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The configuration models an annotation holds (through `| None`, lists and dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, dict):
        return [model for arg in typing.get_args(annotation) for model in _models(arg)]
    return []


def _every_field(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[tuple[str, str]]:
    """(model, field) for every field of `model` and of every model below it."""
    seen = set() if seen is None else seen
    seen.add(model)
    found = {(model.__name__, name) for name in model.model_fields}
    for info in model.model_fields.values():
        for nested in _models(info.annotation):
            if nested not in seen:
                found |= _every_field(nested, seen)
    return found


def _entries(annotation: Any, value: Any) -> list[Any]:
    """The values of nested models in a YAML value: itself, a list's items, or a mapping's values."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [e for arg in typing.get_args(annotation) if _models(arg) for e in _entries(arg, value)]
    if origin is list:
        return list(value) if isinstance(value, list) else []
    if origin is dict:
        return list(value.values()) if isinstance(value, dict) else []
    return [value] if isinstance(value, dict) else []


def _fields_set_by(model: type[BaseModel], value: Any) -> set[tuple[str, str]]:
    """(model, field) for every field a YAML value sets, however deep (extra keys, such as SDV's
    own column settings, are not fields)."""
    found: set[tuple[str, str]] = set()
    for name, item in value.items() if isinstance(value, dict) else ():
        if name not in model.model_fields:
            continue
        found.add((model.__name__, name))
        annotation = model.model_fields[name].annotation
        for nested in _models(annotation):
            for entry in _entries(annotation, item):
                found |= _fields_set_by(nested, entry)
    return found


def _arrived(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where the loaded configuration differs from what the YAML set (settings left out are defaults)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: {actual!r} is not a mapping"]
        return [d for key, value in expected.items() for d in (_arrived(actual[key], value, f"{path}.{key}") if key in actual else [f"{path}.{key}: missing"])]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: {actual!r} != {expected!r}"]
        return [d for i, (a, e) in enumerate(zip(actual, expected)) for d in _arrived(a, e, f"{path}[{i}]")]
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


@pytest.fixture
def defs_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A defs folder of its own: Dagster's test component tree is the working directory."""
    folder = tmp_path / "defs"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _load(defs_folder: Path, documents: dict[str, str]) -> list[SynthpipeComponent]:
    """Writes each `<defs>/<name>/defs.yaml` and loads them with Dagster's component tree, as the
    code location does; the components come back in the order of `documents`."""
    for name, text in documents.items():
        (defs_folder / name).mkdir()
        (defs_folder / name / "defs.yaml").write_text(text)
    loaded = dg.ComponentTree.for_test().get_all_components(of_type=SynthpipeComponent)
    assert len(loaded) == len(documents)
    by_source = {(c.source.kind, c.tables[0].name): c for c in loaded}
    return [by_source[_key(yaml.safe_load(text)["attributes"])] for text in documents.values()]


def _key(attributes: dict[str, Any]) -> tuple[str, str]:
    return attributes["source"].get("kind", "duckdb"), attributes["tables"][0]["name"]


def _defs_yaml(attributes: dict[str, Any]) -> str:
    return yaml.safe_dump({"type": "synthpipe.SynthpipeComponent", "attributes": attributes}, sort_keys=False)


def test_the_component_is_the_configuration_model():
    # Assert: the same fields, and the YAML schema Dagster derives has exactly them
    assert issubclass(SynthpipeComponent, SynthpipeConfig)
    assert list(SynthpipeComponent.model_fields) == list(SynthpipeConfig.model_fields)
    assert {n: f.annotation for n, f in SynthpipeComponent.model_fields.items()} == {n: f.annotation for n, f in SynthpipeConfig.model_fields.items()}
    assert list(SynthpipeComponent.model().model_fields) == list(SynthpipeConfig.model_fields)


def test_every_configuration_field_is_set_by_the_documents():
    # Assert: the documents below cover every field of every model, so a new setting needs a value here
    documents = _documents(Path("suites"), Path("data"))
    covered = set().union(*(_fields_set_by(SynthpipeConfig, document) for document in documents))
    assert _every_field(SynthpipeConfig) - covered == set()
    assert len(_every_field(SynthpipeConfig)) > 80  # the walk reached the nested models


def test_every_configuration_field_is_settable_from_defs_yaml(tmp_path, defs_folder):
    # Setup
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "adult.yaml").write_text("suite: adult_rules\n" + RULES)
    (suites / "planes.yaml").write_text("suite: planes_rules\nrules:\n  - inequality: {low: year, high: seats}\n")
    documents = _documents(suites, tmp_path / "data")

    # Run
    components = _load(defs_folder, {f"twins_{i:02d}": _defs_yaml(document) for i, document in enumerate(documents)})
    configs = [component.to_config() for component in components]

    # Assert: each value arrives unchanged in the configuration model, to the last nested setting
    for config, document in zip(configs, documents):
        assert type(config) is SynthpipeConfig
        assert _arrived(config.model_dump(mode="json"), document) == []
    everything = configs[0]
    assert everything.retention.keep_last == 7 and everything.retention.pins == {"adult": {"paper-2026": 3}}
    assert everything.expectations_dir == str(suites) and [s.name for s in everything.tables[0].suites] == ["adult_rules"]
    assert everything.source.database == EnvValue(env="SYNTHPIPE_TEST_SOURCE")  # a reference, read when a run starts


def test_retention_and_expectations_dir_come_through_from_yaml():
    # Setup
    yaml_text = """
source: {kind: duckdb, database: sources/adult.duckdb}
retention: {keep_last: 7, pins: {adult: {paper-2026: 3}}, cron: "0 5 * * 1"}
expectations_dir: expectations
tables:
  - name: adult
"""

    # Run
    config = SynthpipeComponent.resolve_from_yaml(yaml_text).to_config()

    # Assert
    assert config.retention.keep_last == 7 and config.retention.pins == {"adult": {"paper-2026": 3}}
    assert config.retention.cron == "0 5 * * 1"
    assert config.expectations_dir == "expectations"


def test_the_shipped_defs_yaml_loads_as_the_component(defs_folder):
    # Setup
    shipped = Path(__file__).parents[2] / "pipelines" / "defs" / "nightly" / "defs.yaml"

    # Run
    (component,) = _load(defs_folder, {"nightly": shipped.read_text()})

    # Assert
    assert isinstance(component, SynthpipeComponent)
    assert [t.name for t in component.tables] == ["adult", "plane_flights"] and component.groups[0].name == "nycflights"
