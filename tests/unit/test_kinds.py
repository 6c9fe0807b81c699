"""Kinds of table: each configured unit gets its kind, and a new kind plugs in by registration."""

import dataclasses

import pytest

from synthpipe.assets import kinds
from synthpipe.assets.kinds import Kind, kind_for, register_kind, units
from synthpipe.assets.kinds.group import GroupTables
from synthpipe.assets.kinds.sequence import SequenceTable
from synthpipe.assets.kinds.single import SingleTable
from synthpipe.config import TableConfig
from synthpipe.validation import load_config

pytestmark = pytest.mark.unit

CONFIG = {
    "source": {"database": "sources/demo.duckdb"},
    "tables": [{"name": "adult"}, {"name": "plane_flights", "sequence": {"entity_key": "tailnum", "order_by": "time_hour"}}],
    "groups": [{"name": "nycflights", "tables": [{"name": "planes", "primary_key": "tailnum"}, {"name": "flights"}],
                "foreign_keys": [{"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"}]}],
}


def test_each_unit_gets_its_kind_and_every_kind_meets_the_interface():
    # Run
    found = units(load_config(CONFIG))

    # Assert
    assert [type(kind) for kind in found] == [SingleTable, SequenceTable, GroupTables]
    assert all(isinstance(kind, Kind) for kind in found)
    assert [kind.members for kind in found] == [[None], [None], ["planes", "flights"]]


def test_a_registered_kind_claims_its_tables_and_leaves_the_others(monkeypatch):
    # Setup: a kind of its own for one table, registered as a new module would register it
    @dataclasses.dataclass(frozen=True)
    class Frozen(SingleTable):
        """A table republished from a fixed model (an example kind)."""

    monkeypatch.setattr(kinds, "_KINDS", list(kinds._KINDS))
    kind_for(TableConfig(name="warm-up"))  # the built-in kinds register first
    register_kind(lambda config: isinstance(config, TableConfig) and config.name == "frozen", Frozen)

    # Run
    claimed, other = kind_for(TableConfig(name="frozen")), kind_for(TableConfig(name="adult"))

    # Assert
    assert type(claimed) is Frozen and type(other) is SingleTable
