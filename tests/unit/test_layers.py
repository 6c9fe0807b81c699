"""The configuration layer imports nothing above it: loading the models loads only the bottom
layer (the import contracts in pyproject.toml check every layer on the installed package)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BOTTOM = {
    "synthpipe",
    "synthpipe.config",
    "synthpipe.config_base",
    "synthpipe.config_input",
    "synthpipe.shared_config",
    "synthpipe.steering_config",
    "synthpipe.table_config",
    "synthpipe.group_config",
    "synthpipe.generated_config",
    "synthpipe.execution_config",
    "synthpipe.contracts",
    "synthpipe.extras",
    "synthpipe.families",
    "synthpipe.errors",
    "synthpipe.metadata_keys",
}


def test_the_configuration_models_load_only_the_bottom_layer():
    # Setup: a fresh interpreter, so modules other tests imported do not count
    code = textwrap.dedent(
        """
        import sys
        import synthpipe.config, synthpipe.config_input
        synthpipe.config.TableConfig(name="adult", synthesizer="auto").fit_fingerprint
        print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] == "synthpipe")))
        """
    )

    # Run
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])

    # Assert
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(done.stdout.split()) - BOTTOM == set()
