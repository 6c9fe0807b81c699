"""User suites: the data contracts a team keeps in YAML under `expectations/`.

A suite file holds Great Expectations 1.x expectations (GX's own `type` + `kwargs` form, plus a
`severity`) and business rules. Each rule is declared once and used twice: as an SDV constraint
the synthesizer obeys while fitting and sampling, and as the GX expectations that prove it.

```yaml
suite: adult_contract            # the check names: guard_adult_contract, suite_adult_contract
run_on: [source, synthetic]      # where the expectations run (default: both)
expectations:
  - type: expect_column_values_to_be_between
    kwargs: {column: age, min_value: 17, max_value: 90}
    severity: error              # error blocks (default), warn reports
rules:
  - fixed_combinations: [education, education_num]
  - inequality: {low: start_date, high: end_date}
```

Everything a file can get wrong without the data (YAML, unknown expectation types and
arguments, bad rules) is found when definitions load (`load_suite`); references to columns
the source lacks are found when the source is read (`missing_columns`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from synthpipe.contracts import RULE_KINDS, SEVERITIES, SIDES, ExpectationSpec, Rule, UserExpectation, UserSuite
from synthpipe.contracts import digest as _digest
from synthpipe.errors import closest

# The records (`Rule`, `UserSuite`, ...) live in `synthpipe.contracts`, where the configuration
# models can hold them; they are re-exported here, where they were first defined.
__all__ = [
    "RULE_KINDS",
    "SEVERITIES",
    "SIDES",
    "Rule",
    "SuiteError",
    "UserExpectation",
    "UserSuite",
    "expectation_types",
    "load_suite",
    "merge_suites",
    "missing_columns",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Arguments synthpipe sets itself (or GX fills in); a suite may not.
_RESERVED_ARGUMENTS = frozenset({"id", "meta", "rendered_content", "batch_id", "windows", "result_format", "severity", "catch_exceptions"})


class SuiteError(ValueError):
    """Problems of one suite file, each naming the file, the entry and the fix."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@lru_cache(maxsize=1)
def expectation_types() -> dict[str, type]:
    """GX 1.x's core expectation classes by their snake-case type name."""
    import great_expectations.expectations as gxe

    found = {}
    for name in dir(gxe):
        cls = getattr(gxe, name)
        if name.startswith("Expect") and isinstance(cls, type):
            found[cls.expectation_type] = cls
    return found


def _line_numbers(text: str, key: str) -> list[int]:
    """The 1-based line of each item of the top-level sequence `key` (empty when absent)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key_node, value_node in root.value:
        if key_node.value == key and isinstance(value_node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value_node.value]
    return []


def _where(file: str, section: str, index: int, lines: list[int]) -> str:
    line = f" (line {lines[index]})" if index < len(lines) else ""
    return f"{file}, {section}[{index}]{line}"


def _gx_problems(type_name: str, kwargs: Mapping[str, Any], where: str) -> list[str]:
    """Unknown GX types and bad arguments, checked by building the GX expectation itself."""
    known = expectation_types()
    if type_name not in known:
        return [f"{where}: unknown expectation type {type_name!r}.{closest(type_name, list(known))} Valid types are GX 1.x's core expectations (e.g. expect_column_values_to_be_between)."]
    cls = known[type_name]
    fields = [f for f in getattr(cls, "__fields__", {}) if f not in _RESERVED_ARGUMENTS]
    reserved = sorted(set(kwargs) & _RESERVED_ARGUMENTS)
    if reserved:
        return [f"{where}: {type_name} argument(s) {reserved} are set by synthpipe; write `severity: error|warn` beside `kwargs` instead."]
    unknown = [k for k in kwargs if k not in fields]
    if unknown:
        return [
            f"{where}: {type_name} has no argument {k!r}.{closest(k, fields)} Its arguments: {', '.join(fields)}."
            for k in unknown
        ]
    try:
        cls(**kwargs)
    except Exception as error:  # pydantic's ValidationError (GX uses pydantic's v1 API)
        details = getattr(error, "errors", None)
        if callable(details):
            messages = sorted({f"`{'.'.join(str(p) for p in item['loc'])}`: {item['msg']}" for item in details()})
            return [f"{where}: {type_name} rejects its arguments: {'; '.join(messages)} (got {dict(kwargs)!r})."]
        return [f"{where}: {type_name} rejects its arguments {dict(kwargs)!r}: {error}"]
    return []


def _run_on(value: Any, where: str, problems: list[str], default: frozenset[str]) -> frozenset[str]:
    if value is None:
        return default
    sides = [value] if isinstance(value, str) else value
    if not isinstance(sides, list) or not sides or any(s not in SIDES for s in sides):
        problems.append(f"{where}: `run_on` must be a list of {', '.join(SIDES)}; got {value!r}.")
        return default
    return frozenset(sides)


def _expectation(entry: Any, where: str, default_run_on: frozenset[str], problems: list[str]) -> UserExpectation | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: an expectation is a mapping with `type` and `kwargs`; got {entry!r}.")
        return None
    unknown = [k for k in entry if k not in ("type", "kwargs", "severity", "run_on", "description")]
    for key in unknown:
        problems.append(f"{where}: unknown key {key!r}.{closest(str(key), ['type', 'kwargs', 'severity', 'run_on', 'description'])}")
    type_name, kwargs, severity = entry.get("type"), entry.get("kwargs") or {}, entry.get("severity", "error")
    if not isinstance(type_name, str):
        problems.append(f"{where}: `type` is required, the GX expectation type such as 'expect_column_values_to_be_between'.")
        return None
    if not isinstance(kwargs, Mapping):
        problems.append(f"{where}: `kwargs` must be a mapping of the expectation's arguments; got {kwargs!r}.")
        return None
    if severity not in SEVERITIES:
        problems.append(f"{where}: `severity` must be 'error' (blocks) or 'warn' (reports); got {severity!r}.")
    before = len(problems)
    problems += _gx_problems(type_name, dict(kwargs), where)
    run_on = _run_on(entry.get("run_on"), where, problems, default_run_on)
    if len(problems) > before:
        return None
    meta = {"description": entry["description"]} if entry.get("description") else {}
    return UserExpectation(ExpectationSpec(type_name, dict(kwargs), severity if severity in SEVERITIES else "error", meta), where, run_on)


_RULE_KEYS = {
    "fixed_combinations": ("columns",),
    "inequality": ("low", "high", "strict"),
    "range": ("low", "middle", "high", "strict"),
}


def _rule(entry: Any, where: str, problems: list[str]) -> Rule | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: a rule is a mapping such as `fixed_combinations: [a, b]`; got {entry!r}.")
        return None
    enforce = entry.get("enforce", True)
    kinds = [k for k in entry if k != "enforce"]
    if len(kinds) != 1 or kinds[0] not in RULE_KINDS:
        wrong = next((k for k in kinds if k not in RULE_KINDS), kinds[0] if kinds else "")
        problems.append(
            f"{where}: a rule has exactly one of {', '.join(RULE_KINDS)} (plus `enforce`); got {sorted(map(str, kinds))}.{closest(str(wrong), RULE_KINDS)}"
        )
        return None
    kind = kinds[0]
    value = entry[kind]
    if kind == "fixed_combinations" and isinstance(value, list):
        value = {"columns": value}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: `{kind}` takes a mapping with {', '.join(_RULE_KEYS[kind])}; got {value!r}.")
        return None
    allowed = _RULE_KEYS[kind]
    bad = [k for k in value if k not in allowed]
    for key in bad:
        problems.append(f"{where}: `{kind}` has no setting {key!r}.{closest(str(key), allowed)} Its settings: {', '.join(allowed)}.")
    required = [k for k in allowed if k != "strict" and k not in value]
    for key in required:
        problems.append(f"{where}: `{kind}` needs `{key}`.")
    if bad or required:
        return None
    rule = Rule(kind, dict(value), where, bool(enforce))
    columns = rule.columns
    if kind == "fixed_combinations" and (len(columns) < 2 or not all(isinstance(c, str) for c in columns)):
        problems.append(f"{where}: `fixed_combinations` needs at least two column names; got {columns!r}.")
        return None
    if len(set(columns)) != len(columns):
        problems.append(f"{where}: `{kind}` names a column twice: {columns!r}.")
        return None
    if not isinstance(enforce, bool):
        problems.append(f"{where}: `enforce` must be true or false; got {enforce!r}.")
        return None
    return rule


def load_suite(path: Path) -> UserSuite:
    """Reads and validates one suite file; every problem is raised at once as a `SuiteError`."""
    file = path.name
    if not path.is_file():
        raise SuiteError([f"expectation suite {str(path)!r} does not exist; check the path (relative paths are read from `expectations_dir`)."])
    text = path.read_text()
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SuiteError([f"{file}: not valid YAML: {error}"]) from None
    if not isinstance(loaded, Mapping):
        raise SuiteError([f"{file}: a suite is a mapping with `expectations` and/or `rules`; got {type(loaded).__name__}."])
    problems: list[str] = []
    allowed = ("suite", "description", "run_on", "expectations", "rules")
    for key in loaded:
        if key not in allowed:
            problems.append(f"{file}: unknown key {key!r}.{closest(str(key), allowed)} A suite has {', '.join(allowed)}.")
    name = loaded.get("suite", path.name.split(".")[0])
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{file}: `suite` must be letters, digits and underscores (it names the Dagster checks); got {name!r}.")
    default_run_on = _run_on(loaded.get("run_on"), file, problems, frozenset(SIDES))
    entries, rules_raw = loaded.get("expectations") or [], loaded.get("rules") or []
    if not isinstance(entries, list) or not isinstance(rules_raw, list):
        raise SuiteError(problems + [f"{file}: `expectations` and `rules` are lists."])
    if not entries and not rules_raw:
        problems.append(f"{file}: the suite has no `expectations` and no `rules`; add one or remove the file from the table.")
    lines, rule_lines = _line_numbers(text, "expectations"), _line_numbers(text, "rules")
    expectations = [_expectation(e, _where(file, "expectations", i, lines), default_run_on, problems) for i, e in enumerate(entries)]
    rules = [_rule(r, _where(file, "rules", i, rule_lines), problems) for i, r in enumerate(rules_raw)]
    if problems:
        raise SuiteError(problems)
    return UserSuite(
        name=str(name),
        path=str(path),
        expectations=tuple(e for e in expectations if e is not None),
        rules=tuple(r for r in rules if r is not None),
        fingerprint=_digest(loaded),
    )


def missing_columns(suites: Iterable[UserSuite], columns: Sequence[str], table: str) -> list[str]:
    """Problems for every expectation or rule that names a column the table does not have."""
    problems = []
    for suite in suites:
        items = [(e.where, e.spec.type, e.columns) for e in suite.expectations] + [(r.where, r.kind, r.columns) for r in suite.rules]
        for where, what, named in items:
            for column in named:
                if column not in columns:
                    problems.append(
                        f"suite {suite.name!r} ({where}): {what} names column {column!r}, which table {table!r} does not have."
                        f"{closest(column, list(columns))} Fix the column name in the suite, or remove the entry."
                    )
    return problems


def _target(spec: ExpectationSpec) -> tuple[Any, ...]:
    """What an expectation constrains: its type and the columns it names."""
    return (spec.type, *spec.columns)


def merge_suites(derived: Sequence[ExpectationSpec], user: Iterable[ExpectationSpec]) -> tuple[list[ExpectationSpec], list[ExpectationSpec]]:
    """The derived suite without what a user expectation constrains too (same type, same
    columns): the user's rule wins. Returns (kept, overridden)."""
    taken = {_target(spec) for spec in user}
    kept = [s for s in derived if _target(s) not in taken]
    return kept, [s for s in derived if _target(s) in taken]
