"""Asset specs from the translator, and a custom translator changing them."""

from __future__ import annotations

import dagster as dg
import pytest

from synthpipe.assets.specs import build_assets as build_table_assets
from synthpipe.assets.translator import StageData, SynthpipeTranslator
from synthpipe.config import TableConfig
from synthpipe.factory import build_synthpipe_defs

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("stage", "key", "kinds"),
    [
        ("source", ["adult", "source"], {"duckdb"}),
        ("synthesizer", ["adult", "synthesizer"], {"sdv", "mlflow"}),
        ("synthetic", ["adult", "synthetic"], {"pandas", "great_expectations"}),
        ("published", ["adult", "published"], {"deltalake"}),
    ],
)
def test_default_specs(stage, key, kinds):
    spec = SynthpipeTranslator().get_asset_spec(StageData(TableConfig(name="adult"), stage))
    assert spec.key == dg.AssetKey(key)
    assert spec.kinds == kinds
    assert spec.group_name == "synthpipe_adult"
    assert spec.tags["synthpipe/stage"] == stage


def test_custom_translator_rekeys_and_the_graph_follows():
    class Prefixed(SynthpipeTranslator):
        def get_asset_spec(self, data: StageData) -> dg.AssetSpec:
            spec = super().get_asset_spec(data)
            return spec.replace_attributes(key=spec.key.with_prefix("twins"), owners=["team:data-platform"])

    assets = build_table_assets(TableConfig(name="adult"), translator=Prefixed())
    published = assets[-1]
    assert published.key == dg.AssetKey(["twins", "adult", "published"])
    assert dg.AssetKey(["twins", "adult", "synthetic"]) in published.dependency_keys
    assert published.specs_by_key[published.key].owners == ["team:data-platform"]


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ({"kind": "duckdb", "database": "sources/adult.duckdb"}, "duckdb"),
        ({"kind": "parquet", "path": "exports"}, "parquet"),
        ({"kind": "csv", "path": "exports"}, "csv"),
        ({"kind": "sql", "url": "postgresql+psycopg2://u@db/warehouse"}, "postgres"),
        ({"kind": "sql", "url": "mysql+pymysql://u@db/crm"}, "mysql"),
        ({"kind": "sql", "url": "sqlite:////srv/crm.db"}, "sqlite"),
        ({"kind": "sql", "url": {"env": "WAREHOUSE_URL"}}, "sql"),
    ],
)
def test_the_source_asset_shows_the_source_s_own_kind(source, kind):
    # Run
    definitions = build_synthpipe_defs({"source": source, "tables": [{"name": "adult"}]})

    # Assert: the source stage carries the source's kind; the other stages keep theirs
    specs = {spec.key: spec for spec in definitions.resolve_all_asset_specs()}
    assert specs[dg.AssetKey(["adult", "source"])].kinds == {kind}
    assert specs[dg.AssetKey(["adult", "published"])].kinds == {"deltalake"}


class _Governed(SynthpipeTranslator):
    """Sets what a platform team sets on every asset: how it is kept fresh, its code version,
    owners, an extra upstream dependency and metadata."""

    def get_asset_spec(self, data: StageData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        extra = [dg.AssetKey("warehouse_load")] if data.stage == "source" else []
        return spec.replace_attributes(
            automation_condition=dg.AutomationCondition.on_cron("0 3 * * *"),
            code_version=f"{data.stage}-v2",
            owners=["team:data-platform"],
            metadata={**spec.metadata, "cost_center": "ml"},
        ).merge_attributes(deps=extra)


@pytest.mark.parametrize("config", [
    {"source": {"database": "a.duckdb"}, "tables": [{"name": "adult", "target": "income"}]},
    {"source": {"database": "a.duckdb"}, "tables": [{"name": "planes", "sequence": {"entity_key": "tailnum", "order_by": "time_hour"}}]},
    {"source": {"database": "a.duckdb"}, "groups": [{"name": "nycflights", "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
                                                     "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]}]},
])
def test_the_translator_s_specs_pass_through_whole(config):
    # Setup: the specs on their own, then the definitions built from the same translator
    from synthpipe.assets.specs import get_synthpipe_asset_specs
    from synthpipe.validation import load_config

    specs = {spec.key: spec for spec in get_synthpipe_asset_specs(load_config(config), _Governed())}

    # Run
    built = {spec.key: spec for spec in build_synthpipe_defs(config, translator=_Governed()).resolve_all_asset_specs()}

    # Assert: every stage of every kind keeps each attribute, the data flow and the extra dependency
    assert set(built) - {dg.AssetKey("warehouse_load")} == set(specs) and len(specs) >= 4
    for key, spec in specs.items():
        made = built[key]
        assert made.automation_condition is not None and made.code_version == spec.code_version
        assert made.owners == ["team:data-platform"] and made.metadata["cost_center"] == "ml"
        assert {d.asset_key for d in made.deps} == {d.asset_key for d in spec.deps}
    source = next(key for key in built if key.path[-1] == "source")
    assert dg.AssetKey("warehouse_load") in {d.asset_key for d in built[source].deps}


def test_the_former_stage_first_keys_are_one_translator_away():
    # Setup: the translator docs/monitoring.md gives deployments that depend on `<stage>/<table>`
    class StageFirst(SynthpipeTranslator):
        def get_asset_spec(self, data):
            spec = super().get_asset_spec(data)
            table, stage, *member = spec.key.path
            return spec.replace_attributes(key=dg.AssetKey([stage, table, *member]))

    # Run
    definitions = build_synthpipe_defs(
        {"source": {"database": "a.duckdb"}, "tables": [{"name": "adult"}],
         "groups": [{"name": "nyc", "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
                     "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]}]},
        translator=StageFirst(),
    )

    # Assert: the old keys, wired to each other
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"source/adult", "synthetic/adult", "published/adult", "published/nyc/planes"} <= keys and not any(k.startswith("adult/") for k in keys)
    assert graph.get(dg.AssetKey(["published", "adult"])).parent_keys == {dg.AssetKey(["synthetic", "adult"])}
