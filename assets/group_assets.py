"""The asset factory for a relational group: one model for related tables, published as a set.

source/<g> ──► synthesizer/<g> ──► synthetic/<g> (+ blocking checks) ──► published/<g>/<table> (one per table)
"""

import secrets
import time
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from synthpipe.assets.common import (
    asset_args,
    block_run,
    commit_metadata,
    drop_excluded,
    end_run_quietly,
    fitted_metadata,
    register_candidate,
    start_model_run,
)
from synthpipe.assets.evaluation import evaluate_quality
from synthpipe.assets.group_checks import (
    CHECK_INTEGRITY,
    check_specs,
    group_quality,
    group_suites,
    integrity_result,
    non_keys,
    privacy_and_utility,
    quality_result,
    value_leaks_result,
)
from synthpipe.assets.inspection import free_text_columns, infinite_columns, name_clashes, refuse
from synthpipe.assets.records import FittedModel
from synthpipe.assets.report import build_report
from synthpipe.assets.stages import fingerprint, publishable_schema, split_holdout, to_pandas
from synthpipe.assets.suite_checks import log_user_suites, run_guards, suite_check_result, user_check_name, user_suite_specs
from synthpipe.assets.table_checks import CHECK_EXPECTATIONS
from synthpipe.assets.translator import STAGES, StageData, SynthpipeTranslator
from synthpipe.expectations.suites import missing_columns
from synthpipe import metadata_keys as keys
from synthpipe.config import ForeignKeyConfig, GroupConfig
from synthpipe.errors import SynthesizerError, SynthpipeError
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.protection import protect_tables
from synthpipe.resources.relational import (
    OrphanCount,
    build_group_metadata,
    effective_foreign_keys,
    foreign_keys_of,
    integrity_problems,
    primary_keys,
    resolve_orphans,
    sample_group,
)
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.synthesizers import add_rules, build_synthesizer, check_modelable
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["CHECK_INTEGRITY", "build_group_assets"]



class GroupSource:
    """The real tables of a group after the orphan policy, with what it changed."""

    def __init__(
        self, tables: dict[str, pd.DataFrame], fingerprint: str, orphans: list[OrphanCount], foreign_keys: list[ForeignKeyConfig]
    ):
        self.tables = tables
        self.fingerprint = fingerprint
        self.orphans = orphans
        self.foreign_keys = foreign_keys
        self.holdout: dict[str, pd.DataFrame] = {}
        self.schemas: dict[str, pa.Schema] = {}  # each table's source schema, which its twin is cast back to


class GroupCandidate:
    def __init__(
        self, tables: dict[str, pd.DataFrame], seed: int, model: FittedModel, checks: dict[str, bool], quality: float,
        schemas: dict[str, pa.Schema] | None = None,
    ):
        self.tables = tables
        self.schemas = schemas or {}
        self.seed = seed
        self.model = model
        self.checks = checks
        self.quality = quality


def build_group_assets(
    group: GroupConfig,
    translator: SynthpipeTranslator | None = None,
    source_description: str = "the source",
    source_kind: str = "duckdb",
) -> list[dg.AssetsDefinition]:
    """Builds the source, synthesizer, synthetic and published assets of one table group."""
    translator = translator or SynthpipeTranslator()
    specs = {stage: translator.get_asset_spec(StageData(group, stage, source_description, source_kind=source_kind)) for stage in STAGES[:3]}
    published = [
        translator.get_asset_spec(StageData(group, "published", source_description, member=table.name, source_kind=source_kind))
        # a multi-asset's inputs must be declared deps of its specs
        .replace_attributes(deps=[specs["synthetic"].key])
        for table in group.tables
    ]
    return [
        _source_asset(group, specs["source"]),
        _synthesizer_asset(group, specs["synthesizer"], specs["source"].key),
        _synthetic_asset(group, specs["synthetic"], specs["source"].key, specs["synthesizer"].key),
        _published_asset(group, published, specs["synthetic"].key),
    ]


# --- source -------------------------------------------------------------------------------------


def read_group(group: GroupConfig, source: SourceResource) -> GroupSource:
    """Reads every table of the group and applies the orphan policy."""
    tables, schemas = {}, {}
    for table in group.tables:
        arrow = drop_excluded(table, source.read_table(table.source_name, query=table.query, limit=table.row_limit))
        check_modelable(table.name, arrow.schema)
        refuse(f"{group.name}/{table.name}", name_clashes(arrow.schema) + infinite_columns(arrow))
        schemas[table.name] = publishable_schema(arrow.schema)
        tables[table.name] = to_pandas(arrow)
    combined = "".join(fingerprint(tables[name]) for name in sorted(tables))
    foreign_keys = effective_foreign_keys(group, tables)
    tables, orphans = resolve_orphans(group, tables, foreign_keys)
    read = GroupSource(tables, fingerprint(pd.DataFrame({"f": [combined]})), orphans, foreign_keys)
    read.schemas = schemas
    # Child rows are held out (seeded); parents stay whole so every kept child still resolves.
    for child in sorted({fk.child for fk in foreign_keys}):
        read.tables[child], read.holdout[child] = split_holdout(tables[child], group.holdout_fraction, group.split_seed)
    return read


def _guards(context: dg.AssetExecutionContext, group: GroupConfig, read: GroupSource, docs: DataDocsFolder) -> list[dg.AssetCheckResult]:
    """Each member's guarding suites on all of its source rows (held-out child rows included)."""
    results = []
    site = docs.site(group.name, context.run.run_id)
    for table in group.tables:
        if not any(suite.guards for suite in table.suites):
            continue
        rows = pd.concat([read.tables[table.name], read.holdout.get(table.name, read.tables[table.name].iloc[:0])], ignore_index=True)
        label = f"{group.name}/{table.name}"
        results += run_guards(context, label, table.suites, rows, "every row", site, table.name)
    return results


def _columns_of(key: str | list[str]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


def _refuse_free_text(group: GroupConfig, read: GroupSource) -> None:
    """Each member's undeclared free text (`synthpipe.assets.inspection`), refused before the group fits."""
    metadata = build_group_metadata(group, read.tables)
    for table in group.tables:
        columns = metadata.tables[table.name].columns
        sdtypes = {c: spec.get("sdtype", "") for c, spec in columns.items()}
        keys_of_table = {c for fk in read.foreign_keys if fk.child == table.name for c in _columns_of(fk.child_key)}
        declared = set(table.pii) | set(table.metadata_overrides) | keys_of_table
        refuse(f"{group.name}/{table.name}", free_text_columns(table.name, read.tables[table.name], sdtypes, group.rare_value_min_count, declared))


def _source_asset(group: GroupConfig, spec: dg.AssetSpec) -> dg.AssetsDefinition:
    @dg.asset(**asset_args(spec), check_specs=[c for t in group.tables for c in user_suite_specs("guard", t.suites, spec.key, t.name)])
    def source(
        context: dg.AssetExecutionContext, synthpipe_source: SourceResource, synthpipe_data_docs: DataDocsFolder
    ):  # no return annotation: with check specs, Dagster would read it as a tuple of outputs
        context.log.info(f"Reading {len(group.tables)} tables of group {group.name!r} from {synthpipe_source.describe()}")
        read = read_group(group, synthpipe_source)
        problems = [p for t in group.tables for p in missing_columns(t.suites, list(read.tables[t.name].columns), f"{group.name}/{t.name}")]
        if problems:
            raise SynthpipeError("\n".join(problems))
        _refuse_free_text(group, read)
        guards = _guards(context, group, read, synthpipe_data_docs)
        for orphan in read.orphans:
            context.log.warning(f"{orphan.describe()} had no parent; applied `orphans: {group.orphans}`")
        return dg.MaterializeResult(
            value=read,
            metadata={
                "dagster/row_count": sum(len(t) for t in read.tables.values()),
                **{f"{keys.PREFIX}rows/{name}": len(frame) for name, frame in read.tables.items()},
                keys.SOURCE_FINGERPRINT: read.fingerprint,
                keys.ORPHANS: dg.MetadataValue.md("\n".join(f"- {o.describe()}" for o in read.orphans) or "none"),
                keys.ORPHAN_ROWS: sum(o.rows for o in read.orphans),
                **{f"{keys.PREFIX}holdout_rows/{name}": len(frame) for name, frame in read.holdout.items()},
                # Detected keys are shown in configuration form, ready to copy into the YAML and edit.
                keys.FOREIGN_KEYS: dg.MetadataValue.json(
                    [{**fk.model_dump(), "declared": bool(group.foreign_keys)} for fk in read.foreign_keys]
                ),
            },
            check_results=guards,
        )

    return source


# --- synthesizer ---------------------------------------------------------------------------------


def fit_group(context: dg.AssetExecutionContext, group: GroupConfig, read: GroupSource, tracker: MlflowTracker) -> FittedModel:
    """Fits the group's relational model, logs the MLflow run and registers a `candidate`."""
    run_id = start_model_run(context, tracker, group.name, read.fingerprint)
    try:
        metadata = build_group_metadata(group, read.tables)
        params = {"verbose": False, **group.synthesizer_params}  # progress goes to the run log instead
        synthesizer = build_synthesizer(group.backend, params, metadata, group.name)
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
        relationships = [fk.model_dump() for fk in foreign_keys_of(metadata)]
        tracker.log_params(
            run_id,
            {"group": group.name, "synthesizer": group.backend, "tables": ",".join(rows), "orphans": group.orphans,
             "scale": group.scale, **{f"rows.{n}": r for n, r in rows.items()}},
        )
        tracker.log_metrics(run_id, {"fit_seconds": fit_seconds, "orphan_rows": sum(o.rows for o in read.orphans)})
        tracker.log_dict(run_id, metadata.to_dict(), "sdv_metadata.json")
        tracker.log_dict(run_id, relationships, "foreign_keys.json")
        model_uri, version = register_candidate(tracker, run_id, synthesizer, group.registered_model_name, group.name)
    except BaseException:
        end_run_quietly(tracker, run_id)
        raise
    return FittedModel(
        table=group.name,
        synthesizer=group.backend,
        mlflow_run_id=run_id,
        model_name=group.registered_model_name,
        model_version=version,
        model_uri=model_uri,
        fit_seconds=fit_seconds,
        training_rows=sum(rows.values()),
        table_metadata=metadata.to_dict(),
        source_fingerprint=read.fingerprint,
    )


def _synthesizer_asset(group: GroupConfig, spec: dg.AssetSpec, source_key: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.asset(**asset_args(spec), ins={"read": dg.AssetIn(source_key)})
    def synthesizer(
        context: dg.AssetExecutionContext, read: GroupSource, synthpipe_mlflow: MlflowTracker
    ) -> dg.MaterializeResult[FittedModel]:
        fitted = fit_group(context, group, read, synthpipe_mlflow)
        return dg.MaterializeResult(
            value=fitted,
            metadata=fitted_metadata(fitted),
        )

    return synthesizer


# --- synthetic + checks ------------------------------------------------------------------------------


def _reports(
    context: dg.AssetExecutionContext, group: GroupConfig, read: GroupSource, sampled: dict[str, pd.DataFrame],
    metadata: dict, privacy: dict[str, Any], fitted: FittedModel, tracker: MlflowTracker, seed: int,
) -> dict[str, str]:
    """One HTML report per child table (the tables with a holdout), logged to the group's run."""
    links = {}
    for name, measured in privacy.items():
        table_metadata = {"columns": {c: m for c, m in metadata["tables"][name]["columns"].items() if m.get("sdtype") != "id"}}
        columns = metadata["tables"][name]["columns"]
        real, synthetic = non_keys(read.tables[name], columns), non_keys(sampled[name], columns)
        quality = evaluate_quality(real, synthetic, table_metadata)
        label = f"group {group.name}, candidate of Dagster run {context.run.run_id[:8]}, model v{fitted.model_version}, seed {seed}"
        html = build_report(f"{group.name}/{name}", label, real, synthetic, quality, measured)
        links[name] = tracker.log_text(fitted.mlflow_run_id, html, f"report/{group.name}/{name}.html")
    return links


def _synthetic_asset(
    group: GroupConfig, spec: dg.AssetSpec, source_key: dg.AssetKey, synthesizer_key: dg.AssetKey
) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_args(spec),
        ins={"read": dg.AssetIn(source_key), "fitted": dg.AssetIn(synthesizer_key)},
        check_specs=check_specs(group, spec.key),
    )
    def synthetic(
        context: dg.AssetExecutionContext,
        read: GroupSource,
        fitted: FittedModel,
        synthpipe_mlflow: MlflowTracker,
        synthpipe_data_docs: DataDocsFolder,
    ):
        tracker = synthpipe_mlflow
        try:
            synthesizer = tracker.load_synthesizer(fitted.model_name, fitted.model_version)
            seed = group.seed if group.seed is not None else secrets.randbelow(2**31 - 1)
            context.log.info(f"Sampling group {group.name!r} at scale {group.scale} with seed {seed}")
            started = time.perf_counter()
            sampled = sample_group(synthesizer, group.scale, seed)
            sample_seconds = time.perf_counter() - started
            context.log.info("Evaluating: per-table suites, referential integrity, multi-table quality")
            site = synthpipe_data_docs.site(group.name, context.run.run_id)
            suite, user = group_suites(group, read, sampled, fitted.table_metadata, site)
            docs_uri = tracker.log_folder(fitted.mlflow_run_id, str(site), "data_docs", ignore=("*.gif",)) if site.exists() else None
            for name in {name for name, *_ in user}:
                log_user_suites(tracker, fitted.mlflow_run_id, [(s, p, r) for n, s, p, r in user if n == name], prefix=f"{name}.")
            problems = integrity_problems(sampled, primary_keys(synthesizer.get_metadata()), foreign_keys_of(synthesizer.get_metadata()))
            score, diagnostic, properties = group_quality(read, sampled, fitted.table_metadata)
            context.log.info("Measuring privacy and utility against the held-out child rows")
            gates, gate_metrics, privacy = privacy_and_utility(group, read, sampled, fitted.table_metadata, seed)
            reports = _reports(context, group, read, sampled, fitted.table_metadata, privacy, fitted, tracker, seed)
            results = [
                suite_check_result(CHECK_EXPECTATIONS, suite),
                *(suite_check_result(user_check_name("suite", s.name, name), r, docs_uri) for name, s, _, r in user),
                integrity_result(problems),
                quality_result(group, score, diagnostic, properties),
                *gates,
                value_leaks_result(group, read, sampled, fitted.table_metadata),
            ]
            checks = {r.check_name: r.passed for r in results if r.severity == dg.AssetCheckSeverity.ERROR}
            tracker.log_params(fitted.mlflow_run_id, {"seed": seed, "quality_threshold": group.quality_threshold})
            tracker.log_metrics(
                fitted.mlflow_run_id,
                {"sample_seconds": sample_seconds, "quality_score": score, "diagnostic_score": diagnostic,
                 "integrity_problems": len(problems), "expectations_failed": len(suite.failures),
                 **{f"rows.{n}": len(f) for n, f in sampled.items()}, **gate_metrics},
            )
        except BaseException:
            end_run_quietly(tracker, fitted.mlflow_run_id)
            raise
        block_run(context, tracker, fitted, checks)
        return dg.MaterializeResult(
            value=GroupCandidate(sampled, seed, fitted, checks, score, read.schemas),
            metadata={
                "dagster/row_count": sum(len(f) for f in sampled.values()),
                **{f"{keys.PREFIX}rows/{n}": len(f) for n, f in sampled.items()},
                keys.SEED: seed,
                keys.SAMPLE_SECONDS: dg.FloatMetadataValue(round(sample_seconds, 3)),
                keys.QUALITY_SCORE: dg.FloatMetadataValue(round(score, 4)),
                **{f"{keys.REPORT}/{name}": dg.MetadataValue.url(link) for name, link in reports.items()},
            },
            check_results=results,
        )

    return synthetic


# --- published ------------------------------------------------------------------------------------


def _published_asset(group: GroupConfig, specs: list[dg.AssetSpec], synthetic_key: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.multi_asset(specs=specs, name=f"published__{group.name}", ins={"candidate": dg.AssetIn(synthetic_key)})
    def published(
        context: dg.AssetExecutionContext,
        candidate: GroupCandidate,
        synthpipe_snapshots: DeltaSnapshotStore,
        synthpipe_mlflow: MlflowTracker,
    ):
        failed = [name for name, ok in candidate.checks.items() if not ok]
        if failed:
            raise SynthpipeError(f"Group {group.name!r}: the candidate failed blocking checks {failed}; refusing to publish it.")
        model = candidate.model
        commit = {
            **commit_metadata(context, model, candidate.seed, candidate.quality, candidate.checks),
            keys.GROUP: group.name,
            keys.SCALE: group.scale,
        }
        per_table = {name: {keys.ROWS: len(data), keys.ROW_HASH: fingerprint(data)} for name, data in candidate.tables.items()}
        versions = synthpipe_snapshots.publish_group(group.name, candidate.tables, commit, per_table, candidate.schemas)
        context.log.info(f"Published group {group.name!r}: {versions}")
        synthpipe_mlflow.set_alias(model.model_name, "champion", model.model_version)
        synthpipe_mlflow.set_tags(model.mlflow_run_id, {f"{keys.SNAPSHOT_VERSION}/{n}": v for n, v in versions.items()})
        synthpipe_mlflow.end_run(model.mlflow_run_id, "FINISHED")
        for spec in specs:
            name = spec.key.path[-1]
            yield dg.MaterializeResult(
                asset_key=spec.key,
                metadata={
                    keys.SNAPSHOT_VERSION: versions[name],
                    keys.SNAPSHOT_URI: dg.MetadataValue.path(synthpipe_snapshots.table_uri(f"{group.name}/{name}")),
                    "dagster/row_count": len(candidate.tables[name]),
                    keys.SEED: candidate.seed,
                    keys.MODEL_VERSION: model.model_version,
                },
            )

    return published
