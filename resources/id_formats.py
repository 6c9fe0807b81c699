"""ID columns keep their real shape: a regex learned from the values, and numbering within it.

`17-293535`-shaped IDs get `[0-9]{2}-[0-9]{6}`; `CUST-00042` keeps its constant `CUST-` prefix.
Synthetic IDs are numbered by global row within that shape (digits in base 10, letters in base
26, rightmost slot first), so no ID repeats across chunks sampled apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["learn_id_regex", "number_in_shape"]

# Share of the values that must have the most common length for a positional shape to be learned.
SHAPE_COVERAGE = 0.9
_CLASSES = {"digit": "[0-9]", "upper": "[A-Z]", "lower": "[a-z]", "alnum": "[A-Z0-9]"}
_TOKEN = re.compile(r"\[0-9\]\{(\d+)\}|\[A-Z\]\{(\d+)\}|\[a-z\]\{(\d+)\}|\[A-Z0-9\]\{(\d+)\}|\\(.)|([^\\\[])")


def _char_class(chars: set[str]) -> str | None:
    if len(chars) == 1 and not next(iter(chars)).isalnum():
        return None  # a constant separator: kept as a literal
    if all(c.isdigit() for c in chars):
        return "digit"
    if all(c.isupper() for c in chars):
        return "upper"
    if all(c.islower() for c in chars):
        return "lower"
    return "alnum"


def learn_id_regex(values: pd.Series) -> str | None:
    """The positional shape of string IDs as a regex, or None when the values have no common
    shape (lengths vary too much, or no values)."""
    texts = values.dropna().astype(str)
    if texts.empty:
        return None
    lengths = texts.str.len()
    length = int(lengths.mode().iloc[0])
    same = texts[lengths == length]
    if length == 0 or len(same) < SHAPE_COVERAGE * len(texts):
        return None
    columns = list(zip(*same.tolist()))
    parts: list[tuple[str, str]] = []  # (class or "literal", char)
    for chars in columns:
        distinct = set(chars)
        kind = _char_class(distinct)
        if kind is None or (len(distinct) == 1 and len(same) > 1 and kind != "digit"):
            parts.append(("literal", chars[0]))  # constant prefix letters (`CUST`) stay as they are
        else:
            parts.append((kind, ""))
    regex, index = "", 0
    while index < len(parts):
        kind, char = parts[index]
        if kind == "literal":
            regex += re.escape(char)
            index += 1
            continue
        run = 1
        while index + run < len(parts) and parts[index + run][0] == kind:
            run += 1
        regex += f"{_CLASSES[kind]}{{{run}}}"
        index += run
    return regex


def _slots(regex: str) -> list[tuple[str, int | str]] | None:
    """The regex as (class, width) and ("literal", char) tokens; None when it is not one of ours."""
    tokens: list[tuple[str, int | str]] = []
    position = 0
    while position < len(regex):
        match = _TOKEN.match(regex, position)
        if match is None:
            return None
        digit, upper, lower, alnum, escaped, literal = match.groups()
        if digit or upper or lower or alnum:
            kind = "digit" if digit else "upper" if upper else "lower" if lower else "alnum"
            tokens.append((kind, int(digit or upper or lower or alnum)))
        else:
            tokens.append(("literal", escaped or literal))
        position = match.end()
    return tokens


_ALPHABETS = {"digit": "0123456789", "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "lower": "abcdefghijklmnopqrstuvwxyz", "alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def number_in_shape(regex: str, numbers: Sequence[int] | np.ndarray) -> list[str] | None:
    """Each number written into the shape's slots (rightmost slot first); None when `regex` is
    not a learned shape. Numbers past the shape's capacity wrap around."""
    tokens = _slots(regex)
    if tokens is None or not any(kind != "literal" for kind, _ in tokens):
        return None
    positions: list[str] = []  # one alphabet name per variable character, left to right
    for kind, width in tokens:
        if kind != "literal":
            positions += [kind] * int(width)
    out = []
    for number in np.asarray(numbers, dtype=np.int64).tolist():
        chars = []
        for kind in reversed(positions):
            alphabet = _ALPHABETS[kind]
            number, rest = divmod(number, len(alphabet))
            chars.append(alphabet[rest])
        chars.reverse()
        fill = iter(chars)
        out.append("".join(next(fill) if kind != "literal" else str(width) * 1 for kind, width in _expand(tokens)))
    return out


def _expand(tokens: list[tuple[str, int | str]]) -> list[tuple[str, int | str]]:
    expanded: list[tuple[str, int | str]] = []
    for kind, width in tokens:
        expanded += [(kind, 1)] * int(width) if kind != "literal" else [(kind, width)]
    return expanded
