"""The errors synthpipe raises.

Every message names the table, column or setting, quotes the bad value and says what to do
instead, so an operator can fix a failed nightly run from the run log alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "ConfigError",
    "EmptyTableError",
    "SourceError",
    "SourceInputError",
    "SnapshotNotFoundError",
    "SourceTableNotFoundError",
    "SynthpipeError",
    "SynthesizerError",
    "TrackingError",
    "UnsupportedColumnError",
    "closest",
]


class SynthpipeError(Exception):
    """Base class of every error synthpipe raises on purpose."""


class ConfigError(SynthpipeError):
    """The configuration has one or more problems; all of them are listed at once."""

    def __init__(self, problems: Sequence[str], heading: str = "Invalid synthpipe configuration"):
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"{heading} ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class SourceError(SynthpipeError):
    """The source could not be read."""


class SourceInputError(SourceError):
    """The source's rows cannot be synthesized as they are (too few rows, infinite numbers,
    undeclared free text); every problem of the table is listed at once."""


class SourceTableNotFoundError(SourceError):
    """The configured source table does not exist."""


class EmptyTableError(SourceError):
    """The source table has no rows, so there is nothing to learn from."""


class UnsupportedColumnError(SynthpipeError):
    """A source column has a type no synthesizer can model."""


class SynthesizerError(SynthpipeError):
    """The synthesizer name or its parameters are wrong, or fitting failed."""


class SnapshotNotFoundError(SynthpipeError):
    """A table was never published, or the version asked for does not exist (any more)."""


class TrackingError(SynthpipeError):
    """The MLflow tracking or registry store could not be used."""


def closest(value: str, choices: Iterable[str]) -> str:
    """A 'did you mean' hint for a misspelt name, or an empty string when nothing is close."""
    choices = list(choices)
    matches = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    # A shortened name (`min` for `min_value`) is as good a hint as a misspelt one.
    matches += [c for c in choices if value and c.startswith(value) and c not in matches][: 3 - len(matches)]
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"
