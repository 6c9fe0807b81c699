"""What every configuration model shares: strict parsing with "did you mean" hints, values read
from the environment, stable setting hashes, and the data folder.

Part of the configuration layer (with `synthpipe.config`, `synthpipe.shared_config`,
`synthpipe.table_config` and `synthpipe.group_config`): it imports no synthpipe module but
`synthpipe.errors`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthpipe.errors import closest

__all__ = ["DATA_DIR_ENV", "NAME_PATTERN", "EnvValue", "Strict", "resolve_data_dir", "settings_hash"]

DATA_DIR_ENV = "SYNTHPIPE_HOME"
# Table and group names become asset keys.
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    """A frozen model that refuses unknown settings, naming the closest known one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="wrap")
    @classmethod
    def _known_settings(cls, data: Any, handler: Any) -> Any:
        """Rejects unknown keys with the closest valid name, and still reports the model's other
        problems in the same message, wherever the model is loaded from (our loader, or Dagster's
        YAML component loader, which adds the file and line).
        """
        if not isinstance(data, Mapping) or cls.model_config.get("extra") != "forbid":
            return handler(data)
        known = list(cls.model_fields)
        unknown = [str(key) for key in data if key not in known]
        if not unknown:
            return handler(data)
        message = " ".join(f"unknown setting {key!r}.{closest(key, known)}" for key in unknown)
        message += f" Known settings here: {', '.join(known)}."
        try:
            handler({key: value for key, value in data.items() if key in known})
        except ValidationError as error:
            others = "; ".join(f"`{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in error.errors())
            message += f" Also: {others}."
        raise ValueError(message)


class EnvValue(Strict):
    """A value read from an environment variable when the run starts (a Dagster `EnvVar`).

    Use it for connection strings and tracking URIs that carry credentials: the value never
    appears in the definitions, the UI, logs or MLflow.
    """

    env: str = Field(
        description="Name of the environment variable that holds the value; read when a run starts, never stored.",
        examples=["MLFLOW_TRACKING_URI"],
    )


def settings_hash(settings: Mapping[str, Any]) -> str:
    """A short, stable hash of a mapping of settings (key order does not matter)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def resolve_data_dir(data_dir: str | None) -> Path:
    """The data folder: the configured one, else $SYNTHPIPE_HOME, else `./.synthpipe`."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or ".synthpipe"
    return Path(chosen).expanduser().resolve()
