"""The YAML component sets every setting the configuration model has."""

from __future__ import annotations

import pytest

from synthpipe.component import SynthpipeComponent
from synthpipe.config import SynthpipeConfig

pytestmark = pytest.mark.unit


def test_every_configuration_field_is_a_component_field():
    assert set(SynthpipeComponent.model_fields) == set(SynthpipeConfig.model_fields)


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
