"""synthpipe's code location: configuration, the YAML component, the definitions builder, the demo.

Heavy modules load on first use, so importing `pipelines.errors` stays cheap.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["SynthpipeComponent", "SynthpipeConfig", "build_synthpipe_defs", "load_config"]

if TYPE_CHECKING:
    from pipelines.component import SynthpipeComponent
    from pipelines.config import SynthpipeConfig, load_config
    from pipelines.factory import build_synthpipe_defs

_LAZY = {
    "SynthpipeComponent": "pipelines.component",
    "SynthpipeConfig": "pipelines.config",
    "load_config": "pipelines.config",
    "build_synthpipe_defs": "pipelines.factory",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
