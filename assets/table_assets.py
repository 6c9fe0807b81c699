"""The asset factory: four assets and their checks for one configured table.

source/<t> ──► synthesizer/<t> ──► synthetic/<t> (+ blocking checks) ──► published/<t>

The assets do no I/O of their own: sources, MLflow and the snapshot store are resources. Their
checks are `synthpipe.assets.table_checks` (gates, sequences) and `synthpipe.assets.suite_checks` (user suites).
"""

import dataclasses
import math
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from synthpipe.assets.auto import choose_synthesizer
from synthpipe.assets.common import (
    asset_args,
    block_run,
    claim_model_run,
    commit_metadata,
    drop_excluded,
    end_run_quietly,
    fitted_metadata,
    log_training_end,
    progress_logger,
    register_candidate,
    start_model_run,
    training_figures,
)
from synthpipe.assets.evaluation import evaluate_quality
from synthpipe.assets.gates import gate_result
from synthpipe.assets.leaks import evaluate_value_leaks
from synthpipe.assets.inspection import (
    PersonalHint,
    check_source_rows,
    free_text_columns,
    hint_table,
    infinite_columns,
    looks_personal,
    name_clashes,
    pii_line,
    refuse,
)
from synthpipe.assets.privacy import evaluate_privacy
from synthpipe.assets.records import Candidate, FittedModel, StagedSample
from synthpipe.assets.report import build_report
from synthpipe.assets.stages import (
    SourceSplit,
    column_schema,
    combine_fingerprint,
    content_probe,
    fingerprint,
    row_hashes,
    split_sequences,
    split_source,
)
from synthpipe.assets.suite_checks import log_user_suites, run_table_guards, suite_check_result, user_check_name, user_suite_results, user_suite_specs
from synthpipe.assets.table_checks import (
    CHECK_EXPECTATIONS,
    CHECK_UTILITY,
    check_specs,
    gate_results,
    sequence_results,
)
from synthpipe.assets.translator import STAGES, StageData, SynthpipeTranslator
from synthpipe.assets.utility import evaluate_utility
from synthpipe.expectations.profile import derive_suite
from synthpipe.expectations.runner import SuiteResult
from synthpipe.expectations.suites import missing_columns
from synthpipe import metadata_keys as keys
from synthpipe.config import TableConfig
from synthpipe.errors import SynthpipeError, closest
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.published import PublishedTable
from synthpipe.resources.snapshots import DeltaSnapshotStore, StagedWriter
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.synthesizers import (
    build_synthesizer,
    check_modelable,
    detect_metadata,
    fit_synthesizer,
    chunk_plan,
    sample_chunks,
    protection_report,
    sample_sequences,
)
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["build_table_assets", "fit_and_register", "publish_candidate", "sample_candidate", "stage_chunks", "train_downstream"]


def build_table_assets(
    table: TableConfig,
    translator: SynthpipeTranslator | None = None,
    source_description: str = "the source",
    source_kind: str = "duckdb",
) -> list[dg.AssetsDefinition]:
    """Builds the source, synthesizer, synthetic and published assets of one table."""
    translator = translator or SynthpipeTranslator()
    specs = {stage: translator.get_asset_spec(StageData(table, stage, source_description, source_kind=source_kind)) for stage in STAGES}
    assets = [
        _source_asset(table, specs["source"]),
        _synthesizer_asset(table, specs["synthesizer"], specs["source"].key),
        _synthetic_asset(table, specs["synthetic"], specs["source"].key, specs["synthesizer"].key),
        _published_asset(table, specs["published"], specs["synthetic"].key),
    ]
    if table.target:
        downstream = translator.get_asset_spec(StageData(table, "downstream", source_description, source_kind=source_kind))
        assets.append(_downstream_asset(table, downstream, specs["source"].key, specs["published"].key))
    return assets


# --- source -------------------------------------------------------------------------------


def _source_asset(table: TableConfig, spec: dg.AssetSpec) -> dg.AssetsDefinition:
    @dg.asset(**asset_args(spec), check_specs=user_suite_specs("guard", table.suites, spec.key))
    def source(
        context: dg.AssetExecutionContext, synthpipe_source: SourceResource, synthpipe_data_docs: DataDocsFolder
    ):  # no return annotation: with check specs, Dagster would read it as a tuple of outputs
        context.log.info(f"Reading {table.source_name!r} from {synthpipe_source.describe()}")
        read = synthpipe_source.read_table(table.source_name, query=table.query, limit=table.row_limit)
        arrow = drop_excluded(table, read)
        check_modelable(table.name, arrow.schema)
        problems = missing_columns(table.suites, arrow.column_names, table.name)
        if problems:
            raise SynthpipeError("\n".join(problems))
        refuse(
            table.name,
            check_source_rows(table.name, arrow.num_rows, table.holdout_fraction)
            + name_clashes(arrow.schema)
            + infinite_columns(arrow)
            + _sequence_columns(table, arrow),
        )
        guards = run_table_guards(context, table, arrow, synthpipe_data_docs)
        if table.sequence is not None:
            split = split_sequences(arrow, table.holdout_fraction, table.split_seed, table.sequence.entity_key)
        else:
            split = split_source(arrow, table.holdout_fraction, table.split_seed, table.fit_rows, table.evaluation_rows)
        probe = ""
        if table.refresh == "on_change":  # what the change sensor compares with on its next tick
            probe = synthpipe_source.probe(table.source_name, query=table.query, limit=table.row_limit) or content_probe(split.fingerprint)
            split = dataclasses.replace(split, probe=probe)
        hints = inspect_columns(context, table, split)
        schema = dg.TableSchema(columns=[dg.TableColumn(name, type_) for name, type_ in column_schema(arrow)])
        del arrow, read
        pa.default_memory_pool().release_unused()  # the whole read is no longer needed; give it back
        return dg.MaterializeResult(
            value=split,
            metadata={
                "dagster/row_count": split.source_rows,
                "dagster/column_schema": schema,
                keys.SOURCE_FINGERPRINT: split.fingerprint,
                keys.TRAINING_ROWS: split.training_rows,
                keys.HOLDOUT_ROWS: split.holdout_rows,
                keys.FIT_ROWS: len(split.fit),
                keys.ROW_LIMIT: table.row_limit if table.row_limit is not None else "none",
                **({keys.SOURCE_PROBE: probe} if probe else {}),
                keys.LOOKS_PERSONAL: dg.MetadataValue.md(hint_table(hints)) if hints else dg.MetadataValue.text("none"),
            },
            check_results=guards,
        )

    return source


def _sequence_columns(table: TableConfig, arrow: pa.Table) -> list[str]:
    if table.sequence is None:
        return []
    named = (table.sequence.entity_key, table.sequence.order_by, *table.sequence.context_columns)
    missing = [c for c in named if c not in arrow.column_names]
    if not missing:
        return []
    hints = "".join(closest(c, arrow.column_names) for c in missing)
    return [f"`sequence` names columns the source does not have: {missing}.{hints} Columns: {', '.join(arrow.column_names)}."]


def inspect_columns(context: dg.AssetExecutionContext, table: TableConfig, split: SourceSplit) -> list[PersonalHint]:
    """Refuses undeclared free text; warns about columns that look personal (never replaced:
    only `pii` columns are) with the `pii:` line that would declare them. Returns the hints."""
    guessed: list[str] = []
    sequence = (table.sequence.entity_key, table.sequence.order_by) if table.sequence else None
    metadata = detect_metadata(table.name, split.fit, table.metadata_overrides, sequence, table.pii, guessed)
    sdtypes = {c: spec.get("sdtype", "") for c, spec in metadata.tables[table.name].columns.items()}
    declared = set(table.pii) | set(table.metadata_overrides)
    refuse(table.name, free_text_columns(table.name, split.fit, sdtypes, table.rare_value_min_count, declared))
    hints = looks_personal(split.fit, declared, guessed)
    if hints:
        listed = "; ".join(f"{h.column!r}: {h.reason}" for h in hints)
        context.log.warning(
            f"Table {table.name!r}: columns that look personal are learned from their real values, as configured: {listed}. "
            f"synthpipe replaces only declared columns; to generate these fresh instead, add to the table: {pii_line(hints)}"
        )
    return hints


# --- synthesizer ----------------------------------------------------------------------------


def fit_and_register(
    context: dg.AssetExecutionContext, table: TableConfig, split: SourceSplit, tracker: MlflowTracker
) -> FittedModel:
    """Fits the table's synthesizer, logs the MLflow run and registers a `candidate` version."""
    run_id = start_model_run(context, tracker, table.name, split.fingerprint)
    try:
        champion = reusable_champion(table, split, tracker)
        if champion is not None:
            return reuse_model(context, table, split, tracker, run_id, champion)
        fit_data = split.fit
        sequence = (table.sequence.entity_key, table.sequence.order_by) if table.sequence else None
        metadata = detect_metadata(table.name, fit_data, table.metadata_overrides, sequence, table.pii)
        context_columns = table.sequence.context_columns if table.sequence else ()
        selection: list[dict[str, object]] = []
        if table.backend == "auto":
            winner, ranked = choose_synthesizer(context.log, table, split, metadata, tracker, run_id)
            synthesizer, fit_seconds, backend = winner.synthesizer, winner.fit_seconds, winner.name
            selection = [c.summary() for c in ranked]
            tracker.log_params(run_id, {"auto.winner": backend, "auto.candidates": ",".join(c.name for c in ranked)})
            tracker.log_dict(run_id, selection, "auto/candidates.json")
            context.log.info(f"auto: {backend} wins: {winner.summary()}")
        else:
            backend = table.backend
            synthesizer = build_synthesizer(backend, table.synthesizer_params, metadata, table.name, context_columns, table.enforced_rules)
            if table.enforced_rules:
                context.log.info(f"Enforcing rules while fitting and sampling: {', '.join(r.describe() for r in table.enforced_rules)}")
            context.log.info(f"Fitting {backend} on {len(fit_data)} rows x {fit_data.shape[1]} columns")
            fit_seconds = fit_synthesizer(
                synthesizer, table.name, fit_data, progress_logger(context.log, backend), table.rare_value_min_count, table.split_seed,
                table.enforced_rules,
            )
            log_training_end(context.log, backend, synthesizer)
        context.log.info(f"Fitted in {fit_seconds:.1f} s; logging to MLflow run {run_id}")
        protected = protection_report(synthesizer)
        if protected is not None:
            context.log.info(f"Rare values kept out of the model (seen in fewer than {table.rare_value_min_count} rows): {protected.describe()}")
        params = {**_fit_params(table, split, synthesizer), "fit_rows": len(fit_data), "rare_value_min_count": table.rare_value_min_count}
        tracker.log_params(run_id, params)
        if protected is not None:  # column names may hold characters MLflow keys may not: an artifact
            tracker.log_dict(run_id, {"min_count": table.rare_value_min_count, "replaced": protected.replaced, "clipped": protected.clipped}, "protection.json")
        training = {"fit_seconds": fit_seconds, "training_rows": split.training_rows, "fit_rows": len(fit_data)}
        tracker.log_metrics(run_id, {**training, **training_figures(synthesizer)})
        tracker.log_dict(run_id, metadata.to_dict(), "sdv_metadata.json")
        fit_tags = {keys.SOURCE_FINGERPRINT: split.fingerprint, keys.FIT_FINGERPRINT: table.fit_fingerprint, keys.SYNTHESIZER: backend}
        model_uri, version = register_candidate(tracker, run_id, synthesizer, table.registered_model_name, table.name, fit_tags)
    except BaseException:
        end_run_quietly(tracker, run_id)
        raise
    return FittedModel(
        table=table.name,
        synthesizer=backend,
        mlflow_run_id=run_id,
        model_name=table.registered_model_name,
        model_version=version,
        model_uri=model_uri,
        fit_seconds=fit_seconds,
        training_rows=len(fit_data),
        table_metadata=metadata.get_table_metadata(table.name).to_dict(),
        source_fingerprint=split.fingerprint,
        selection=selection,
    )


def reusable_champion(table: TableConfig, split: SourceSplit, tracker: MlflowTracker) -> Any | None:
    """The `champion` model version when it was fitted on this very source content with the
    table's current fit settings; None when anything differs (or there is no champion yet).
    """
    champion = tracker.model_version(table.registered_model_name, "champion")
    if champion is None:
        return None
    tags = champion.tags or {}
    same_source = tags.get(keys.SOURCE_FINGERPRINT) == split.fingerprint
    return champion if same_source and tags.get(keys.FIT_FINGERPRINT) == table.fit_fingerprint else None


def reuse_model(
    context: dg.AssetExecutionContext, table: TableConfig, split: SourceSplit, tracker: MlflowTracker, run_id: str, champion: Any
) -> FittedModel:
    """Skips the fit: tonight samples the champion again with a new seed, in a new MLflow run
    that points at the run which fitted it.
    """
    from sdv.metadata import Metadata

    version = str(champion.version)
    context.log.info(
        f"Source and fit settings unchanged since {table.registered_model_name} v{version} was fitted "
        f"(fingerprint {split.fingerprint[:12]}); reusing it, no refit"
    )
    metadata = Metadata.load_from_dict(tracker.load_dict(champion.run_id, "sdv_metadata.json"))
    tracker.set_tags(run_id, {keys.MODEL_REUSED: "true", keys.FITTED_BY_RUN: champion.run_id})
    tracker.log_params(
        run_id,
        {"table": table.name, "synthesizer": champion.tags.get(keys.SYNTHESIZER, table.backend), "reused_model_version": version,
         "source_fingerprint": split.fingerprint, "training_rows": split.training_rows, "holdout_rows": split.holdout_rows},
    )
    tracker.set_alias(table.registered_model_name, "candidate", version)
    return FittedModel(
        table=table.name,
        synthesizer=champion.tags.get(keys.SYNTHESIZER, table.backend),
        mlflow_run_id=run_id,
        model_name=table.registered_model_name,
        model_version=version,
        model_uri=champion.source,
        fit_seconds=0.0,
        training_rows=len(split.fit),
        table_metadata=metadata.get_table_metadata(table.name).to_dict(),
        source_fingerprint=split.fingerprint,
        reused_from=champion.run_id,
    )


def _fit_params(table: TableConfig, split: SourceSplit, synthesizer: object) -> dict[str, object]:
    params: dict[str, object] = {
        "table": table.name,
        "synthesizer": table.backend,
        "training_rows": split.training_rows,
        "holdout_rows": split.holdout_rows,
        "columns": split.fit.shape[1],
        "source_fingerprint": split.fingerprint,
        "holdout_fraction": table.holdout_fraction,
        "split_seed": table.split_seed,
        "row_limit": table.row_limit,
        "query": table.query,
    }
    for name, value in synthesizer.get_parameters().items():  # type: ignore[attr-defined]
        if name != "metadata":
            params[f"synthesizer.{name}"] = value
    return params


def _selection_metadata(fitted: FittedModel) -> dict[str, object]:
    if not fitted.selection:
        return {}
    columns = list(fitted.selection[0])
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    rows += ["| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in c.values()) + " |" for c in fitted.selection]
    return {keys.AUTO_CANDIDATES: dg.MetadataValue.md("\n".join(rows)), keys.AUTO_WINNER: fitted.synthesizer}


def _synthesizer_asset(table: TableConfig, spec: dg.AssetSpec, source_key: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.asset(**asset_args(spec), ins={"split": dg.AssetIn(source_key)})
    def synthesizer(
        context: dg.AssetExecutionContext, split: SourceSplit, synthpipe_mlflow: MlflowTracker
    ) -> dg.MaterializeResult[FittedModel]:
        fitted = fit_and_register(context, table, split, synthpipe_mlflow)
        return dg.MaterializeResult(
            value=fitted,
            metadata={
                **fitted_metadata(fitted),
                **_selection_metadata(fitted),
                keys.FIT_FINGERPRINT: table.fit_fingerprint,
                keys.CONFIG_FINGERPRINT: table.config_fingerprint,
                **({keys.SOURCE_PROBE: split.probe} if split.probe else {}),
            },
        )

    return synthesizer


# --- synthetic + checks ------------------------------------------------------------------------


def _utility_results(table: TableConfig, split: SourceSplit, data: pd.DataFrame, seed: int) -> tuple[list[dg.AssetCheckResult], dict[str, float]]:
    if not table.target:
        return [], {}
    if table.target not in split.train.columns:
        raise SynthpipeError(
            f"Table {table.name!r}: `target` {table.target!r} is not a column of the source.{closest(table.target, split.train.columns)} "
            f"Columns: {', '.join(split.train.columns)}."
        )
    utility = _table_utility(table, split, data, seed)
    metadata = {
        keys.UTILITY_METRIC: utility.metric,
        keys.UTILITY_REAL_SCORE: dg.FloatMetadataValue(round(utility.real_score, 4)),
        keys.UTILITY_SYNTHETIC_SCORE: dg.FloatMetadataValue(round(utility.synthetic_score, 4)),
    }
    result = gate_result(CHECK_UTILITY, utility.ratio, table.min_utility_ratio, table.severity(CHECK_UTILITY), metadata)
    return [result], utility.as_metrics()


def _table_utility(table: TableConfig, split: SourceSplit, data: pd.DataFrame, seed: int = 0) -> Any:
    """Train on synthetic, test on real; generated columns are no feature to learn from."""
    assert table.target is not None
    drop = [c for c in table.generated_columns if c != table.target]
    return evaluate_utility(*(f.drop(columns=drop) for f in (split.train, data, split.holdout)), table.target, seed)


def table_columns(metadata: dict[str, Any], table: str) -> dict[str, Any]:
    """The column metadata of one table from SDV's metadata dictionary."""
    return (metadata["tables"][table] if "tables" in metadata else metadata)["columns"]


def sample_candidate(
    context: dg.AssetExecutionContext,
    table: TableConfig,
    split: SourceSplit,
    fitted: FittedModel,
    tracker: MlflowTracker,
    store: DeltaSnapshotStore,
) -> StagedSample:
    """Loads the registered model version and samples the configured rows with a recorded seed,
    chunk by chunk in `table.workers` processes, each chunk written to staging as it arrives
    (`stage_chunks`).
    """
    synthesizer = tracker.load_synthesizer(fitted.model_name, fitted.model_version)
    seed = table.seed if table.seed is not None else secrets.randbelow(2**31 - 1)
    writer = store.stage(table.name, context.run.run_id, schema=split.schema)
    started = time.perf_counter()
    if table.sequence is not None:
        entity = table.sequence.entity_key
        num_sequences = table.num_sequences or pd.concat([split.train[entity], split.holdout[entity]]).nunique()
        context.log.info(f"Sampling {num_sequences} sequences from {fitted.model_name} v{fitted.model_version} with seed {seed}")
        data = sample_sequences(synthesizer, int(num_sequences), seed)
        writer.write(data)
        return StagedSample(str(writer.folder), len(data), fingerprint(data), data, seed, 0, time.perf_counter() - started)
    num_rows = table.num_rows or split.source_rows
    workers = table.workers
    context.log.info(
        f"Sampling {num_rows} rows from {fitted.model_name} v{fitted.model_version} with seed {seed}: "
        f"chunks of {table.sample_chunk_rows}, {workers} worker(s)"
    )

    def progress(done: int) -> None:
        context.log.info(f"Sampled {done}/{num_rows} rows ({done / num_rows:.0%}) in {time.perf_counter() - started:.1f} s")

    chunks = sample_chunks(synthesizer, num_rows, seed, table.sample_chunk_rows, workers)
    row_hash, sample = stage_chunks(writer, chunks, num_rows, table.evaluation_rows, progress)
    return StagedSample(str(writer.folder), writer.rows, row_hash, sample, seed, table.sample_chunk_rows, time.perf_counter() - started)


def stage_chunks(
    writer: StagedWriter,
    chunks: Iterable[pd.DataFrame],
    num_rows: int,
    evaluation_rows: int,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[str, pd.DataFrame]:
    """Writes each chunk to staging as it comes; returns the row hash of all of them and the
    evaluation sample: the first rows of every chunk in proportion (chunks are independent draws,
    so this is a random sample of at most about `evaluation_rows`).
    """
    share = min(1.0, evaluation_rows / num_rows)
    hashes, kept, dtypes = [], [], None
    for chunk in chunks:
        writer.write(chunk)
        hashes.append(row_hashes(chunk))
        kept.append(chunk.head(math.ceil(len(chunk) * share)).copy())  # a copy: a view would pin the whole chunk
        dtypes = chunk.dtypes if dtypes is None else dtypes
        if on_chunk:
            on_chunk(writer.rows)
    return combine_fingerprint(dtypes, np.concatenate(hashes)), pd.concat(kept, ignore_index=True)


def _synthetic_asset(
    table: TableConfig, spec: dg.AssetSpec, source_key: dg.AssetKey, synthesizer_key: dg.AssetKey
) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_args(spec),
        ins={"split": dg.AssetIn(source_key), "fitted": dg.AssetIn(synthesizer_key)},
        check_specs=check_specs(table, spec.key),
    )
    def synthetic(
        context: dg.AssetExecutionContext,
        split: SourceSplit,
        fitted: FittedModel,
        synthpipe_mlflow: MlflowTracker,
        synthpipe_snapshots: DeltaSnapshotStore,
        synthpipe_data_docs: DataDocsFolder,
    ):  # no return annotation: with check specs, Dagster would read it as a tuple of outputs
        tracker = synthpipe_mlflow
        fitted = claim_model_run(context, tracker, fitted)
        try:
            staged = sample_candidate(context, table, split, fitted, tracker, synthpipe_snapshots)
            data, seed, sample_seconds = staged.sample, staged.seed, staged.sample_seconds
            train, holdout = split.train, split.holdout
            context.log.info(
                f"Evaluating the candidate on {len(data)} of its {staged.rows} rows against {len(train)} training and "
                f"{len(holdout)} holdout rows: expectation suite and SDMetrics quality report"
            )
            started = time.perf_counter()
            lenient = [table.sequence.order_by] if table.sequence else []
            # IDs are new by design (numbered past the source's range), like personal columns
            ids = [c for c, spec in table_columns(fitted.table_metadata, table.name).items() if spec.get("sdtype") == "id"]
            generated = list(dict.fromkeys([*table.generated_columns, *ids]))
            site = synthpipe_data_docs.site(table.name, context.run.run_id)
            derived = derive_suite(split.profile, None, generated, lenient)
            context.log.info(f"Validating the candidate: {len(derived)} derived expectations and {len(table.suites)} user suite(s)")
            suite, user_results, ran = user_suite_results(data, table.name, table.suites, split.fit, derived, site)
            context.log.info(f"Validated: {len(suite.failures)} of {suite.evaluated} derived expectations failed")
            quality = evaluate_quality(train, data, fitted.table_metadata, progress=context.log.info)
            context.log.info("Measuring privacy: exact copies and distance to closest record")
            privacy = evaluate_privacy(data, train, holdout, table_columns(fitted.table_metadata, table.name), seed)
            leaks = evaluate_value_leaks(data, split.fit, table_columns(fitted.table_metadata, table.name), table.rare_value_min_count)
            context.log.info("Measuring utility: train on synthetic, test on real" if table.target else "No `target`: utility not measured")
            utility_results, utility_metrics = _utility_results(table, split, data, seed)
            # GX's site carries 3.3 MB of animated help images the pages do not need.
            docs_uri = tracker.log_folder(fitted.mlflow_run_id, str(site), "data_docs", ignore=("*.gif",))
            context.log.info(f"Data Docs: {site / 'index.html'} (MLflow: {docs_uri})")
            overridden = len(derived) - len(ran)
            derived_extra = {keys.OVERRIDDEN_BY_USER_SUITES: overridden} if overridden else {}
            results = [
                suite_check_result(CHECK_EXPECTATIONS, suite, docs_uri, derived_extra),
                *(suite_check_result(user_check_name("suite", s.name), r, docs_uri) for s, _, r in user_results),
                *gate_results(table, quality, privacy, leaks),
                *utility_results,
                *sequence_results(table, split, data),
            ]
            evaluation_seconds = time.perf_counter() - started
            # Only checks with ERROR severity block; warnings are reported and published anyway.
            checks = {r.check_name: r.passed for r in results if r.severity == dg.AssetCheckSeverity.ERROR}
            _log_evaluation(tracker, fitted, table, seed, staged.rows, sample_seconds, evaluation_seconds, suite, quality)
            tracker.log_metrics(fitted.mlflow_run_id, {**privacy.as_metrics(), "value_leak_share": leaks.share, **utility_metrics})
            label = f"candidate of Dagster run {context.run.run_id[:8]}, model v{fitted.model_version}, seed {seed}"
            report = build_report(table.name, label, split.train, data, quality, privacy)
            report_uri = tracker.log_text(fitted.mlflow_run_id, report, f"report/{table.name}.html")
            context.log.info(f"Report: {report_uri}")
            tracker.log_dict(fitted.mlflow_run_id, [s.__dict__ for s in ran], "expectations/derived_suite.json")
            log_user_suites(tracker, fitted.mlflow_run_id, user_results)
            if staged.chunk_rows:  # each chunk's own seed, derived from the recorded seed
                plan = chunk_plan(staged.rows, seed, staged.chunk_rows)
                tracker.log_dict(fitted.mlflow_run_id, [{"rows": r, "seed": s, "first_row": f} for r, s, f in plan], "sampling/chunks.json")
        except BaseException:
            end_run_quietly(tracker, fitted.mlflow_run_id)
            raise
        block_run(context, tracker, fitted, checks)
        candidate = Candidate(staged, fitted, quality.score, checks)
        return dg.MaterializeResult(
            value=candidate,
            metadata={
                "dagster/row_count": staged.rows,
                keys.EVALUATION_ROWS: len(data),
                keys.SAMPLE_ROWS_PER_SECOND: dg.FloatMetadataValue(round(staged.rows / max(sample_seconds, 1e-9), 1)),
                keys.SEED: seed,
                keys.SAMPLE_SECONDS: dg.FloatMetadataValue(round(sample_seconds, 3)),
                keys.EVALUATION_SECONDS: dg.FloatMetadataValue(round(evaluation_seconds, 3)),
                keys.QUALITY_SCORE: dg.FloatMetadataValue(round(quality.score, 4)),
                keys.EXACT_COPY_SHARE: dg.FloatMetadataValue(round(privacy.exact_copy_share, 6)),
                keys.DCR_CLOSER_SHARE: dg.FloatMetadataValue(round(privacy.dcr_closer_to_training_share, 4)),
                keys.NNDR_MEDIAN: dg.FloatMetadataValue(round(privacy.nndr_median, 4)),
                keys.REPORT: dg.MetadataValue.url(report_uri),
                keys.MODEL_VERSION: fitted.model_version,
            },
            check_results=results,
        )

    return synthetic


def _log_evaluation(
    tracker: MlflowTracker,
    fitted: FittedModel,
    table: TableConfig,
    seed: int,
    rows: int,
    sample_seconds: float,
    evaluation_seconds: float,
    suite: SuiteResult,
    quality: object,
) -> None:
    run_id = fitted.mlflow_run_id
    tracker.log_params(run_id, {"seed": seed, "num_rows": rows, "quality_threshold": table.quality_threshold})
    metrics = {
        "sample_seconds": sample_seconds,
        "sample_rows_per_second": rows / max(sample_seconds, 1e-9),
        "evaluation_seconds": evaluation_seconds,
        "quality_score": quality.score,  # type: ignore[attr-defined]
        "expectations_evaluated": suite.evaluated,
        "expectations_failed": len(suite.failures),
    }
    metrics["diagnostic_score"] = quality.diagnostic_score  # type: ignore[attr-defined]
    for name, value in {**quality.properties, **quality.diagnostic_properties}.items():  # type: ignore[attr-defined]
        metrics[name.lower().replace(" ", "_")] = value
    for column, value in quality.column_scores.items():  # type: ignore[attr-defined]
        metrics[f"column_shape.{_metric_name(column)}"] = value
    tracker.log_metrics(run_id, metrics)


def _metric_name(column: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-. /" else "_" for ch in column)


# --- published ---------------------------------------------------------------------------------


def _published_asset(table: TableConfig, spec: dg.AssetSpec, synthetic_key: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.asset(**asset_args(spec), ins={"candidate": dg.AssetIn(synthetic_key)})
    def published(
        context: dg.AssetExecutionContext,
        candidate: Candidate,
        synthpipe_snapshots: DeltaSnapshotStore,
        synthpipe_mlflow: MlflowTracker,
    ) -> dg.MaterializeResult:
        failed = [name for name, ok in candidate.checks.items() if not ok]
        if failed:  # reached only when someone materializes this asset alone, past its checks
            raise SynthpipeError(
                f"Table {table.name!r}: the candidate failed blocking checks {failed}; refusing to publish it. "
                "Run the refresh job again, or lower the threshold in the configuration if it is too strict."
            )
        return publish_candidate(context, table, candidate, synthpipe_snapshots, synthpipe_mlflow)

    return published


def publish_candidate(
    context: dg.AssetExecutionContext,
    table: TableConfig,
    candidate: Candidate,
    store: DeltaSnapshotStore,
    tracker: MlflowTracker,
) -> dg.MaterializeResult:
    """Commits the candidate as the next Delta version and moves the `champion` alias to its model."""
    model, staged = candidate.model, candidate.staged
    commit = {
        **commit_metadata(context, model, staged.seed, candidate.quality_score, candidate.checks),
        keys.ROWS: staged.rows,
        keys.ROW_HASH: staged.row_hash,
        keys.FIT_ROWS: model.training_rows,
        keys.ROW_LIMIT: table.row_limit if table.row_limit is not None else "none",
        keys.SAMPLE_CHUNK_ROWS: staged.chunk_rows,
    }
    version = store.publish_staged(table.name, staged.folder, commit)
    uri = store.table_uri(table.name)
    context.log.info(f"Published {table.name!r} version {version} ({staged.rows} rows) to {uri}")
    tracker.set_alias(model.model_name, "champion", model.model_version)
    tracker.set_tags(model.mlflow_run_id, {keys.SNAPSHOT_VERSION: version, keys.SNAPSHOT_URI: uri})
    tracker.end_run(model.mlflow_run_id, "FINISHED")
    return dg.MaterializeResult(
        metadata={
            keys.SNAPSHOT_VERSION: version,
            keys.SNAPSHOT_URI: dg.MetadataValue.path(uri),
            "dagster/row_count": staged.rows,
            keys.SEED: staged.seed,
            keys.QUALITY_SCORE: dg.FloatMetadataValue(round(candidate.quality_score, 4)),
            keys.MODEL_NAME: model.model_name,
            keys.MODEL_VERSION: model.model_version,
            keys.MLFLOW_RUN_ID: model.mlflow_run_id,
        }
    )


def table_asset_keys(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [key for definition in assets for key in definition.keys]


# --- downstream training (the example consumer of a published version) ---------------------------------


def train_downstream(
    context: dg.AssetExecutionContext, table: TableConfig, split: SourceSplit, published: PublishedTable, tracker: MlflowTracker
) -> dg.MaterializeResult:
    """Trains on a published version, scores on real held-out rows, logs the lineage."""
    assert table.target is not None
    data, version = published.data, published.version
    context.log.info(f"Training a model for {table.target!r} on {table.name!r} version {version} ({len(data)} rows)")
    utility = _table_utility(table, split, data)
    run_id = tracker.start_run(
        f"{table.name}-downstream",
        tags={keys.TABLE: table.name, keys.DAGSTER_RUN_ID: context.run.run_id, keys.SNAPSHOT_VERSION: version, keys.STAGE: "downstream"},
    )
    tracker.log_dataset(run_id, data, f"synthpipe-{table.name}@v{version}", f"{published.uri}@v{version}", "training", table.target)
    tracker.log_params(run_id, {"target": table.target, "task": utility.task, "snapshot_version": version, "model": "HistGradientBoosting"})
    tracker.log_metrics(run_id, utility.as_metrics())
    tracker.end_run(run_id)
    return dg.MaterializeResult(
        metadata={
            **published.metadata(),
            keys.UTILITY_METRIC: utility.metric,
            keys.UTILITY_REAL_SCORE: dg.FloatMetadataValue(round(utility.real_score, 4)),
            keys.UTILITY_SYNTHETIC_SCORE: dg.FloatMetadataValue(round(utility.synthetic_score, 4)),
            keys.UTILITY_RATIO: dg.FloatMetadataValue(round(utility.ratio, 4)),
            keys.MLFLOW_RUN_ID: run_id,
        }
    )


def _downstream_asset(
    table: TableConfig, spec: dg.AssetSpec, source_key: dg.AssetKey, published_key: dg.AssetKey
) -> dg.AssetsDefinition:
    # The example of feeding model training from a published version: the loader hands over
    # the latest version (pin one with AssetIn metadata {keys.VERSION: N}).
    @dg.asset(
        **asset_args(spec),
        ins={"split": dg.AssetIn(source_key), "published": dg.AssetIn(published_key, input_manager_key="synthpipe_published")},
    )
    def downstream(
        context: dg.AssetExecutionContext, split: SourceSplit, published: PublishedTable, synthpipe_mlflow: MlflowTracker
    ) -> dg.MaterializeResult:
        return train_downstream(context, table, split, published, synthpipe_mlflow)

    return downstream
