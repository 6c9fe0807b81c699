"""The relational-group kind: related tables (`groups:` in the configuration) fitted together
(one SDV HMA model, or TabularARGN's chain of per-table models) so that every synthetic foreign
key resolves, published as a set (all or none).

With HMA, child rows are held out (seeded) and parents stay whole so every kept child still
resolves. With TabularARGN, whole families are held out (all children of a share of each
child's context parents, cascading down the chain), so the model learns real children counts.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.group import (
    check_specs,
    group_quality,
    group_suites,
    integrity_result,
    non_keys,
    privacy_and_utility,
    quality_result,
    value_leaks_result,
)
from synthpipe.assets.checks.suites import log_user_suites, run_guards, suite_check_result, user_check_name, user_suite_specs
from synthpipe.assets.checks.table import CHECK_EXPECTATIONS
from synthpipe.assets.evaluation.quality import evaluate_quality
from synthpipe.assets.evaluation.report import build_report
from synthpipe.assets.fit import register_candidate
from synthpipe.assets.inspection import infinite_columns, name_clashes, refuse
from synthpipe.assets.kinds import Evaluation, Published, SourceRead, register_kind
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.records import Candidate, FittedModel, GroupSample
from synthpipe.assets.sample import choose_seed
from synthpipe.assets.source import read_member, refuse_free_text, refuse_missing_suite_columns
from synthpipe.assets.split import publishable_schema, split_holdout, to_pandas
from synthpipe.config import ForeignKeyConfig, GroupConfig
from synthpipe.errors import SynthesizerError
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.fingerprints import fingerprint
from synthpipe.resources.backends import backend
from synthpipe.resources.protection import protect_tables
from synthpipe.resources.relational import (
    OrphanCount,
    build_group_metadata,
    context_foreign_keys,
    effective_foreign_keys,
    foreign_keys_of,
    integrity_problems,
    primary_keys,
    resolve_orphans,
    sample_group,
)
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.synthesizers import add_rules, build_synthesizer
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["GroupSource", "GroupTables", "read_group"]


@dataclasses.dataclass
class GroupSource:
    """The real tables of a group after the orphan policy, with what it changed."""

    tables: dict[str, pd.DataFrame]
    fingerprint: str
    orphans: list[OrphanCount]
    foreign_keys: list[ForeignKeyConfig]
    holdout: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    schemas: dict[str, pa.Schema] = dataclasses.field(default_factory=dict)  # each table's source schema, which its twin is cast back to


def read_group(group: GroupConfig, source: SourceResource) -> GroupSource:
    """Reads every table of the group and applies the orphan policy."""
    tables, schemas = {}, {}
    for table in group.tables:
        arrow = read_member(table, source)
        refuse(f"{group.name}/{table.name}", name_clashes(arrow.schema) + infinite_columns(arrow))
        schemas[table.name] = publishable_schema(arrow.schema)
        tables[table.name] = to_pandas(arrow)
    combined = "".join(fingerprint(tables[name]) for name in sorted(tables))
    foreign_keys = effective_foreign_keys(group, tables)
    tables, orphans = resolve_orphans(group, tables, foreign_keys)
    read = GroupSource(tables, fingerprint(pd.DataFrame({"f": [combined]})), orphans, foreign_keys, schemas=schemas)
    if backend(group.backend).capabilities.contexts:
        _hold_out_by_parent(group, read)
        return read
    for child in sorted({fk.child for fk in foreign_keys}):
        read.tables[child], read.holdout[child] = split_holdout(tables[child], group.holdout_fraction, group.split_seed)
    return read


def _hold_out_by_parent(group: GroupConfig, read: GroupSource) -> None:
    """Holds out whole families: all children of a seeded share of each child's context parents,
    and, down the chain, the children of held-out rows. The model then never sees a parent with
    part of its children, so it learns the real number of children per parent."""
    contexts = context_foreign_keys(read.foreign_keys)
    done: set[str] = set()
    while len(done) < len(contexts):
        ready = [c for c, fk in sorted(contexts.items()) if c not in done and (fk.parent not in contexts or fk.parent in done)]
        if not ready:
            return  # a cycle: refused when definitions load
        for child in ready:
            fk, frame = contexts[child], read.tables[child]
            key = _columns_of(fk.child_key)[0]
            parent_key = _columns_of(fk.parent_key)[0]
            cascaded = read.holdout.get(fk.parent, frame.iloc[:0])
            gone = frame[key].isin(set(cascaded[parent_key])) if fk.parent in read.holdout else pd.Series(False, index=frame.index)
            train, held = split_holdout(frame[~gone], group.holdout_fraction, group.split_seed, entity_key=key)
            read.tables[child] = train
            read.holdout[child] = pd.concat([held, frame[gone]], ignore_index=True)
            done.add(child)


def _columns_of(key: str | list[str]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


@dataclasses.dataclass(frozen=True)
class GroupTables:
    """One configured group of related tables."""

    config: GroupConfig

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def members(self) -> list[str | None]:
        return [table.name for table in self.config.tables]

    @property
    def has_downstream(self) -> bool:
        return False

    def guard_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return [c for t in self.config.tables for c in user_suite_specs("guard", t.suites, key, t.name)]

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return check_specs(self.config, key)

    # --- source -----------------------------------------------------------------------------------

    def read(self, context: dg.AssetExecutionContext, source: SourceResource, docs: DataDocsFolder) -> SourceRead:
        group = self.config
        context.log.info(f"Reading {len(group.tables)} tables of group {group.name!r} from {source.describe()}")
        read = read_group(group, source)
        refuse_missing_suite_columns([(f"{group.name}/{t.name}", t.suites, list(read.tables[t.name].columns)) for t in group.tables])
        self._refuse_free_text(read)
        guards = self._guards(context, read, docs)
        for orphan in read.orphans:
            context.log.warning(f"{orphan.describe()} had no parent; applied `orphans: {group.orphans}`")
        metadata = {
            "dagster/row_count": sum(len(t) for t in read.tables.values()),
            **{f"{keys.PREFIX}rows/{name}": len(frame) for name, frame in read.tables.items()},
            keys.SOURCE_FINGERPRINT: read.fingerprint,
            keys.ORPHANS: dg.MetadataValue.md("\n".join(f"- {o.describe()}" for o in read.orphans) or "none"),
            keys.ORPHAN_ROWS: sum(o.rows for o in read.orphans),
            **{f"{keys.PREFIX}holdout_rows/{name}": len(frame) for name, frame in read.holdout.items()},
            # Detected keys are shown in configuration form, ready to copy into the YAML and edit.
            keys.FOREIGN_KEYS: dg.MetadataValue.json([{**fk.model_dump(exclude_none=True), "declared": bool(group.foreign_keys)} for fk in read.foreign_keys]),
        }
        return SourceRead(read, metadata, guards)

    def _guards(self, context: dg.AssetExecutionContext, read: GroupSource, docs: DataDocsFolder) -> list[dg.AssetCheckResult]:
        """Each member's guarding suites on all of its source rows (held-out child rows included)."""
        group, results = self.config, []
        site = docs.site(group.name, context.run.run_id)
        for table in group.tables:
            if not any(suite.guards for suite in table.suites):
                continue
            rows = pd.concat([read.tables[table.name], read.holdout.get(table.name, read.tables[table.name].iloc[:0])], ignore_index=True)
            results += run_guards(context, f"{group.name}/{table.name}", table.suites, rows, "every row", site, docs, table.name)
        return results

    def _refuse_free_text(self, read: GroupSource) -> None:
        """Each member's undeclared free text, refused before the group fits."""
        group = self.config
        metadata = build_group_metadata(group, read.tables)
        for table in group.tables:
            sdtypes = {c: spec.get("sdtype", "") for c, spec in metadata.tables[table.name].columns.items()}
            keys_of_table = {c for fk in read.foreign_keys if fk.child == table.name for c in _columns_of(fk.child_key)}
            declared = set(table.pii) | set(table.metadata_overrides) | keys_of_table
            refuse_free_text(f"{group.name}/{table.name}", table.name, read.tables[table.name], sdtypes, group.rare_value_min_count, declared)

    # --- fit --------------------------------------------------------------------------------------

    def fit(self, context: dg.AssetExecutionContext, read: GroupSource, tracker: MlflowTracker, run: ModelRun) -> FittedModel:
        group, run_id = self.config, run.run_id
        metadata = build_group_metadata(group, read.tables)
        contexts = {child: _columns_of(fk.child_key)[0] for child, fk in context_foreign_keys(read.foreign_keys).items()}
        if backend(group.backend).capabilities.contexts:
            synthesizer = build_synthesizer(group.backend, {"context_keys": contexts, **group.synthesizer_params}, metadata, group.name)
            # parents whose children were held out are not learned from
            synthesizer.hold_out_contexts({child: set(read.holdout[child][key].dropna()) for child, key in contexts.items() if child in read.holdout})  # type: ignore[attr-defined]
        else:  # HMA: progress goes to the run log instead
            synthesizer = build_synthesizer(group.backend, {"verbose": False, **group.synthesizer_params}, metadata, group.name)
        for table in group.tables:
            add_rules(synthesizer, table.enforced_rules, f"Group {group.name!r}, table {table.name!r}", group.backend, table.name)
            for rule in table.enforced_rules:
                context.log.info(f"Enforcing on {table.name!r}: {rule.describe()}")
        rows = {name: len(frame) for name, frame in read.tables.items()}
        context.log.info(f"Fitting {group.backend} on {rows} with {len(metadata.relationships)} relationships")
        started = time.perf_counter()
        try:
            rules = {table.name: table.enforced_rules for table in group.tables}
            synthesizer.fit(protect_tables(read.tables, metadata, group.rare_value_min_count, group.split_seed, rules))
        except Exception as error:
            raise SynthesizerError(f"Group {group.name!r}: fitting {group.backend} failed: {error}") from error
        fit_seconds = time.perf_counter() - started
        context.log.info(f"Fitted in {fit_seconds:.1f} s; logging to MLflow run {run_id}")
        tracker.log_params(
            run_id,
            {"group": group.name, "synthesizer": group.backend, "tables": ",".join(rows), "orphans": group.orphans,
             "scale": group.scale, **{f"rows.{n}": r for n, r in rows.items()}},
        )
        tracker.log_metrics(run_id, {"fit_seconds": fit_seconds, "orphan_rows": sum(o.rows for o in read.orphans)})
        tracker.log_dict(run_id, metadata.to_dict(), "sdv_metadata.json")
        tracker.log_dict(run_id, [fk.model_dump(exclude_none=True) for fk in foreign_keys_of(metadata)], "foreign_keys.json")
        model_uri, version = register_candidate(tracker, run_id, synthesizer, group.registered_model_name, group.name)
        return FittedModel(
            table=group.name, synthesizer=group.backend, mlflow_run_id=run_id, model_name=group.registered_model_name,
            model_version=version, model_uri=model_uri, fit_seconds=fit_seconds, training_rows=sum(rows.values()),
            table_metadata=metadata.to_dict(), source_fingerprint=read.fingerprint,
        )

    def fit_metadata(self, fitted: FittedModel, read: GroupSource) -> dict[str, Any]:
        return {}

    # --- sample and checks ------------------------------------------------------------------------

    def sample(
        self, context: dg.AssetExecutionContext, read: GroupSource, fitted: FittedModel, tracker: MlflowTracker, store: DeltaSnapshotStore
    ) -> GroupSample:
        group = self.config
        synthesizer = tracker.load_synthesizer(fitted.model_name, fitted.model_version)
        seed = choose_seed(group.seed)
        context.log.info(f"Sampling group {group.name!r} at scale {group.scale} with seed {seed}")
        started = time.perf_counter()
        tables = sample_group(synthesizer, group.scale, seed)
        return GroupSample(tables, seed, read.schemas, time.perf_counter() - started)

    def evaluate(
        self, context: dg.AssetExecutionContext, read: GroupSource, sampled: GroupSample, fitted: FittedModel,
        tracker: MlflowTracker, docs: DataDocsFolder,
    ) -> Evaluation:
        group, tables, seed, run_id = self.config, sampled.tables, sampled.seed, fitted.mlflow_run_id
        metadata = fitted.table_metadata
        context.log.info("Evaluating: per-table suites, referential integrity, multi-table quality")
        site = docs.site(group.name, context.run.run_id)
        suite, user = group_suites(group, read, tables, metadata, site)
        if site.exists():
            tracker.log_folder(run_id, str(site), "data_docs", ignore=("*.gif",))
        for name in {name for name, *_ in user}:
            log_user_suites(tracker, run_id, [(s, p, r) for n, s, p, r in user if n == name], prefix=f"{name}.")
        relational = _relational_metadata(metadata)
        problems = integrity_problems(tables, primary_keys(relational), foreign_keys_of(relational))
        score, diagnostic, properties = group_quality(read, tables, metadata)
        context.log.info("Measuring privacy and utility against the held-out child rows")
        gates, gate_metrics, privacy = privacy_and_utility(group, read, tables, metadata, seed)
        reports = self._reports(context, read, sampled, metadata, privacy, fitted, tracker)
        results = [
            suite_check_result(CHECK_EXPECTATIONS, suite, docs),
            *(suite_check_result(user_check_name("suite", s.name, name), r, docs) for name, s, _, r in user),
            integrity_result(problems),
            quality_result(group, score, diagnostic, properties),
            *gates,
            value_leaks_result(group, read, tables, metadata),
        ]
        tracker.log_params(run_id, {"seed": seed, "quality_threshold": group.quality_threshold})
        tracker.log_metrics(
            run_id,
            {"sample_seconds": sampled.sample_seconds, "quality_score": score, "diagnostic_score": diagnostic,
             "integrity_problems": len(problems), "expectations_failed": len(suite.failures),
             **{f"rows.{n}": len(f) for n, f in tables.items()}, **gate_metrics},
        )
        return Evaluation(
            results,
            {
                "dagster/row_count": sum(len(f) for f in tables.values()),
                **{f"{keys.PREFIX}rows/{n}": len(f) for n, f in tables.items()},
                keys.SEED: dg.MetadataValue.text(str(seed)),
                keys.SAMPLE_SECONDS: dg.FloatMetadataValue(round(sampled.sample_seconds, 3)),
                keys.QUALITY_SCORE: dg.FloatMetadataValue(round(score, 4)),
                **{f"{keys.REPORT}/{name}": dg.MetadataValue.url(tracker.links.file(link)) for name, link in reports.items()},
            },
            score,
        )

    def _reports(
        self, context: dg.AssetExecutionContext, read: GroupSource, sampled: GroupSample, metadata: dict,
        privacy: dict[str, Any], fitted: FittedModel, tracker: MlflowTracker,
    ) -> dict[str, str]:
        """One HTML report per child table (the tables with a holdout), logged to the group's run."""
        group, links = self.config, {}
        for name, measured in privacy.items():
            columns = metadata["tables"][name]["columns"]
            table_metadata = {"columns": {c: m for c, m in columns.items() if m.get("sdtype") != "id"}}
            real, synthetic = non_keys(read.tables[name], columns), non_keys(sampled.tables[name], columns)
            quality = evaluate_quality(real, synthetic, table_metadata)
            label = f"group {group.name}, candidate of Dagster run {context.run.run_id[:8]}, model v{fitted.model_version}, seed {sampled.seed}"
            html = build_report(f"{group.name}/{name}", label, real, synthetic, quality, measured)
            links[name] = tracker.log_text(fitted.mlflow_run_id, html, f"report/{group.name}/{name}.html")
        return links

    # --- publish ----------------------------------------------------------------------------------

    def publish(self, context: dg.AssetExecutionContext, candidate: Candidate, store: DeltaSnapshotStore, commit: dict[str, Any]) -> dict[str | None, Published]:
        group, sampled = self.config, candidate.sample
        assert isinstance(sampled, GroupSample)
        commit = {**commit, keys.GROUP: group.name, keys.SCALE: group.scale}
        per_table = {name: {keys.ROWS: len(data), keys.ROW_HASH: fingerprint(data)} for name, data in sampled.tables.items()}
        versions = store.publish_group(group.name, sampled.tables, commit, per_table, sampled.schemas)
        context.log.info(f"Published group {group.name!r}: {versions}")
        return {
            name: Published(versions[name], store.table_uri(f"{group.name}/{name}"), len(sampled.tables[name]))
            for name in sampled.tables
        }


def _relational_metadata(metadata: dict[str, Any]) -> Any:
    from sdv.metadata import Metadata

    return Metadata.load_from_dict(metadata)


register_kind(lambda config: isinstance(config, GroupConfig), GroupTables)
