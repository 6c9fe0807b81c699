"""Reading configuration input: a YAML file into a mapping, and pydantic's errors into problems
worded the way a user reads their YAML (`table 'adult': `seed``).

Used by `synthpipe.validation.load_config`; part of the bottom layer (it imports no synthpipe
module but `synthpipe.errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synthpipe.errors import ConfigError

__all__ = ["pydantic_problems", "read_yaml"]


def _location(loc: tuple[Any, ...], raw: Mapping[str, Any]) -> str:
    """Names a pydantic error location the way a user reads their YAML: table 'adult', field x."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] in ("tables", "groups") and isinstance(parts[1], int):
        entries = raw.get(parts[0]) or []
        index = parts[1]
        entry = entries[index] if index < len(entries) else None
        name = entry.get("name") if isinstance(entry, Mapping) else None
        kind = "table" if parts[0] == "tables" else "group"
        label = f"{kind} {name!r}" if name else f"{parts[0]}[{index}]"
        rest = ".".join(str(p) for p in parts[2:])
        return f"{label}: `{rest}`" if rest else label
    return "`" + ".".join(str(p) for p in parts) + "`"


def pydantic_problems(error: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    """pydantic's errors as problems that name the table or group and the setting, with the bad value."""
    problems = []
    for item in error.errors():
        where = _location(item["loc"], raw)
        if item["type"] == "missing":
            problems.append(f"{where} is required but missing.")
        elif item["type"] == "value_error":
            problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{where}: {item['msg']} (got {item.get('input')!r}).")
    return problems


def read_yaml(path: Path) -> Mapping[str, Any]:
    """The mapping a configuration file holds; a missing file, bad YAML or another shape is a `ConfigError`."""
    if not path.exists():
        raise ConfigError([f"configuration file {str(path)!r} does not exist; check the path."])
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {error}"]) from None
    if not isinstance(loaded, Mapping):
        raise ConfigError([f"{path}: expected a mapping with `source` and `tables`, got {type(loaded).__name__}."])
    return loaded
