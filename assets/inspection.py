"""What the source step refuses before any model fits, and what it only reports.

Refused, every problem of a table at once (a `SourceInputError` under one heading):
- too few rows for a holdout and the privacy measures (`MIN_SOURCE_ROWS`, `MIN_HOLDOUT_ROWS`);
- numbers that are infinite (no synthesizer can learn ±inf; NaN is a missing value and is fine);
- free text: text columns where most values are rare (seen in fewer than
  `rare_value_min_count` rows: names, notes, addresses), which no backend can learn without
  copying; the table must say what to do with them (`pii`, `exclude_columns`, or `columns` with
  `sdtype: id` for an identifier).

Reported, never acted on: columns that look personal by name or by content (emails, phone
numbers, person names), with the exact `pii:` line that would generate them fresh instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthpipe.errors import SourceInputError
from synthpipe.resources.protection import rare_share
from synthpipe.resources.types import case_clashes

__all__ = [
    "FREE_TEXT_RARE_SHARE",
    "MIN_HOLDOUT_ROWS",
    "MIN_SOURCE_ROWS",
    "PersonalHint",
    "check_source_rows",
    "free_text_columns",
    "hint_table",
    "infinite_columns",
    "looks_personal",
    "name_clashes",
    "pii_line",
    "refuse",
]

# The holdout must be large enough for the DCR share and the utility score to mean something.
MIN_SOURCE_ROWS = 50
MIN_HOLDOUT_ROWS = 10
# A text column where more than this share of rows hold a rare value is free text.
FREE_TEXT_RARE_SHARE = 0.5
# A content pattern must match at least this share of a column's values to report it.
CONTENT_SHARE = 0.5

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ().\-/]{7,20}$")
# (pattern on the normalised column name, Faker provider for the `pii:` line)
_PERSONAL_NAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"e_?mail"), "email"),
    (re.compile(r"phone|mobile|\bfax\b|\btel\b"), "phone_number"),
    (re.compile(r"first_?name|given_?name|forename"), "first_name"),
    (re.compile(r"last_?name|surname|family_?name"), "last_name"),
    (re.compile(r"(^|_)(full_?)?name$|customer|patient|client|person"), "name"),
    (re.compile(r"ssn|social_?security|national_?id|passport"), "ssn"),
    (re.compile(r"street|address"), "street_address"),
    (re.compile(r"zip|post_?code|postal"), "postcode"),
    (re.compile(r"(^|_)city$|town"), "city"),
    (re.compile(r"(^|_)state$|province|county"), "administrative_unit"),
    (re.compile(r"birth|(^|_)dob$"), "date_of_birth"),
    (re.compile(r"iban|credit_?card|card_?number|account_?number"), "iban"),
    (re.compile(r"(^|_)ip(_?address)?$"), "ipv4"),
)


@dataclass(frozen=True)
class PersonalHint:
    """A column that looks personal: why, and the Faker provider a `pii:` line would use."""

    column: str
    reason: str
    kind: str


def pii_line(hints: Collection[PersonalHint]) -> str:
    """The `pii:` mapping that declares every hinted column, as YAML flow text."""
    return "pii: {" + ", ".join(f"{_yaml_key(h.column)}: {h.kind}" for h in hints) + "}"


def _yaml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else repr(name)


def refuse(table: str, problems: list[str]) -> None:
    """Raises every problem of one table's source at once, under one heading."""
    if problems:
        count = len(problems)
        heading = f"Table {table!r}: the source cannot be synthesized as it is ({count} problem{'s' if count != 1 else ''}); nothing was fitted or published:"
        raise SourceInputError("\n".join([heading, *(f"  - {p}" for p in problems)]))


def check_source_rows(table: str, rows: int, holdout_fraction: float) -> list[str]:
    """Too few rows for a holdout and the privacy measures."""
    holdout = int(round(rows * holdout_fraction))
    if rows < MIN_SOURCE_ROWS:
        return [
            f"it has {rows} row{'s' if rows != 1 else ''}; synthpipe needs at least {MIN_SOURCE_ROWS} (a holdout of at least "
            f"{MIN_HOLDOUT_ROWS} rows for the privacy and utility measures, and rows to learn from). Point `source_table` or "
            "`query` at the full table, or raise `row_limit`."
        ]
    if holdout < MIN_HOLDOUT_ROWS:
        needed = MIN_HOLDOUT_ROWS / rows
        return [
            f"`holdout_fraction` {holdout_fraction} of its {rows} rows holds out {holdout}; the privacy measures need at least "
            f"{MIN_HOLDOUT_ROWS}. Set `holdout_fraction: {math.ceil(needed * 100) / 100}` or more."
        ]
    return []


def name_clashes(schema: pa.Schema) -> list[str]:
    """Column names that differ only in case: Delta Lake column names are case-insensitive."""
    return [
        f"columns {' and '.join(repr(name) for name in group)} differ only in case; Delta Lake column names are "
        "case-insensitive, so the twin cannot keep them apart. Rename one in the source (a view or `query` with `AS`), "
        f"or leave it out with `exclude_columns: [{group[-1]!r}]`."
        for group in case_clashes(schema.names)
    ]


def infinite_columns(arrow: pa.Table) -> list[str]:
    """Floating-point columns holding +inf or -inf, each with the count and the fix."""
    problems = []
    for field, column in zip(arrow.schema, arrow.columns):
        if not pa.types.is_floating(field.type):
            continue
        count = pc.sum(pc.is_inf(column)).as_py() or 0
        if count:
            problems.append(
                f"column {field.name!r} holds {count} infinite value{'s' if count != 1 else ''} (+inf/-inf), which no synthesizer "
                f"can learn. Turn them into NULL in a view or `query` (`CASE WHEN isinf({field.name}) THEN NULL ELSE "
                f"{field.name} END`), or leave the column out with `exclude_columns: [{field.name!r}]`."
            )
    return problems


def free_text_columns(
    table: str, data: pd.DataFrame, sdtypes: Mapping[str, str], min_count: int, declared: Collection[str]
) -> list[str]:
    """Text columns where most values are rare (`FREE_TEXT_RARE_SHARE`), with the fix."""
    found = []
    for column, sdtype in sdtypes.items():
        if column in declared or sdtype != "categorical" or column not in data.columns:
            continue
        values = data[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        share = rare_share(values, min_count)
        if share > FREE_TEXT_RARE_SHARE:
            found.append((column, share, int(values.nunique())))
    if not found:
        return []
    listed = ", ".join(f"{c!r} ({share:.0%} of its values seen in fewer than {min_count} rows; {n:,} distinct)" for c, share, n in found)
    names = [c for c, _, _ in found]
    hints = [PersonalHint(c, "free text", _provider_for(c) or "sentence") for c in names]
    return [
        f"columns {listed} look like free text: no synthesizer can learn them without copying real values. Say what to do "
        f"with each: generate them fresh with Faker (`{pii_line(hints)}`), leave them out (`exclude_columns: "
        f"[{', '.join(repr(c) for c in names)}]`), or, for an identifier, `columns: {{{_yaml_key(names[0])}: {{sdtype: id}}}}`. "
        "The rarity bar is `rare_value_min_count`."
    ]


def _provider_for(column: str) -> str | None:
    normalised = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")
    for pattern, kind in _PERSONAL_NAMES:
        if pattern.search(normalised):
            return kind
    return None


def _first_names() -> frozenset[str]:
    from faker.providers.person.en_US import Provider

    return frozenset(Provider.first_names)


def _content_kind(values: pd.Series) -> tuple[str, str] | None:
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return None
    present = values.dropna().astype(str)
    present = present.sample(min(len(present), 2_000), random_state=0) if len(present) else present
    if present.empty:
        return None
    if present.str.match(_EMAIL).mean() >= CONTENT_SHARE:
        return "values look like email addresses", "email"
    digits = present.str.count(r"[0-9]")
    if (present.str.match(_PHONE) & (digits >= 7)).mean() >= CONTENT_SHARE:
        return "values look like phone numbers", "phone_number"
    tokens = present.str.split()
    names = _first_names()
    is_name = tokens.map(lambda t: 2 <= len(t) <= 4 and t[0] in names and all(w[:1].isupper() for w in t))
    if is_name.mean() >= CONTENT_SHARE:
        return "values look like person names", "name"
    return None


def looks_personal(data: pd.DataFrame, declared: Collection[str], guessed_by_sdv: Collection[str] = ()) -> list[PersonalHint]:
    """Columns that look personal by content or name and are not declared in `pii`."""
    hints = []
    for column in data.columns:
        if column in declared:
            continue
        content = _content_kind(data[column])
        if content is not None:
            hints.append(PersonalHint(column, content[0], content[1]))
            continue
        kind = _provider_for(column)
        if kind is not None or column in guessed_by_sdv:
            hints.append(PersonalHint(column, "its name suggests personal data", kind or "name"))
    return hints


def hint_table(hints: Collection[PersonalHint]) -> str:
    """The hints as a Markdown table for the source asset's metadata."""
    rows = [f"| `{h.column}` | {h.reason} | `{h.kind}` |" for h in hints]
    return "\n".join(["| column | why | `pii` kind |", "|---|---|---|", *rows])

