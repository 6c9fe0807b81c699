"""The generated kind: tables without a source, drawn from their declarations (`generated:`).

Nothing is read and nothing is learned: the source stage records the declaration's fingerprint,
the synthesizer stage registers the declaration as the set's MLflow model (a `Generator`, reused
while the declaration is unchanged), and the synthetic stage draws every table with a recorded
seed. A column may be drawn from a published twin (`twin:`): its latest version is read at that
moment, after the twin's own refresh in the same run, and the version is recorded so the set can
be reproduced. The checks prove the declaration holds: each declared distribution's
goodness-of-fit test, the declared correlations, every rule on every row (Great Expectations),
keys, and the user suites. The set publishes as one Delta version per table, all or none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
import json
import re
import time
from typing import Any

import dagster as dg
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.gates import measured_gate
from synthpipe.assets.checks.suites import log_user_suites, suite_check_result, user_check_name, user_suite_specs
from synthpipe.assets.fit import register_candidate, reusable_champion
from synthpipe.assets.kinds import Evaluation, Published, SourceRead, register_kind
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.records import Candidate, FittedModel, GroupSample
from synthpipe.assets.sample import choose_seed
from synthpipe.config import GeneratedConfig
from synthpipe.contracts import ExpectationSpec, Rule
from synthpipe.errors import SynthesizerError
from synthpipe.expectations.runner import validate
from synthpipe.generated_config import GeneratedTableConfig
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.fingerprints import fingerprint
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["CHECKS", "GeneratedRead", "GeneratedSet", "key_problems", "personal_report", "register_declaration", "rule_specs"]

CHECK_DISTRIBUTIONS = "distributions"
CHECK_CORRELATIONS = "correlations"
CHECK_RULES = "rules"
CHECK_KEYS = "keys"
CHECK_FIT = "fit"
CHECKS = (CHECK_DISTRIBUTIONS, CHECK_CORRELATIONS, CHECK_RULES, CHECK_KEYS, CHECK_FIT)


@dataclasses.dataclass(frozen=True)
class GeneratedRead:
    """What the source stage of a set without a source passes on: the declaration's fingerprint."""

    fingerprint: str
    probe: str = ""


def rule_specs(table: GeneratedTableConfig) -> list[ExpectationSpec]:
    """The Great Expectations that prove a table's rules on every row."""
    specs: list[ExpectationSpec] = []
    for index, rule in enumerate(table.rules):
        kind, body, where = rule.kind(), rule.body(), f"rules[{index}]"
        if kind in ("inequality", "range"):
            specs += Rule(kind, body, where).expectations(None)
        elif kind == "fixed_combinations":
            allowed = pd.DataFrame([list(c) for c in body["combinations"]], columns=list(body["columns"]))
            specs += Rule(kind, {"columns": list(body["columns"])}, where).expectations(allowed)
        elif kind == "conditional":
            condition = " and ".join(f"`{column}` == {value!r}" for column, value in body["when"].items())
            specs.append(
                ExpectationSpec(
                    "expect_column_values_to_be_in_set",
                    {"column": body["column"], "value_set": list(body["categories"]), "row_condition": condition, "condition_parser": "pandas"},
                    meta={"rule": f"{body['column']} in {list(body['categories'])} where {condition}"},
                )
            )
    return specs


def key_problems(config: GeneratedConfig, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Keys that are not unique or empty, and children whose parent key resolves to no parent."""
    problems = []
    for table in config.tables:
        frame = tables[table.name]
        for name, spec in table.columns.items():
            if spec.sequence is not None and (frame[name].isna().any() or frame[name].duplicated().any()):
                problems.append(f"{table.name}.{name}: {int(frame[name].duplicated().sum())} repeated and {int(frame[name].isna().sum())} empty keys")
        if table.parent is not None:
            parent = tables[table.parent.table][table.parent.key]
            orphans = int((~frame[table.parent.child_column].isin(set(parent))).sum())
            if orphans:
                problems.append(f"{table.name}.{table.parent.child_column}: {orphans} rows name no {table.parent.table}.{table.parent.key}")
    return problems


def _describe_tests(tests: list[Any]) -> str:
    rows = ["| table | column | declared | test | statistic | p-value | fit | verdict |", "|---|---|---|---|---|---|---|---|"]
    rows += [
        f"| {t.table} | {t.column} | {t.declared} | {t.test} | {t.statistic:.4f} | {t.p_value:.4g} | {t.fit:.4f} | {'✓' if t.passed else '✗'} |"
        for t in tests
    ]
    return "\n".join(rows)


def _check(name: str, passed: bool, severity: str, description: str, metadata: dict[str, Any]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "error" else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


@dataclasses.dataclass(frozen=True)
class GeneratedSet:
    """One configured set of generated tables (`generated:` in the configuration)."""

    config: GeneratedConfig

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def members(self) -> list[str | None]:
        return [table.name for table in self.config.tables]

    @property
    def has_downstream(self) -> bool:
        return False

    @property
    def upstream(self) -> list[str]:
        """The learned tables whose published twins this set reads: they refresh first."""
        return self.config.twins

    def guard_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return []

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        config = self.config

        def spec(name: str, description: str) -> dg.AssetCheckSpec:
            blocks = config.severity(name) == "error"
            return dg.AssetCheckSpec(name, asset=key, blocking=blocks, description=description + ("" if blocks else " Warns, does not block."))

        specs = [
            spec(
                CHECK_DISTRIBUTIONS,
                f"Every declared distribution, category weight and children-per-parent count fits the generated rows "
                f"(Kolmogorov-Smirnov for continuous, chi-squared for discrete and categorical; fails at p < {config.significance}).",
            ),
            spec(CHECK_RULES, "Every declared rule holds on every generated row (Great Expectations)."),
            spec(CHECK_KEYS, "Every key is unique and present; every child row's parent key names a parent row."),
            *([spec(CHECK_CORRELATIONS, f"Each declared correlation's Spearman rank correlation is within the test's bounds at {config.significance}.")]
              if any(t.correlations for t in config.tables) else []),
        ]
        blocks = config.severity(CHECK_FIT) == "error"
        specs.append(dg.AssetCheckSpec(CHECK_FIT, asset=key, blocking=blocks, description=f"Mean fit to the declarations is at least {config.quality_threshold} (`quality_threshold`)."))
        return specs + [spec for t in config.tables for spec in user_suite_specs("suite", t.suites, key, t.name)]

    # --- source -----------------------------------------------------------------------------------

    def read(self, context: dg.AssetExecutionContext, source: SourceResource, docs: DataDocsFolder) -> SourceRead:
        config = self.config
        context.log.info(f"Generated set {config.name!r} reads no source: {len(config.tables)} table(s) declared, fingerprint {config.fingerprint}")
        made_up = {f"{t.name}.{c}": s.faker for t in config.tables for c, s in t.columns.items() if s.faker}
        metadata = {
            keys.SOURCE_FINGERPRINT: config.fingerprint,
            **{f"{keys.PREFIX}declared_columns/{t.name}": dg.MetadataValue.md(_declared(t)) for t in config.tables},
            # Faker columns look personal by design; they are made up, never real.
            keys.LOOKS_PERSONAL: dg.MetadataValue.md(
                "\n".join(f"- `{c}`: made up by Faker's `{p}`, never real" for c, p in made_up.items()) if made_up else "none"
            ),
            **({keys.TWIN_VERSIONS: dg.MetadataValue.text(", ".join(config.twins))} if config.twins else {}),
        }
        return SourceRead(GeneratedRead(config.fingerprint), metadata)

    # --- fit --------------------------------------------------------------------------------------

    def fit(self, context: dg.AssetExecutionContext, read: GeneratedRead, tracker: MlflowTracker, run: ModelRun) -> FittedModel:
        config = self.config
        tracker.log_params(run.run_id, {"generated_set": config.name, "synthesizer": config.backend, "tables": ",".join(t.name for t in config.tables),
                                        "significance": config.significance, "declaration_fingerprint": read.fingerprint})

        def build() -> Any:
            from synthpipe.resources.generator import Generator

            tracker.log_dict(run.run_id, config.model_dump(mode="json"), "declaration.json")
            return Generator(config.model_dump(mode="json"))

        return register_declaration(context, config, read, tracker, run, build, "declaration")

    def fit_metadata(self, fitted: FittedModel, read: GeneratedRead) -> dict[str, Any]:
        return {keys.CONFIG_FINGERPRINT: read.fingerprint}

    # --- sample -----------------------------------------------------------------------------------

    def sample(
        self, context: dg.AssetExecutionContext, read: GeneratedRead, fitted: FittedModel, tracker: MlflowTracker, store: DeltaSnapshotStore
    ) -> GroupSample:
        config = self.config
        generator = tracker.load_synthesizer(fitted.model_name, fitted.model_version)
        seed = choose_seed(config.seed)
        twins, versions = read_twins(config, store)
        if versions:
            context.log.info("Drawing from the published twins " + ", ".join(f"{n} v{v}" for n, v in versions.items()))
        started = time.perf_counter()
        tables = generator.generate(seed, twins)
        seconds = time.perf_counter() - started
        rows = sum(len(f) for f in tables.values())
        context.log.info(f"Generated {rows} rows in {seconds:.2f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) with seed {seed}")
        return GroupSample(tables, seed, {}, seconds, recorded={"twin_versions": versions, "rejected": dict(generator.rejected)})

    # --- checks -----------------------------------------------------------------------------------

    def evaluate(
        self, context: dg.AssetExecutionContext, read: GeneratedRead, sampled: GroupSample, fitted: FittedModel,
        tracker: MlflowTracker, docs: DataDocsFolder,
    ) -> Evaluation:
        from synthpipe.assets.evaluation.distributions import correlation_tests, fit_tests  # scipy: imported when a set is checked

        config, tables, run_id = self.config, sampled.tables, fitted.mlflow_run_id
        tests = fit_tests(config, tables, config.significance)
        correlations = correlation_tests(config, tables, config.significance)
        score = sum(t.fit for t in tests) / len(tests) if tests else 1.0
        failed = [t for t in tests if not t.passed]
        results = [
            _check(
                CHECK_DISTRIBUTIONS, not failed, config.severity(CHECK_DISTRIBUTIONS),
                f"{len(tests) - len(failed)} of {len(tests)} declared distributions fit at {config.significance}"
                + (": " + ", ".join(f"{t.table}.{t.column} (p {t.p_value:.2g})" for t in failed) if failed else ""),
                {
                    keys.FIT_TESTS: dg.MetadataValue.md(_describe_tests(tests)),
                    "synthpipe/tests_failed": len(failed),
                    # the night's weakest fit, plotted night after night
                    "synthpipe/lowest_p_value": dg.FloatMetadataValue(round(min((t.p_value for t in tests), default=1.0), 6)),
                },
            ),
        ]
        if any(t.correlations for t in config.tables):
            wrong = [c for c in correlations if not c.passed]
            table_md = "\n".join(
                ["| table | columns | expected Spearman | observed | verdict |", "|---|---|---|---|---|"]
                + [f"| {c.table} | {', '.join(c.columns)} | {c.expected:.4f} | {c.observed:.4f} | {'✓' if c.passed else '✗'} |" for c in correlations]
            )
            results.append(_check(CHECK_CORRELATIONS, not wrong, config.severity(CHECK_CORRELATIONS),
                                  f"{len(correlations) - len(wrong)} of {len(correlations)} declared correlations hold",
                                  {keys.CORRELATION_TESTS: dg.MetadataValue.md(table_md)}))
        results.append(self._rules(context, tables, docs))
        problems = key_problems(config, tables)
        results.append(_check(CHECK_KEYS, not problems, config.severity(CHECK_KEYS), "; ".join(problems) or "every key unique and resolved",
                              {keys.KEY_PROBLEMS: len(problems)}))
        results.append(measured_gate(CHECK_FIT, score, config))
        results += self._user_suites(context, tables, docs, tracker, run_id)
        rows = {f"rows.{n}": len(f) for n, f in tables.items()}
        rejected = sampled.recorded.get("rejected", {})
        tracker.log_params(run_id, {"seed": sampled.seed, **{f"twin_version.{n}": v for n, v in sampled.recorded.get("twin_versions", {}).items()}})
        tracker.log_metrics(run_id, {
            **rows, "quality_score": score, "sample_seconds": sampled.sample_seconds, "distribution_tests_failed": len(failed),
            "rows_per_second": sum(len(f) for f in tables.values()) / max(sampled.sample_seconds, 1e-9),
            **{f"rejected.{n}": r for n, r in rejected.items()}, **{_metric_name(f"fit.{t.table}.{t.column}"): t.fit for t in tests},
        })
        tracker.log_dict(run_id, [dataclasses.asdict(t) for t in tests], "fit_tests.json")
        total = sum(len(f) for f in tables.values())
        metadata = {
            "dagster/row_count": total,
            **{f"{keys.PREFIX}rows/{n}": len(f) for n, f in tables.items()},
            keys.SEED: dg.MetadataValue.text(str(sampled.seed)),
            keys.SAMPLE_SECONDS: dg.FloatMetadataValue(round(sampled.sample_seconds, 3)),
            keys.SAMPLE_ROWS_PER_SECOND: dg.FloatMetadataValue(round(total / max(sampled.sample_seconds, 1e-9), 1)),
            keys.QUALITY_SCORE: dg.FloatMetadataValue(round(score, 4)),
            keys.REJECTED_ROWS: dg.MetadataValue.json(rejected),
            keys.FIT_TESTS: dg.MetadataValue.md(_describe_tests(tests)),
        }
        metadata[keys.LOOKS_PERSONAL] = personal_report(tables, {t.name: {c: s.faker for c, s in t.columns.items() if s.faker} for t in config.tables})
        if sampled.recorded.get("twin_versions"):
            metadata[keys.TWIN_VERSIONS] = dg.MetadataValue.json(sampled.recorded["twin_versions"])
        return Evaluation(results, metadata, score)

    def _rules(self, context: dg.AssetExecutionContext, tables: dict[str, pd.DataFrame], docs: DataDocsFolder) -> dg.AssetCheckResult:
        """Every table's rules as one Great Expectations result."""
        site = docs.site(self.name, context.run.run_id)
        evaluated, failures, url = 0, [], None
        for table in self.config.tables:
            specs = rule_specs(table)
            if not specs:
                continue
            result = validate(tables[table.name], f"{self.name}.{table.name}", f"{self.name}.{table.name}.rules", specs, site)
            evaluated, failures, url = evaluated + result.evaluated, failures + result.failures, url or result.docs_url
        from synthpipe.expectations.runner import SuiteResult

        combined = SuiteResult(f"{self.name}.rules", evaluated, failures, url)
        outcome = suite_check_result(CHECK_RULES, combined, docs)
        if self.config.severity(CHECK_RULES) == "warn":
            outcome = dg.AssetCheckResult(check_name=CHECK_RULES, passed=outcome.passed, severity=dg.AssetCheckSeverity.WARN,
                                          description=outcome.description, metadata=outcome.metadata)
        return outcome

    def _user_suites(
        self, context: dg.AssetExecutionContext, tables: dict[str, pd.DataFrame], docs: DataDocsFolder, tracker: MlflowTracker, run_id: str
    ) -> list[dg.AssetCheckResult]:
        site, results = docs.site(self.name, context.run.run_id), []
        for table in self.config.tables:
            runs = []
            for suite in table.suites:
                if not suite.checks_synthetic:
                    continue
                pairs = suite.synthetic_specs(tables[table.name])
                result = validate(tables[table.name], f"{self.name}.{table.name}", f"{self.name}.{table.name}.{suite.name}",
                                  [s for s, _ in pairs], site, [w for _, w in pairs])
                runs.append((suite, pairs, result))
                results.append(suite_check_result(user_check_name("suite", suite.name, table.name), result, docs))
            if runs:
                log_user_suites(tracker, run_id, runs, prefix=f"{table.name}.")
        return results

    # --- publish ----------------------------------------------------------------------------------

    def publish(self, context: dg.AssetExecutionContext, candidate: Candidate, store: DeltaSnapshotStore, commit: dict[str, Any]) -> dict[str | None, Published]:
        sampled = candidate.sample
        assert isinstance(sampled, GroupSample)
        versions = sampled.recorded.get("twin_versions", {})
        commit = {**commit, keys.GROUP: self.name, **({keys.TWIN_VERSIONS: json.dumps(versions)} if versions else {})}
        per_table = {name: {keys.ROWS: len(data), keys.ROW_HASH: fingerprint(data)} for name, data in sampled.tables.items()}
        written = store.publish_group(self.name, sampled.tables, commit, per_table)
        context.log.info(f"Published generated set {self.name!r}: {written}")
        return {name: Published(written[name], store.table_uri(f"{self.name}/{name}"), len(sampled.tables[name])) for name in sampled.tables}


def personal_report(tables: dict[str, pd.DataFrame], made_up: dict[str, dict[str, str]]) -> dg.MetadataValue:
    """Columns of tables without a source that look personal: those a Faker provider made up, and
    any other that looks personal by its name or content (reported, never replaced)."""
    from synthpipe.assets.inspection import looks_personal

    lines = []
    for name, frame in tables.items():
        fakes = made_up.get(name, {})
        lines += [f"- `{name}.{column}`: made up by Faker's `{provider}`, never real" for column, provider in fakes.items()]
        lines += [f"- `{name}.{h.column}`: {h.reason} (not made up by Faker: check what produces it)" for h in looks_personal(frame, set(fakes))]
    return dg.MetadataValue.md("\n".join(lines) or "none")


def register_declaration(
    context: dg.AssetExecutionContext, config: Any, read: GeneratedRead, tracker: MlflowTracker, run: ModelRun, build: Callable[[], Any], what: str
) -> FittedModel:
    """The fit stage of a table without a source: the registered champion when its fingerprint
    is this declaration's (nothing is learned, so nothing is refitted), else the model `build`
    makes, registered as the `candidate` version."""
    champion = reusable_champion(config.registered_model_name, read.fingerprint, read.fingerprint, tracker)
    if champion is not None:
        context.log.info(f"The {what} is unchanged since {config.registered_model_name} v{champion.version}; reusing it")
        run.mark_reused(champion.run_id)
        tracker.set_alias(config.registered_model_name, "candidate", str(champion.version))
        version, model_uri = str(champion.version), champion.source
    else:
        tags = {keys.SOURCE_FINGERPRINT: read.fingerprint, keys.FIT_FINGERPRINT: read.fingerprint, keys.SYNTHESIZER: config.backend}
        model_uri, version = register_candidate(tracker, run.run_id, build(), config.registered_model_name, config.name, tags)
        context.log.info(f"Registered the {what} as {config.registered_model_name} v{version}")
    return FittedModel(
        table=config.name, synthesizer=config.backend, mlflow_run_id=run.run_id, model_name=config.registered_model_name, model_version=version,
        model_uri=model_uri, fit_seconds=0.0, training_rows=0, table_metadata={}, source_fingerprint=read.fingerprint,
        reused_from=champion.run_id if champion is not None else None,
    )


def read_twins(config: GeneratedConfig, store: DeltaSnapshotStore, versions: dict[str, int] | None = None) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The published twins a set draws from, at `versions` (default: each one's latest), and
    the versions read."""
    frames, read = {}, {}
    for name in config.twins:
        version = (versions or {}).get(name, store.latest_version(name))
        if version is None:
            raise SynthesizerError(
                f"Generated set {config.name!r} draws columns from the twin of table {name!r}, which has no published version yet. "
                f"Refresh {name!r} first (the nightly job runs it before this set), or remove the `twin:` columns."
            )
        frames[name], read[name] = store.read_arrow(name, version=int(version)).to_pandas(), int(version)
    return frames, read


def _metric_name(name: str) -> str:
    """An MLflow metric name: characters MLflow refuses (quotes, `=`) become underscores."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name)


def _declared(table: GeneratedTableConfig) -> str:
    """A table's declared columns, one line each, for the source asset's metadata."""
    lines = [f"{table.num_rows} rows" if table.num_rows else f"children of {table.parent.table if table.parent else '?'}"]
    for name, spec in table.columns.items():
        source = spec.source()
        value = getattr(spec, source)
        detail = f"{value}({', '.join(f'{k}={v}' for k, v in spec.params.items())})" if source == "distribution" else (
            value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value)
        lines.append(f"- `{name}`: {source} {detail}")
    return "\n".join(lines)


register_kind(lambda config: isinstance(config, GeneratedConfig), GeneratedSet)
