"""Validation of a whole configuration: every problem collected, raised once under a heading.

`load_config` turns any accepted input (a mapping, a YAML path or a model) into one
`SynthpipeConfig`, reporting pydantic's errors and synthpipe's own checks (settings ranges,
synthesizer names, `auto`, sequences, groups, differential privacy, duplicate names, suites)
together.

What a synthesizer name means (which kind of table it serves, whether it can enforce rules,
whether it is installed and how to install it) is asked of the backend registry
(`synthpipe.resources.backends`), which imports no backend to answer.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from synthpipe.config import SourceConfig, SynthpipeConfig, TableConfig
from synthpipe.config_base import NAME_PATTERN
from synthpipe.config_input import pydantic_problems, read_yaml
from synthpipe.errors import ConfigError, closest
from synthpipe.expectations.suites import SuiteError, UserSuite, load_suite
from synthpipe.resources.backends import BACKENDS, Kind, names
from synthpipe.group_validation import group_problems
from synthpipe.privacy_validation import privacy_problems, privacy_rule_problems
from synthpipe.shared_validation import duplicate_problems, evaluated_problems
from synthpipe.steering_validation import steering_problems
from synthpipe.table_config import AUTO, DEFAULT_EVALUATION_ROWS, DEFAULT_SEQUENCE_SYNTHESIZER, SEQUENCE_BACKENDS

__all__ = ["expectations_dir", "load_config"]


def _kind(name: str) -> Kind:
    """The kind of table a synthesizer name serves; names the registry lacks count as single-table."""
    return BACKENDS[name].kind if name in BACKENDS else "table"


def _sequence_names() -> str:
    """The names a sequential table takes (`argn`, not its registry name `argn_sequence`)."""
    configured = {backend: name for name, backend in SEQUENCE_BACKENDS.items()}
    return ", ".join(repr(configured.get(n, n)) for n in names("sequence"))


def _table_problems(table: TableConfig, known_synthesizers: tuple[str, ...]) -> list[str]:
    where = f"table {table.name!r}"
    problems = []
    if not NAME_PATTERN.match(table.name):
        problems.append(
            f"{where}: `name` must be letters, digits and underscores (it becomes an asset key); "
            f"got {table.name!r}. Keep the real name in `source_table`."
        )
    choices = (*known_synthesizers, AUTO)
    if table.backend not in choices:
        problems.append(
            f"{where}: unknown `synthesizer` {table.backend!r}; choose one of "
            f"{', '.join(choices)}.{closest(table.backend, choices)}"
        )
    problems += _auto_problems(table, where, known_synthesizers)
    problems += _engine_problems(table, where)
    problems += _sequence_problems(table, where)
    problems += steering_problems(table, where)
    problems += privacy_problems(table, where)
    problems += evaluated_problems(table, where)
    if table.target is not None and table.target in table.exclude_columns + list(table.pii):
        problems.append(f"{where}: `target` {table.target!r} is excluded or personal; a model cannot learn to predict it.")
    problems += _train_on_problems(table, where)
    problems += _attack_problems(table, where)
    if table.num_rows is not None and table.num_rows < 1:
        problems.append(f"{where}: `num_rows` must be at least 1; got {table.num_rows}. Omit it to match the source.")
    for setting in ("row_limit", "fit_rows"):
        value = getattr(table, setting)
        if value is not None and value < 1:
            problems.append(f"{where}: `{setting}` must be at least 1; got {value}. Omit it to use every row.")
    if table.sample_chunk_rows < 1:
        problems.append(f"{where}: `sample_chunk_rows` must be at least 1; got {table.sample_chunk_rows}.")
    if table.sample_workers is not None and table.sample_workers < 1:
        problems.append(f"{where}: `sample_workers` must be at least 1; got {table.sample_workers}. Omit it to use every core.")
    if table.evaluation_rows < 100:
        problems.append(f"{where}: `evaluation_rows` must be at least 100; got {table.evaluation_rows}. The default is {DEFAULT_EVALUATION_ROWS}.")
    overlap = sorted((set(table.columns) | set(table.pii)) & set(table.exclude_columns)) + sorted(set(table.columns) & set(table.pii))
    if overlap:
        problems.append(
            f"{where}: columns {overlap} are declared twice among `columns`, `pii` and `exclude_columns`; keep one."
        )
    return problems


def _attack_problems(table: TableConfig, where: str) -> list[str]:
    """Attack sample sizes and risk thresholds; a risk gate needs anonymeter installed."""
    import importlib.util

    problems = []
    if table.attack_rows < 0 or 0 < table.attack_rows < 50:
        problems.append(f"{where}: `attack_rows` must be 0 (no attacks) or at least 50; got {table.attack_rows}. The default is 2000.")
    gates = [f"max_{name}_risk" for name in ("singling_out", "linkability", "inference") if getattr(table, f"max_{name}_risk") is not None]
    for setting in gates:
        value = getattr(table, setting)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{where}: `{setting}` must be between 0 and 1; got {value}.")
    if gates and table.attack_rows == 0:
        problems.append(f"{where}: {', '.join(f'`{g}`' for g in gates)} needs the attacks, which `attack_rows: 0` turns off; set `attack_rows` or remove the gate.")
    if gates and importlib.util.find_spec("anonymeter") is None:
        problems.append(
            f"{where}: {', '.join(f'`{g}`' for g in gates)} needs anonymeter, which is not installed; `make install` installs it "
            "(pip install --no-deps anonymeter==1.1.0 numba llvmlite polars polars-runtime-32), or remove the gate."
        )
    return problems


def _train_on_problems(table: TableConfig, where: str) -> list[str]:
    """`train_on` lists what the downstream asset trains on: it needs a `target`, each entry once."""
    problems = []
    if table.target is None and "train_on" in table.model_fields_set:
        problems.append(
            f"{where}: `train_on` {table.train_on} needs `target`, the column the downstream models predict; "
            "set `target` or remove `train_on`."
        )
    repeated = sorted({entry for entry in table.train_on if table.train_on.count(entry) > 1})
    if repeated:
        problems.append(f"{where}: `train_on` lists {', '.join(map(repr, repeated))} more than once; name each entry once.")
    if not table.train_on:
        problems.append(f"{where}: `train_on` is empty; name at least one of 'real', 'synthetic', 'real+synthetic', or remove it.")
    return problems


def _engine_problems(table: TableConfig, where: str) -> list[str]:
    """A backend of an optional extra named without the extra installed: the fix is an install line."""
    wanted = [table.candidate_backend(n) for n in table.auto_candidates] if table.backend == AUTO else [table.backend]
    missing = [BACKENDS[n] for n in dict.fromkeys(wanted) if n in BACKENDS and BACKENDS[n].extra and not BACKENDS[n].available()]
    return [
        f"{where}: synthesizer {entry.name!r} ({entry.label}) is not installed; {entry.install_hint}, or choose another synthesizer."
        for entry in missing
    ]


def _auto_problems(table: TableConfig, where: str, known_synthesizers: tuple[str, ...]) -> list[str]:
    if table.sequence is not None:  # the names a sequential table takes
        single = [{b: n for n, b in SEQUENCE_BACKENDS.items()}.get(n, n) for n in names("sequence")]
    else:
        single = [n for n in known_synthesizers if _kind(n) == "table"]
    problems = [
        f"{where}: `auto_candidates` names {name!r}, which `auto` cannot fit{' on a sequential table' if table.sequence else ''}; "
        f"choose from {', '.join(single)}.{closest(name, single)}"
        for name in table.auto_candidates
        if name not in single and (table.sequence is None or table.backend == AUTO or "auto_candidates" in table.model_fields_set)
    ]
    if table.backend == AUTO and not table.auto_candidates:
        problems.append(f"{where}: `synthesizer: auto` needs at least one of `auto_candidates`.")
    unknown = sorted(set(table.candidate_params) - set(table.auto_candidates))
    if unknown:
        problems.append(f"{where}: `candidate_params` for {unknown}, which are not in `auto_candidates` {table.auto_candidates}.")
    if table.auto_budget_seconds <= 0:
        problems.append(f"{where}: `auto_budget_seconds` must be above 0; got {table.auto_budget_seconds}.")
    return problems


def _sequence_problems(table: TableConfig, where: str) -> list[str]:
    if table.sequence is None:
        problems = []
        if _kind(table.backend) == "sequence":
            problems.append(f"{where}: synthesizer {table.backend!r} needs `sequence: {{entity_key: ..., order_by: ...}}`.")
        if table.num_sequences is not None:
            problems.append(f"{where}: `num_sequences` applies to sequential tables; use `num_rows`, or declare `sequence`.")
        return problems
    problems = []
    if _kind(table.backend) != "sequence" and table.backend != AUTO:
        problems.append(f"{where}: a sequential table is synthesized with {_sequence_names()}, not {table.backend!r}; remove `synthesizer`.")
    if table.num_rows is not None:
        problems.append(f"{where}: a sequential table samples whole sequences; use `num_sequences` instead of `num_rows`.")
    if table.fit_rows is not None and "fit_rows" in table.model_fields_set:
        problems.append(f"{where}: `fit_rows` would cut sequences apart; cap a sequential table with `row_limit` or a `query`.")
    if table.num_sequences is not None and table.num_sequences < 1:
        problems.append(f"{where}: `num_sequences` must be at least 1; got {table.num_sequences}.")
    keys = {table.sequence.entity_key, table.sequence.order_by}
    clash = sorted(keys & set(table.sequence.context_columns))
    if len(keys) < 2 or clash:
        problems.append(f"{where}: `sequence` needs distinct entity_key, order_by and context columns; got {table.sequence.model_dump()}.")
    return problems


def _problems_of_valid_tables(raw: Mapping[str, Any], known_synthesizers: tuple[str, ...]) -> list[str]:
    """When the configuration as a whole does not parse, still check each table that does, so
    one run of the loader lists every problem.
    """
    tables = raw.get("tables")
    if not isinstance(tables, list):
        return []
    names = [t.get("name") for t in tables if isinstance(t, Mapping) and isinstance(t.get("name"), str)]
    problems = duplicate_problems(names)
    for entry in tables:
        if not isinstance(entry, Mapping):
            continue
        try:  # unknown keys are already reported; check what is left
            table = TableConfig.model_validate({k: v for k, v in entry.items() if k in TableConfig.model_fields})
        except ValidationError:
            continue  # already reported with its location
        problems += _table_problems(table, known_synthesizers)
    return problems


def _source_problems(source: SourceConfig) -> list[str]:
    """The one location setting the source's `kind` reads is set, and no other."""
    needed = {"duckdb": "database", "sql": "url", "parquet": "path", "csv": "path"}[source.kind]
    examples = {
        "database": "sources/adult.duckdb",
        "url": "{env: SOURCE_DATABASE_URL} or postgresql+psycopg2://reader@db:5432/prod",
        "path": "exports/ or s3://lake/exports",
    }
    problems = []
    if getattr(source, needed) is None:
        problems.append(f"source: kind {source.kind!r} needs `{needed}`, e.g. {examples[needed]}.")
    for other in {"database", "url", "path"} - {needed}:
        if getattr(source, other) is not None:
            problems.append(f"source: `{other}` does not apply to kind {source.kind!r}; it reads `{needed}`. Remove `{other}`.")
    if source.db_schema is not None and source.kind != "sql":
        problems.append(f"source: `db_schema` applies to kind 'sql' only, not {source.kind!r}.")
    return problems


def _sourceless_problems(config: SynthpipeConfig) -> list[str]:
    """Generated sets and simulations. Their checks draw trial rows (scipy) and import model
    classes (Mesa), so they are imported only for a configuration that has some."""
    problems: list[str] = []
    if config.generated:
        from synthpipe.generated_validation import generated_problems

        for generated in config.generated:
            problems += generated_problems(generated, [t.name for t in config.tables])
    if config.simulations:
        from synthpipe.resources.simulation import simulation_problems

        for simulation in config.simulations:
            problems += simulation_problems(simulation)
    return problems


def _semantic_problems(config: SynthpipeConfig, known_synthesizers: tuple[str, ...]) -> list[str]:
    read = [table.name for table in config.tables] + [group.name for group in config.groups]
    names = read + [g.name for g in config.generated] + [s.name for s in config.simulations]
    # a configuration of generated tables and simulations alone reads no source
    problems = (_source_problems(config.source) if read else []) + duplicate_problems(names)
    if not names:
        problems.append("nothing to synthesize: declare at least one entry under `tables`, `groups`, `generated` or `simulations`.")
    for group in config.groups:
        problems += group_problems(group)
    problems += _sourceless_problems(config)
    if config.source.kind in ("parquet", "csv"):
        problems += [
            f"table {t.name!r}: `query` needs a sql or duckdb source; a {config.source.kind} source reads whole files."
            for t in config.tables
            if t.query is not None
        ]
    for table in config.tables:
        problems += _table_problems(table, known_synthesizers)
    try:
        zoneinfo.ZoneInfo(config.schedule.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"schedule: unknown `timezone` {config.schedule.timezone!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'."
        )
    from dagster._utils.schedules import is_valid_cron_string

    if config.retention.keep_last < 1:
        problems.append(f"retention: `keep_last` must be at least 1; got {config.retention.keep_last}.")
    if not is_valid_cron_string(config.retention.cron):
        problems.append(f"retention: `cron` {config.retention.cron!r} is not a valid cron expression; e.g. '0 4 * * 0' is Sundays at 04:00.")
    if config.schedule.change_check_seconds < 30:
        problems.append(
            f"schedule: `change_check_seconds` {config.schedule.change_check_seconds} is too short; probe the sources "
            "at most every 30 seconds (default 900)."
        )
    if not is_valid_cron_string(config.schedule.cron):
        problems.append(
            f"schedule: `cron` {config.schedule.cron!r} is not a valid cron expression; e.g. '0 2 * * *' is 02:00 daily."
        )
    return problems


def load_config(
    value: SynthpipeConfig | Mapping[str, Any] | str | Path,
    known_synthesizers: tuple[str, ...] | None = None,
) -> SynthpipeConfig:
    """Turns a model, a mapping or a YAML file into one validated `SynthpipeConfig`.

    Every problem in the configuration is collected and raised once as a `ConfigError`.

    Args:
        value: A `SynthpipeConfig`, a mapping of the same shape, or a path to a YAML file.
        known_synthesizers: Valid synthesizer names; defaults to the backend registry.

    Examples:
        >>> cfg = load_config({"source": {"database": "a.duckdb"}, "tables": [{"name": "adult"}]})
        >>> cfg.tables[0].synthesizer
        'gaussian_copula'
    """
    if known_synthesizers is None:
        known_synthesizers = (*names("table"), *names("sequence"))
    raw: Mapping[str, Any]
    if isinstance(value, SynthpipeConfig):
        config = value
    else:
        if isinstance(value, (str, Path)):
            raw = read_yaml(Path(value))
        else:
            raw = value
        # Top-level typos are reported here so that they do not hide the tables' own problems.
        known = list(SynthpipeConfig.model_fields)
        problems = [
            f"`{key}` is not a known setting.{closest(str(key), known)} Known settings: {', '.join(known)}."
            for key in raw
            if key not in known
        ]
        raw = {key: value for key, value in raw.items() if key in known}
        try:
            config = SynthpipeConfig.model_validate(raw)
        except ValidationError as error:
            problems += pydantic_problems(error, raw) + _problems_of_valid_tables(raw, known_synthesizers)
        if problems:
            raise ConfigError(problems)
    problems = _semantic_problems(config, known_synthesizers) + _attach_suites(config)
    if problems:
        raise ConfigError(problems)
    return config


def expectations_dir(config: SynthpipeConfig) -> Path:
    """Where relative `expectation_suites` paths are read from."""
    if config.expectations_dir is None:
        return Path(__file__).resolve().parent.parent / "expectations"
    return Path(config.expectations_dir).expanduser().resolve()


def _attach_suites(config: SynthpipeConfig) -> list[str]:
    """Reads each table's suite files (every problem, with file and entry) and attaches them."""
    problems: list[str] = []
    folder = expectations_dir(config)
    members = [(f"table {t.name!r}", t, _fitted_by(t)) for t in config.tables]
    members += [(f"group {g.name!r}, table {t.name!r}", t, [g.backend]) for g in config.groups for t in g.tables]
    # a generator meets its own `rules`; a suite's rules on its tables are checked, not enforced
    members += [(f"generated set {g.name!r}, table {t.name!r}", t, []) for g in config.generated for t in g.tables]
    for where, table, backends in members:
        if table._suites:  # already read: a validated config passed through `load_config` again
            continue
        suites, found = _read_suites(table.expectation_suites, folder, where, backends)
        problems += found
        table._suites = suites
    problems += [problem for t in config.tables for problem in privacy_rule_problems(t, f"table {t.name!r}")]
    for simulation in config.simulations:
        if simulation._suites:
            continue
        read: dict[str, tuple[UserSuite, ...]] = {}
        for name, files in simulation.expectation_suites.items():
            read[name], found = _read_suites(files, folder, f"simulation {simulation.name!r}, table {name!r}", [])
            problems += found
        simulation._suites = read
    return problems


def _read_suites(files: list[str], folder: Path, where: str, backends: list[str]) -> tuple[tuple[UserSuite, ...], list[str]]:
    """The suite files of one table, and every problem with them."""
    suites, problems = [], []
    for name in files:
        path = Path(name).expanduser()
        try:
            suites.append(load_suite(path if path.is_absolute() else folder / path))
        except SuiteError as error:
            problems += [f"{where}: {problem}" for problem in error.problems]
    names = [suite.name for suite in suites]
    problems += [f"{where}: two suites are named {n!r}; give each file its own `suite` name." for n in sorted({n for n in names if names.count(n) > 1})]
    problems += _rule_problems(suites, where, backends)
    return tuple(suites), problems


def _rule_problems(suites: list[UserSuite], where: str, backends: list[str]) -> list[str]:
    """Enforced rules on a table whose backend enforces none (neither as constraints nor by redrawing)."""
    enforced = [rule for suite in suites for rule in suite.enforced_rules]
    refusing = [BACKENDS[n] for n in backends if n in BACKENDS and not BACKENDS[n].capabilities.rules]
    if enforced and refusing:
        return [
            f"{where}: rules are enforced by SDV's single-table constraints, not by {refusing[0].label}; "
            f"set `enforce: false` on {enforced[0].where} to check it only."
        ]
    return []


def _fitted_by(table: TableConfig) -> list[str]:
    """The backends that may fit a single table: a sequential table's is the sequence backend
    (any other is refused on its own); `auto` tries its candidates."""
    if table.sequence is not None:
        return [table.backend if _kind(table.backend) == "sequence" else DEFAULT_SEQUENCE_SYNTHESIZER]
    return list(table.auto_candidates) if table.backend == AUTO else [table.backend]
