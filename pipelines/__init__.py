"""synthpipe's code location: configuration, the YAML component, the definitions builder, the demo.

Heavy modules load on first use, so importing `synthpipe.errors` stays cheap.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["SynthpipeComponent", "SynthpipeConfig", "build_synthpipe_defs", "load_config"]

if TYPE_CHECKING:
    from synthpipe.component import SynthpipeComponent
    from synthpipe.config import SynthpipeConfig
    from synthpipe.factory import build_synthpipe_defs
    from synthpipe.validation import load_config

_LAZY = {
    "SynthpipeComponent": "synthpipe.component",
    "SynthpipeConfig": "synthpipe.config",
    "load_config": "synthpipe.validation",
    "build_synthpipe_defs": "synthpipe.factory",
}


def __dir__() -> list[str]:
    # Dagster's component registry lists a module's components through dir()
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthpipe' has no attribute {name!r}")
