"""The configuration reference, docs/configuration.md, is what the models generate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synthpipe.config import SynthpipeConfig
from synthpipe.settings_reference import COMMAND, DEFAULT_OUTPUT, main, render, sections

pytestmark = pytest.mark.unit


def test_the_committed_reference_is_current():
    assert DEFAULT_OUTPUT.read_text() == render(), f"docs/configuration.md is stale: run `{COMMAND}` (or `make docs`) and commit it."


def test_every_setting_of_every_model_is_documented_with_a_description():
    # Setup
    text = render()

    # Assert: a section per model, a row per field, and no field without its own description
    for model, paths in sections(SynthpipeConfig):
        assert f"## {model.__name__}\n" in text and paths
        for name, info in model.model_fields.items():
            assert info.description and len(info.description) > 15, f"{model.__name__}.{name} has no real description"
            assert f"| `{name}` |" in text
    assert len(sections(SynthpipeConfig)) == 29  # the top level and 28 nested models: links, conditions, rebalance, fairness, privacy, generated sets, simulations, execution included


def test_check_fails_on_a_stale_file_and_names_the_command(tmp_path, capsys):
    # Setup
    stale = tmp_path / "configuration.md"
    stale.write_text(render().replace("Sampling seed.", "Seed."))

    # Run
    code = main(["--check", "--output", str(stale)])

    # Assert
    assert code == 1
    assert f"Run `{COMMAND}` (or `make docs`)" in capsys.readouterr().err
    assert main(["--output", str(stale)]) == 0 and main(["--check", "--output", str(stale)]) == 0


def test_the_module_runs_as_a_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "synthpipe.settings_reference", "--check", "--output", str(tmp_path / "missing.md")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 1 and "does not exist" in done.stderr and COMMAND in done.stderr
