"""Relational group configuration: HMA's limits and key problems found before any fitting."""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
import pytest

from synthpipe.assets.specs import build_assets as build_group_assets
from synthpipe.config import GroupConfig
from synthpipe.validation import load_config
from synthpipe.errors import ConfigError

pytestmark = pytest.mark.unit

SOURCE = {"database": "sources/nyc.duckdb"}
FK = {"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}


def group(**changes: Any) -> dict[str, Any]:
    base = {"name": "nyc", "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}], "foreign_keys": [FK]}
    return {"source": SOURCE, "groups": [{**base, **changes}]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (group(tables=[{"name": f"t{i}"} for i in range(6)], foreign_keys=[]), "has 6 tables; HMA models at most 5. Options: set `synthesizer: argn` (TabularARGN takes any number of tables and levels), split the group"),
        (
            group(
                tables=[{"name": "a"}, {"name": "b"}, {"name": "c"}],
                foreign_keys=[
                    {"parent": "a", "parent_key": "id", "child": "b", "child_key": "a_id"},
                    {"parent": "b", "parent_key": "id", "child": "c", "child_key": "b_id"},
                ],
            ),
            "relationships are 2 levels deep (a parent's child has children); HMA handles one level. Options: set `synthesizer: argn`",
        ),
        (
            group(foreign_keys=[{"parent": "weather", "parent_key": ["origin", "time_hour"], "child": "flights", "child_key": ["origin", "time_hour"]}]),
            "is composite; SDV's relational synthesizers need single-column keys. Add a surrogate key column",
        ),
        (group(foreign_keys=[{**FK, "parent": "plane"}]), "names table 'plane', which is not in the group. Did you mean 'planes'?"),
        (group(tables=[{"name": "planes", "primary_key": ["tailnum", "year"]}, {"name": "flights"}]), "has a composite primary key"),
        (
            group(foreign_keys=[FK, {"parent": "flights", "parent_key": "id", "child": "planes", "child_key": "last_flight"}]),
            "form a cycle",
        ),
        (group(scale=0), "`scale` must be above 0; got 0.0"),
        (
            group(synthesizer="argn", tables=[{"name": "employees", "primary_key": "employee_id"}, {"name": "customers"}],
                  foreign_keys=[{"parent": "employees", "parent_key": "employee_id", "child": "employees", "child_key": "reports_to"}]),
            "foreign key employees.reports_to -> employees.employee_id points at its own table; TabularARGN (related tables) models no "
            "self-references. Options: leave it out of `foreign_keys` and add 'reports_to' to the table's `exclude_columns`",
        ),
        (
            group(synthesizer="argn", tables=[{"name": "planes"}, {"name": "airlines"}, {"name": "flights"}],
                  foreign_keys=[{**FK, "context": True}, {"parent": "airlines", "parent_key": "carrier", "child": "flights", "child_key": "carrier", "context": True}]),
            "table 'flights' has 2 context keys (flights.tailnum -> planes.tailnum; flights.carrier -> airlines.carrier); TabularARGN "
            "(related tables) generates a table against one parent. Keep `context: true` on one",
        ),
        (group(foreign_keys=[{**FK, "context": True}]), "`context` on foreign key flights.tailnum -> planes.tailnum is TabularARGN's"),
        (group(target={"table": "planes", "column": "year"}), "`target.table` 'planes' must be a child table"),
        (group(holdout_fraction=1.5), "group 'nyc': `holdout_fraction` must be between 0 and 1"),
        (group(orphans="ignore"), "group 'nyc': `orphans`: Input should be 'error', 'drop' or 'null'"),
        (group(tables=[{"name": "planes"}, {"name": "planes"}]), "table 'planes' is declared twice"),
        ({"source": SOURCE, "tables": [{"name": "nyc"}], "groups": group()["groups"]}, "table 'nyc' is declared twice"),
    ],
)
def test_group_problems_are_found_before_fitting(raw, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(raw)


@pytest.mark.parametrize(
    "raw",
    [
        group(synthesizer="argn", tables=[{"name": f"t{i}"} for i in range(7)],
              foreign_keys=[{"parent": f"t{i}", "parent_key": "id", "child": f"t{i + 1}", "child_key": f"t{i}_id"} for i in range(6)]),
    ],
)
def test_argn_takes_more_tables_and_levels_than_hma(raw):
    # Run: 7 tables, 6 levels deep, refused for HMA
    config = load_config(raw)

    # Assert
    assert config.groups[0].backend == "argn_group"
    with pytest.raises(ConfigError, match=re.escape("has 7 tables; HMA models at most 5")):
        load_config({**raw, "groups": [{**raw["groups"][0], "synthesizer": "hma"}]})


def _assets(g: GroupConfig) -> list[dg.AssetsDefinition]:
    return build_group_assets(g)


GROUP_FIELD_CASES: dict[str, tuple[Any, Any]] = {
    "name": ("flights13", lambda g: dg.AssetKey(["flights13", "published", "planes"]) in _assets(g)[-1].keys),
    "tables": ([{"name": "planes"}, {"name": "flights"}, {"name": "airlines"}], lambda g: len(_assets(g)[-1].keys) == 3),
    "foreign_keys": ([FK], lambda g: g.foreign_keys[0].label() == "flights.tailnum -> planes.tailnum"),
    "orphans": ("drop", lambda g: g.orphans == "drop"),
    "synthesizer": ("hma", lambda g: "hma relational synthesizer" in next(iter(_assets(g)[1].descriptions_by_key.values()))),
    "synthesizer_params": ({"locales": ["en_GB"]}, lambda g: g.synthesizer_params == {"locales": ["en_GB"]}),
    "scale": (0.5, lambda g: g.scale == 0.5),
    "seed": (9, lambda g: g.seed == 9),
    "quality_threshold": (0.8, lambda g: any("at least 0.8" in (s.description or "") for s in _assets(g)[2].check_specs)),
    "holdout_fraction": (0.3, lambda g: g.holdout_fraction == 0.3),
    "split_seed": (2, lambda g: g.split_seed == 2),
    "target": ({"table": "flights", "column": "arr_delay"}, lambda g: any(s.name == "utility" for s in _assets(g)[2].check_specs)),
    "min_utility_ratio": (0.7, lambda g: g.min_utility_ratio == 0.7),
    "max_exact_copy_share": (0.0, lambda g: any(s.name == "exact_copies" and "at most 0.0" in s.description for s in _assets(g)[2].check_specs)),
    "max_dcr_closer_share": (0.55, lambda g: any(s.name == "dcr" and "at most 0.55" in s.description for s in _assets(g)[2].check_specs)),
    "max_value_leak_share": (0.01, lambda g: any(s.name == "value_leaks" and "at most 0.01" in s.description for s in _assets(g)[2].check_specs)),
    "rare_value_min_count": (10, lambda g: g.rare_value_min_count == 10),
    "gate_severity": ({"dcr": "warn"}, lambda g: {s.name: s.blocking for s in _assets(g)[2].check_specs}["dcr"] is False),
    "model_name": ("nyc-twin", lambda g: g.registered_model_name == "nyc-twin"),
}


def test_group_field_cases_cover_every_field():
    assert set(GROUP_FIELD_CASES) == set(GroupConfig.model_fields)


@pytest.mark.parametrize("field", sorted(GROUP_FIELD_CASES))
def test_group_field_takes_effect(field):
    value, effect = GROUP_FIELD_CASES[field]
    assert effect(load_config(group(**{field: value})).groups[0])


def test_group_checks_are_blocking_and_published_assets_are_per_table():
    source, _, synthetic, published = _assets(load_config(group()).groups[0])
    assert source.key == dg.AssetKey(["nyc", "source"])
    assert {s.name: s.blocking for s in synthetic.check_specs} == {
        "expectations": True, "referential_integrity": True, "quality": True, "exact_copies": True, "dcr": True, "value_leaks": True
    }
    assert set(published.keys) == {dg.AssetKey(["nyc", "published", "planes"]), dg.AssetKey(["nyc", "published", "flights"])}
