"""Optional extras: whether one is installed, looked up without importing it, and how to install it.

This module sits in the bottom layer with the configuration models, whose defaults depend on
what is installed (`auto` tries TabularARGN only when its engine is there); it imports nothing.
`synthpipe.resources.argn` and the backend registry (`synthpipe.resources.backends`) read the
same names.
"""

from __future__ import annotations

import importlib.util

__all__ = ["ARGN_ENGINE_VERSION", "ARGN_INSTALL_HINT", "argn_engine_available"]

ARGN_ENGINE_VERSION = "2.7.3"
ARGN_INSTALL_HINT = (
    'install the extra: `pip install "torch==2.13.0"`, then `pip install "synthpipe[argn]"`, then '
    f'`pip install --no-deps "mostlyai-engine=={ARGN_ENGINE_VERSION}"` (`make install` does all three)'
)


def argn_engine_available() -> bool:
    """True when `mostlyai-engine` (TabularARGN) is installed, found without importing it."""
    try:
        return importlib.util.find_spec("mostlyai.engine") is not None
    except ModuleNotFoundError:  # no `mostlyai` namespace at all
        return False
