"""The configuration model: config in, problems or a spec out."""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
import pytest

import pyarrow as pa

from synthpipe.assets.kinds import kind_for
from synthpipe.assets.split import split_source
from synthpipe.assets.specs import build_assets as build_table_assets
from synthpipe.config import SynthpipeConfig, TableConfig
from synthpipe.errors import ConfigError
from synthpipe.factory import build_resources, build_synthpipe_defs
from synthpipe.validation import load_config

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = {"source": {"database": "sources/adult.duckdb"}, "tables": [{"name": "adult"}]}


def config_with(**table: Any) -> dict[str, Any]:
    return {**BASE, "tables": [{"name": "adult", **table}]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (config_with(synthesizer="gausian_copula"), "Did you mean 'gaussian_copula'?"),
        (config_with(holdout_fraction=1.0), "`holdout_fraction` must be between 0 and 1 (exclusive); got 1.0"),
        (config_with(quality_threshold=1.5), "`quality_threshold` must be between 0 and 1; got 1.5"),
        (config_with(num_rows=0), "`num_rows` must be at least 1; got 0"),
        (config_with(sample_chunk_rows=0), "`sample_chunk_rows` must be at least 1; got 0"),
        (config_with(row_limit=0), "`row_limit` must be at least 1; got 0"),
        (config_with(max_dcr_closer_share=1.2), "`max_dcr_closer_share` must be between 0 and 1; got 1.2"),
        (config_with(max_inference_risk=1.5), "`max_inference_risk` must be between 0 and 1; got 1.5"),
        (config_with(attack_rows=10), "`attack_rows` must be 0 (no attacks) or at least 50; got 10"),
        (config_with(attack_rows=0, max_linkability_risk=0.1), "`max_linkability_risk` needs the attacks, which `attack_rows: 0` turns off"),
        (config_with(gate_severity={"dcr": "maybe"}), "table 'adult': `gate_severity.dcr`: Input should be 'error' or 'warn'"),
        (config_with(gate_severity={"privacy": "warn"}), "Input should be 'expectations', 'quality', 'exact_copies', 'dcr', 'value_leaks', 'utility', 'rebalance', 'class_fidelity', 'fairness', 'singling_out', 'linkability' or 'inference' (got 'privacy')"),
        (config_with(fit_rows=-5), "`fit_rows` must be at least 1; got -5"),
        (config_with(train_on=["real"]), "table 'adult': `train_on` ['real'] needs `target`, the column the downstream models predict; set `target`"),
        (config_with(target="income", train_on=["real", "synthetic", "real"]), "table 'adult': `train_on` lists 'real' more than once; name each entry once."),
        (config_with(target="income", train_on=[]), "table 'adult': `train_on` is empty; name at least one of"),
        (config_with(target="income", train_on=["fake"]), "table 'adult': `train_on.0`: Input should be 'real', 'synthetic' or 'real+synthetic'"),
        (config_with(synthesizer="auto", auto_candidates=["gaussian_copula", "par"]), "`auto_candidates` names 'par', which `auto` cannot fit"),
        (config_with(synthesizer="auto", candidate_params={"ctgan": {}}, auto_candidates=["tvae"]), "`candidate_params` for ['ctgan'], which are not in `auto_candidates`"),
        (config_with(auto_budget_seconds=0), "`auto_budget_seconds` must be above 0; got 0.0"),
        (config_with(synthesizer="par"), "synthesizer 'par' needs `sequence: {entity_key: ..., order_by: ...}`"),
        (config_with(num_sequences=5), "`num_sequences` applies to sequential tables"),
        (config_with(sequence={"entity_key": "a", "order_by": "b"}, synthesizer="ctgan"), "a sequential table is synthesized with 'par', 'argn', not 'ctgan'"),
        (config_with(sequence={"entity_key": "a", "order_by": "b"}, num_rows=5), "use `num_sequences` instead of `num_rows`"),
        (config_with(sequence={"entity_key": "a", "order_by": "a"}), "`sequence` needs distinct entity_key, order_by"),
        (config_with(conditions=[{"values": {"sex": "Female"}, "rows": 10}], num_rows=5), "set `num_rows` or `conditions`, not both"),
        (config_with(conditions=[{"values": {}, "rows": 0}]), "`conditions[1]` needs `values` and `rows` of at least 1"),
        (config_with(conditions=[{"values": {"name": "Ann"}, "rows": 3}], pii={"name": "name"}), "`conditions[1]` fixes ['name'], which are left out or generated fresh"),
        (
            config_with(sequence={"entity_key": "a", "order_by": "b"}, conditions=[{"values": {"c": 1}, "rows": 3}]),
            "`conditions` applies to single tables; a sequential table samples whole sequences",
        ),
        (config_with(rebalance={"column": "income", "shares": {">50K": 0.7, "<=50K": 0.6}}), "`rebalance.shares` add up to 1.3, more than 1"),
        (config_with(rebalance={"column": "income", "shares": {">50K": 0}}), "`rebalance.shares` must each be above 0 and at most 1; got {'>50K': 0.0}"),
        (config_with(rebalance={"column": "name", "shares": {"Ann": 0.5}}, pii={"name": "name"}), "`rebalance.column` 'name' is left out or personal"),
        (config_with(fairness={"target": "sex", "sensitive": "sex"}), "`fairness.target` and `fairness.sensitive` are both 'sex'; name two columns."),
        (
            config_with(fairness={"target": "income", "sensitive": "sex"}, conditions=[{"values": {"sex": "Female"}, "rows": 3}]),
            "set one of `conditions`, `rebalance` and `fairness`, not `conditions`, `fairness`",
        ),
        (
            config_with(fairness={"target": "income", "sensitive": "sex", "method": "engine"}),
            "`fairness.method: engine` needs a synthesizer with a fairness mode of its own (argn); SDV GaussianCopula has none.",
        ),
        (config_with(synthesize_columns=["income"], impute=["age"]), "set `synthesize_columns` or `impute`, not both"),
        (config_with(synthesize_columns=["income"], num_rows=10), "`synthesize_columns` keeps the real rows, one row per training row; remove `num_rows`."),
        (config_with(impute=["income"], synthesizer="auto"), "`impute` needs a synthesizer that generates given known values; auto does not."),
        (
            config_with(privacy={"epsilon": 2.0}),
            "table 'adult': `privacy` needs a synthesizer with a differential-privacy guarantee: 'argn' (TabularARGN, DP-SGD through Opacus); "
            "synthesizer 'gaussian_copula' (SDV GaussianCopula) has none. Set `synthesizer: argn`, or remove `privacy`.",
        ),
        (
            config_with(synthesizer="auto", auto_candidates=["gaussian_copula", "tvae"], privacy={"epsilon": 2.0}),
            "`privacy` with `synthesizer: auto` needs a candidate with a differential-privacy guarantee: 'argn' (TabularARGN, DP-SGD through "
            "Opacus); `auto_candidates` ['gaussian_copula', 'tvae'] has none. Add 'argn' to `auto_candidates`, or remove `privacy`.",
        ),
        (config_with(synthesizer="argn", privacy={"epsilon": 0}), "`privacy.epsilon` must be above 0; got 0.0."),
        (config_with(synthesizer="argn", privacy={"epsilon": 2, "delta": 1}), "`privacy.delta` must be between 0 and 1 (exclusive); got 1.0."),
        (config_with(synthesizer="argn", privacy={"epsilon": 2, "value_epsilon": 2}), "`privacy.value_epsilon` must be above 0 and below `privacy.epsilon` (2)"),
        (config_with(synthesizer="argn", privacy={"epsilon": 2, "noise_multiplier": 0}), "`privacy.noise_multiplier` must be above 0; got 0.0."),
        (config_with(synthesizer="argn", privacy={"epsilon": 2, "max_grad_norm": -1}), "`privacy.max_grad_norm` must be above 0; got -1.0."),
        (config_with(synthesizer="argn", privacy={"eps": 2}), "`privacy`: unknown setting 'eps'. Did you mean 'epsilon'?"),
        (
            config_with(synthesizer="argn", sequence={"entity_key": "a", "order_by": "b"}, privacy={"epsilon": 2}),
            "`privacy` applies to single tables; no sequence synthesizer fits with a differential-privacy guarantee. Remove `privacy` or `sequence`.",
        ),
        (
            config_with(synthesizer="argn", synthesizer_params={"differential_privacy": {"max_epsilon": 2}}),
            "`synthesizer_params.differential_privacy` is set through `privacy` (e.g. `privacy: {epsilon: 2.0}`)",
        ),
        (
            config_with(synthesizer="argn", synthesizer_params={"value_protection": False}, privacy={"epsilon": 2}),
            "`privacy` finds value ranges and categories with noise, which needs value protection; remove `value_protection: false` from `synthesizer_params`.",
        ),
        (config_with(synthesizer="argn", impute=["age"], privacy={"epsilon": 2}), "`impute` publishes real rows, which `privacy`'s guarantee does not cover"),
        (
            config_with(synthesizer="argn", rebalance={"column": "income", "shares": {">50K": 0.5}}, privacy={"epsilon": 2}),
            "`rebalance` samples to the real rows' class shares, which `privacy`'s guarantee does not cover",
        ),
        (
            config_with(synthesizer="argn", fairness={"target": "income", "sensitive": "sex", "method": "conditions"}, privacy={"epsilon": 2}),
            "`fairness.method: conditions` samples to the real rows' group shares, which `privacy`'s guarantee does not cover; use `method: engine`",
        ),
        (
            config_with(synthesizer="argn", expectation_suites=["adult.yaml"], privacy={"epsilon": 2}),
            "allows the value combinations of the real rows, which `privacy`'s guarantee does not cover; set `enforce: false` on it",
        ),
        (config_with(synthesize_columns=["name"], pii={"name": "name"}), "`synthesize_columns` names ['name'], which are left out or personal"),
        (config_with(conditions=[{"values": {"sex": "Female"}, "count": 3}]), "`conditions.0`: unknown setting 'count'. Known settings here: values, rows"),
        ({**BASE, "source": {"kind": "sql"}}, "source: kind 'sql' needs `url`"),
        ({**BASE, "source": {"kind": "csv", "path": "x", "url": "sqlite://"}}, "source: `url` does not apply to kind 'csv'"),
        ({**BASE, "source": {"kind": "parquet", "path": "x"}, "tables": [{"name": "a", "query": "SELECT 1"}]}, "`query` needs a sql or duckdb source"),
        (config_with(name="adult table"), "`name` must be letters, digits and underscores"),
        (config_with(seed="tomorrow"), "table 'adult': `seed`: Input should be a valid integer"),
        (config_with(columns={"age": {"sdtype": "numerical"}}, exclude_columns=["age"]), "are declared twice among `columns`, `pii` and `exclude_columns`"),
        (config_with(pii={"name": "name"}, exclude_columns=["name"]), "['name'] are declared twice"),
        (config_with(columns={"age": {"sdtype": "number"}}), "table 'adult': `columns.age.sdtype`"),
        ({**BASE, "schedule": {"timezone": "Mars/Olympus"}}, "unknown `timezone` 'Mars/Olympus'"),
        ({**BASE, "schedule": {"cron": "at two"}}, "`cron` 'at two' is not a valid cron expression"),
        ({**BASE, "schedule": {"change_check_seconds": 5}}, "`change_check_seconds` 5 is too short"),
        ({**BASE, "tables": []}, "nothing to synthesize: declare at least one entry under `tables`, `groups`, `generated` or `simulations`"),
        ({"tables": [{"name": "adult"}]}, "source: kind 'duckdb' needs `database`"),
        ({**BASE, "sourse": {}}, "`sourse` is not a known setting. Did you mean 'source'?"),
        ({**BASE, "mlflow": {"tracking_url": "x"}}, "unknown setting 'tracking_url'. Did you mean 'tracking_uri'?"),
    ],
)
def test_bad_configuration_is_named_with_its_fix(raw, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(raw)


def test_every_problem_is_reported_at_once():
    # Setup
    raw = {**BASE, "tables": [{"name": "a", "holdout_fraction": 0}, {"name": "b", "quality_threshold": -1}]}

    # Run
    with pytest.raises(ConfigError) as raised:
        load_config(raw)

    # Assert
    assert raised.value.problems == [
        "table 'a': `holdout_fraction` must be between 0 and 1 (exclusive); got 0.0. 0.2 holds out a fifth of the rows for evaluation.",
        "table 'b': `quality_threshold` must be between 0 and 1; got -1.0.",
    ]


def test_defaults():
    config = load_config(BASE)
    table = config.tables[0]
    assert (table.backend, table.holdout_fraction, table.seed, table.num_rows) == ("gaussian_copula", 0.2, None, None)
    assert (config.schedule.cron, config.schedule.timezone) == ("0 2 * * *", "UTC")
    assert table.registered_model_name == "synthpipe-adult"
    assert table.source_name == "adult"


def test_accepts_model_mapping_and_yaml_alike(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("source: {database: sources/adult.duckdb}\ntables:\n  - name: adult\n")
    from_yaml = load_config(path)
    assert from_yaml == load_config(BASE) == load_config(SynthpipeConfig.model_validate(BASE))


def test_environment_values_become_dagster_env_vars(tmp_path):
    # Setup
    raw = {
        "data_dir": str(tmp_path),
        "source": {"database": {"env": "SOURCE_DB"}},
        "mlflow": {"tracking_uri": {"env": "MLFLOW_TRACKING_URI"}, "experiment": {"env": "MLFLOW_EXPERIMENT"}},
        "tables": [{"name": "adult"}],
    }

    # Run
    resources = build_resources(load_config(raw))

    # Assert: the resource holds a reference, never the value
    assert resources["synthpipe_source"].database == dg.EnvVar("SOURCE_DB")
    assert resources["synthpipe_mlflow"].tracking_uri == dg.EnvVar("MLFLOW_TRACKING_URI")
    assert resources["synthpipe_mlflow"].experiment == dg.EnvVar("MLFLOW_EXPERIMENT")


def test_local_defaults_live_in_the_data_folder(tmp_path):
    resources = build_resources(load_config({**BASE, "data_dir": str(tmp_path)}))
    assert resources["synthpipe_source"].database == str(tmp_path / "sources" / "adult.duckdb")
    assert resources["synthpipe_mlflow"].tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert resources["synthpipe_snapshots"].root == str(tmp_path / "snapshots")


# Every TableConfig field with a non-default value and where its effect shows. A new field
# without a row here fails `test_table_field_cases_cover_every_field`.
def _asset(table: TableConfig, stage: str) -> dg.AssetsDefinition:
    return next(a for a in build_table_assets(table) if a.key.path[1] == stage)


TABLE_FIELD_CASES: dict[str, tuple[Any, Any]] = {
    "name": ("census", lambda t: _asset(t, "published").key == dg.AssetKey(["census", "published"])),
    "source_table": ("raw.adult", lambda t: t.source_name == "raw.adult" and "`raw.adult`" in _asset(t, "source").descriptions_by_key[dg.AssetKey(["adult", "source"])]),
    "query": ("SELECT * FROM adult WHERE age > 30", lambda t: t.query.endswith("age > 30")),
    "row_limit": (5000, lambda t: t.row_limit == 5000),
    "fit_rows": (100, lambda t: len(split_source(pa.table({"a": range(1000)}), t.holdout_fraction, t.split_seed, t.fit_rows, t.evaluation_rows).fit) == 100),
    "synthesizer": ("ctgan", lambda t: "ctgan synthesizer" in next(iter(_asset(t, "synthesizer").descriptions_by_key.values()))),
    "auto_candidates": (["gaussian_copula", "tvae", "ctgan"], lambda t: t.auto_candidates == ["gaussian_copula", "tvae", "ctgan"]),
    "auto_budget_seconds": (60.0, lambda t: t.auto_budget_seconds == 60.0),
    "candidate_params": ({"tvae": {"epochs": 2}}, lambda t: t.candidate_params == {"tvae": {"epochs": 2}}),
    "sequence": (
        {"entity_key": "tailnum", "order_by": "time_hour"},
        lambda t: t.backend == "par" and any(s.name == "sequences" for s in _asset(t, "synthetic").check_specs),
    ),
    "num_sequences": (7, lambda t: t.num_sequences == 7),
    "synthesizer_params": ({"epochs": 5}, lambda t: t.synthesizer_params == {"epochs": 5}),
    # with `synthesizer: argn` (see the test): a tenth of ε for value ranges; the value-leak gate still blocks; a budget change refits
    "privacy": (
        {"epsilon": 2.0},
        lambda t: t.privacy.value_budget == 0.2
        and {s.name: s.blocking for s in _asset(t, "synthetic").check_specs}["value_leaks"] is True
        and t.fit_fingerprint != TableConfig(name="adult", synthesizer="argn").fit_fingerprint
        and t.fit_fingerprint != TableConfig(name="adult", synthesizer="argn", privacy={"epsilon": 3.0}).fit_fingerprint,
    ),
    "columns": ({"age": {"sdtype": "categorical"}}, lambda t: t.columns["age"].sdtype == "categorical"),
    "exclude_columns": (["fnlwgt"], lambda t: t.exclude_columns == ["fnlwgt"]),
    "pii": ({"name": "company"}, lambda t: t.pii == {"name": "company"}),
    "num_rows": (500, lambda t: t.num_rows == 500),
    "conditions": ([{"values": {"sex": "Female"}, "rows": 50}], lambda t: t.conditions[0].describe() == "50 rows with sex = 'Female'"),
    "rebalance": (
        {"column": "income", "shares": {">50K": 0.5}},
        lambda t: any(s.name == "rebalance" and "at most 0.02" in s.description for s in _asset(t, "synthetic").check_specs)
        and any(s.name == "class_fidelity" and "at least -0.05" in s.description and s.blocking for s in _asset(t, "synthetic").check_specs)
        and t.fit_fingerprint == TableConfig(name="adult").fit_fingerprint,
    ),
    "fairness": (
        {"target": "income", "sensitive": "sex", "max_parity_gap": 0.03},
        lambda t: any(s.name == "fairness" and "at most 0.03" in s.description and s.blocking for s in _asset(t, "synthetic").check_specs),
    ),
    "synthesize_columns": (
        ["income"],
        lambda t: type(kind_for(t)).__name__ == "PartialTable" and "exact_copies" in {s.name for s in _asset(t, "synthetic").check_specs},
    ),
    "impute": (["age"], lambda t: t.kept_real and "exact_copies" not in {s.name for s in _asset(t, "synthetic").check_specs}),
    "holdout_fraction": (0.3, lambda t: t.holdout_fraction == 0.3),
    "split_seed": (3, lambda t: t.split_seed == 3),
    "seed": (11, lambda t: t.seed == 11),
    "quality_threshold": (0.9, lambda t: any("at least 0.9" in (s.description or "") for s in _asset(t, "synthetic").check_specs)),
    "target": ("income", lambda t: any(s.name == "utility" for s in _asset(t, "synthetic").check_specs)),
    "train_on": (
        ["real", "real+synthetic"],
        lambda t: t.train_on == ["real", "real+synthetic"] and t.fit_fingerprint == TableConfig(name="adult", target="income").fit_fingerprint,
    ),
    "min_utility_ratio": (0.9, lambda t: any(s.name == "utility" and "at least 0.9" in s.description for s in _asset(t, "synthetic").check_specs)),
    "max_exact_copy_share": (0.0, lambda t: any(s.name == "exact_copies" and "at most 0.0" in s.description for s in _asset(t, "synthetic").check_specs)),
    "max_dcr_closer_share": (0.55, lambda t: any(s.name == "dcr" and "at most 0.55" in s.description for s in _asset(t, "synthetic").check_specs)),
    "max_value_leak_share": (0.01, lambda t: any(s.name == "value_leaks" and "at most 0.01" in s.description for s in _asset(t, "synthetic").check_specs)),
    "attack_rows": (500, lambda t: t.attack_rows == 500 and t.fit_fingerprint == load_config(config_with()).tables[0].fit_fingerprint),
    "max_singling_out_risk": (0.05, lambda t: any(s.name == "singling_out" and "at most 0.05" in s.description for s in _asset(t, "synthetic").check_specs)),
    "max_linkability_risk": (0.05, lambda t: any(s.name == "linkability" and "at most 0.05" in s.description for s in _asset(t, "synthetic").check_specs)),
    "max_inference_risk": (0.1, lambda t: any(s.name == "inference" and "at most 0.1" in s.description for s in _asset(t, "synthetic").check_specs)),
    "rare_value_min_count": (10, lambda t: t.rare_value_min_count == 10 and t.fit_fingerprint != load_config(config_with()).tables[0].fit_fingerprint),
    "gate_severity": ({"dcr": "warn"}, lambda t: {s.name: s.blocking for s in _asset(t, "synthetic").check_specs}["dcr"] is False),
    "sample_chunk_rows": (1000, lambda t: t.sample_chunk_rows == 1000),
    "model_name": ("twins-adult", lambda t: t.registered_model_name == "twins-adult" and "`twins-adult`" in next(iter(_asset(t, "synthesizer").descriptions_by_key.values()))),
    "refresh": ("on_change", lambda t: t.refresh == "on_change" and t.config_fingerprint == TableConfig(name="adult").config_fingerprint),
    "sample_workers": (3, lambda t: t.workers == 3),
    "evaluation_rows": (5000, lambda t: t.evaluation_rows == 5000),
    # expectations/adult.yaml, the demo's contract
    "expectation_suites": (
        ["adult.yaml"],
        lambda t: [s.name for s in _asset(t, "source").check_specs] == ["guard_adult_contract"]
        and "suite_adult_contract" in {s.name for s in _asset(t, "synthetic").check_specs}
        and t.config_fingerprint != TableConfig(name="adult").config_fingerprint,
    ),
}


def test_table_field_cases_cover_every_field():
    assert set(TABLE_FIELD_CASES) == set(TableConfig.model_fields)


@pytest.mark.parametrize("field", sorted(TABLE_FIELD_CASES))
def test_table_field_takes_effect(field):
    value, effect = TABLE_FIELD_CASES[field]
    raw = config_with(**{field: value})
    if field in ("min_utility_ratio", "train_on"):
        raw = config_with(**{field: value}, target="income")
    if field == "num_sequences":
        raw = config_with(num_sequences=value, sequence={"entity_key": "tailnum", "order_by": "time_hour"})
    if field == "privacy":
        raw = config_with(privacy=value, synthesizer="argn")
    if field == "name":
        raw = {**BASE, "tables": [{"name": value}]}
    table = load_config(raw).tables[0]
    assert effect(table)


def test_definitions_hold_one_set_of_assets_per_table():
    raw = {**BASE, "tables": [{"name": "adult"}, {"name": "adult_copy", "source_table": "adult"}]}
    definitions = build_synthpipe_defs(raw)
    keys = {k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {f"{t}/{stage}" for stage in ("source", "synthesizer", "synthetic", "published") for t in ("adult", "adult_copy")}


@pytest.mark.parametrize(
    ("source", "attribute", "expected"),
    [
        ({"kind": "parquet", "path": "s3://lake/exports"}, "path", "s3://lake/exports"),
        ({"kind": "csv", "path": "exports"}, "path", "{data_dir}/exports"),
        ({"kind": "sql", "url": "sqlite:////srv/crm.db", "db_schema": "main"}, "url", "sqlite:////srv/crm.db"),
        ({"kind": "duckdb", "database": "/srv/demo.duckdb"}, "database", "/srv/demo.duckdb"),
    ],
)
def test_each_source_kind_becomes_its_resource(tmp_path, source, attribute, expected):
    resource = build_resources(load_config({**BASE, "source": source, "data_dir": str(tmp_path)}))["synthpipe_source"]
    assert getattr(resource, attribute) == expected.format(data_dir=tmp_path)
    assert type(resource).__name__ == {"parquet": "FileSource", "csv": "FileSource", "sql": "SqlSource", "duckdb": "DuckDBSource"}[source["kind"]]


@pytest.mark.parametrize(
    ("change", "refits"),
    [
        ({"quality_threshold": 0.9}, False),
        ({"num_rows": 10}, False),
        ({"seed": 3}, False),
        ({"gate_severity": {"dcr": "warn"}}, False),
        ({"fit_rows": 500}, True),
        ({"holdout_fraction": 0.3}, True),
        ({"synthesizer_params": {"default_distribution": "norm"}}, True),
        ({"exclude_columns": ["fnlwgt"]}, True),
    ],
)
def test_fit_fingerprint_moves_with_fit_settings_only(change, refits):
    # Setup
    base = TableConfig(name="adult")

    # Run
    changed = TableConfig(name="adult", **change)

    # Assert: every change moves the configuration fingerprint; only fit settings move the fit's
    assert changed.config_fingerprint != base.config_fingerprint
    assert (changed.fit_fingerprint != base.fit_fingerprint) is refits


def test_auto_counts_the_gates_as_fit_settings():
    # Setup / Run
    before = TableConfig(name="adult", synthesizer="auto")
    after = TableConfig(name="adult", synthesizer="auto", quality_threshold=0.9)

    # Assert: the gates pick auto's winner, so a gate change refits
    assert before.fit_fingerprint != after.fit_fingerprint


def test_the_derived_suite_check_blocks_unless_its_severity_is_warn():
    # Setup
    warned = load_config(config_with(gate_severity={"expectations": "warn"})).tables[0]
    default = load_config(config_with()).tables[0]

    # Run
    blocking = [{s.name: s.blocking for s in _asset(t, "synthetic").check_specs}["expectations"] for t in (warned, default)]

    # Assert
    assert blocking == [False, True]
