"""The single-table kind: one source table, one SDV single-table or TabularARGN model (or the
`auto` winner), sampled in chunks straight to staging, published as one Delta table.

Sequence tables specialise it (`assets.kinds.sequence`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from synthpipe import metadata_keys as keys
from synthpipe.assets.auto import choose_synthesizer
from synthpipe.assets.checks.steering import steering_measures, steering_specs
from synthpipe.assets.conditions import refuse_impossible_conditions
from synthpipe.assets.steering import Tally, fairness_by_engine, sampling_plan, steered_columns, steering_setting
from synthpipe.assets.checks.suites import run_table_guards, user_suite_specs
from synthpipe.assets.checks.table import Measures, attack_table, candidate_results, check_specs, log_evaluation, table_columns
from synthpipe.assets.fit import log_training_end, progress_logger, register_candidate, reusable_champion, training_figures
from synthpipe.assets.inspection import check_source_rows, hint_table, infinite_columns, name_clashes, refuse
from synthpipe.assets.kinds import Evaluation, Published, SourceRead, register_kind
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.records import Candidate, FittedModel, StagedSample
from synthpipe.assets.sample import choose_seed, chunk_sampler, stage_chunks
from synthpipe.assets.source import read_member, refuse_free_text, refuse_missing_suite_columns, warn_looks_personal
from synthpipe.assets.split import SourceSplit, column_schema, split_source
from synthpipe.config import SampleCondition, TableConfig
from synthpipe.errors import SynthesizerError
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.fingerprints import content_probe
from synthpipe.resources.snapshots import DeltaSnapshotStore, StagedWriter
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.synthesizers import (
    build_synthesizer,
    detect_metadata,
    fit_synthesizer,
    protection_report,
    sample_chunks,
    set_fairness,
)
from synthpipe.resources.backends import backend_of
from synthpipe.resources.differential_privacy import (
    privacy_from_tags,
    privacy_metadata,
    privacy_metrics,
    privacy_spent,
    privacy_tags,
    with_privacy,
)
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["SingleTable"]


@dataclasses.dataclass(frozen=True)
class SingleTable:
    """One configured table (`tables:` in the configuration)."""

    config: TableConfig

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def members(self) -> list[str | None]:
        return [None]

    @property
    def has_downstream(self) -> bool:
        return self.config.target is not None

    # --- what a specialised kind changes --------------------------------------------------------

    def sequence_key(self) -> tuple[str, str] | None:
        """(entity key, order column) of a sequence table; None for independent rows."""
        return None

    def context_columns(self) -> tuple[str, ...]:
        return ()

    def refusals(self, arrow: pa.Table) -> list[str]:
        """Problems of the source read beyond those of every table."""
        return []

    def split(self, arrow: pa.Table) -> SourceSplit:
        table = self.config
        return split_source(arrow, table.holdout_fraction, table.split_seed, table.fit_rows, table.evaluation_rows)

    def lenient_columns(self) -> list[str]:
        """Columns whose derived expectations may drift (new values by design, or proportions a
        plan sets)."""
        return steered_columns(self.config) if self.config.steered else []

    # --- checks -----------------------------------------------------------------------------------

    def guard_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return user_suite_specs("guard", self.config.suites, key)

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return [*check_specs(self.config, key), *steering_specs(self.config, key)]

    # --- source -----------------------------------------------------------------------------------

    def read(self, context: dg.AssetExecutionContext, source: SourceResource, docs: DataDocsFolder) -> SourceRead:
        table = self.config
        context.log.info(f"Reading {table.source_name!r} from {source.describe()}")
        arrow = read_member(table, source)
        refuse_missing_suite_columns([(table.name, table.suites, arrow.column_names)])
        refuse(
            table.name,
            check_source_rows(table.name, arrow.num_rows, table.holdout_fraction)
            + name_clashes(arrow.schema)
            + infinite_columns(arrow)
            + self.refusals(arrow),
        )
        guards = run_table_guards(context, table, arrow, docs)
        split = self.split(arrow)
        probe = ""
        if table.refresh == "on_change":  # what the change sensor compares with on its next tick
            probe = source.probe(table.source_name, query=table.query, limit=table.row_limit) or content_probe(split.fingerprint)
            split = dataclasses.replace(split, probe=probe)
        hints = self._inspect(context, split)
        schema = dg.TableSchema(columns=[dg.TableColumn(name, type_) for name, type_ in column_schema(arrow)])
        del arrow
        pa.default_memory_pool().release_unused()  # the whole read is no longer needed; give it back
        metadata = {
            "dagster/row_count": split.source_rows,
            "dagster/column_schema": schema,
            keys.SOURCE_FINGERPRINT: split.fingerprint,
            keys.TRAINING_ROWS: split.training_rows,
            keys.HOLDOUT_ROWS: split.holdout_rows,
            keys.FIT_ROWS: len(split.fit),
            keys.ROW_LIMIT: table.row_limit if table.row_limit is not None else "none",
            **({keys.SOURCE_PROBE: probe} if probe else {}),
            keys.LOOKS_PERSONAL: dg.MetadataValue.md(hint_table(hints)) if hints else dg.MetadataValue.text("none"),
        }
        return SourceRead(split, metadata, guards)

    def _inspect(self, context: dg.AssetExecutionContext, split: SourceSplit) -> list[Any]:
        """Refuses undeclared free text; warns about columns that look personal."""
        table = self.config
        guessed: list[str] = []
        metadata = detect_metadata(table.name, split.fit, table.metadata_overrides, self.sequence_key(), table.pii, guessed)
        sdtypes = {c: spec.get("sdtype", "") for c, spec in metadata.tables[table.name].columns.items()}
        declared = set(table.pii) | set(table.metadata_overrides)
        refuse_free_text(table.name, table.name, split.fit, sdtypes, table.rare_value_min_count, declared)
        return warn_looks_personal(context, table.name, split.fit, declared, guessed)

    # --- fit --------------------------------------------------------------------------------------

    def fit(self, context: dg.AssetExecutionContext, read: SourceSplit, tracker: MlflowTracker, run: ModelRun) -> FittedModel:
        table, split, run_id = self.config, read, run.run_id
        champion = reusable_champion(table.registered_model_name, split.fingerprint, table.fit_fingerprint, tracker)
        if champion is not None:
            return self._reuse(context, split, tracker, run, champion)
        fit_data = split.fit
        metadata = detect_metadata(table.name, fit_data, table.metadata_overrides, self.sequence_key(), table.pii)
        selection: list[dict[str, object]] = []
        if table.backend == "auto":
            winner, ranked = choose_synthesizer(context.log, table, split, metadata, tracker, run_id)
            synthesizer, fit_seconds, backend = winner.synthesizer, winner.fit_seconds, winner.name
            selection = [c.summary() for c in ranked]
            tracker.log_params(run_id, {"auto.winner": backend, "auto.candidates": ",".join(c.name for c in ranked)})
            tracker.log_dict(run_id, selection, "auto/candidates.json")
            context.log.info(f"auto: {backend} wins: {winner.describe()}")
        else:
            backend = table.backend
            params = with_privacy(backend, table.synthesizer_params, table.privacy)
            synthesizer = build_synthesizer(backend, params, metadata, table.name, self.context_columns(), table.enforced_rules)
            if table.privacy is not None:
                context.log.info(f"Fitting with differential privacy: {table.privacy.describe()}")
            if table.enforced_rules:
                context.log.info(f"Enforcing rules while fitting and sampling: {', '.join(r.describe() for r in table.enforced_rules)}")
            context.log.info(f"Fitting {backend} on {len(fit_data)} rows x {fit_data.shape[1]} columns")
            fit_seconds = fit_synthesizer(
                synthesizer, table.name, fit_data, progress_logger(context.log, backend), table.rare_value_min_count, table.split_seed,
                table.enforced_rules,
            )
            log_training_end(context.log, backend, synthesizer, fit_seconds)
        context.log.info(f"Fitted in {fit_seconds:.1f} s; logging to MLflow run {run_id}")
        spent = self._privacy_spent(context, synthesizer, backend)
        protected = protection_report(synthesizer)
        if protected is not None:
            context.log.info(f"Rare values kept out of the model (seen in fewer than {table.rare_value_min_count} rows): {protected.describe()}")
        params = {
            **self._fit_params(split, synthesizer), "fit_rows": len(fit_data), "rare_value_min_count": table.rare_value_min_count,
            **_privacy_params(table),
        }
        tracker.log_params(run_id, params)
        if protected is not None:  # column names may hold characters MLflow keys may not: an artifact
            tracker.log_dict(run_id, {"min_count": table.rare_value_min_count, "replaced": protected.replaced, "clipped": protected.clipped}, "protection.json")
        training = {"fit_seconds": fit_seconds, "training_rows": split.training_rows, "fit_rows": len(fit_data)}
        tracker.log_metrics(run_id, {**training, **training_figures(synthesizer), **privacy_metrics(spent)})
        tracker.log_dict(run_id, metadata.to_dict(), "sdv_metadata.json")
        fit_tags = {
            keys.SOURCE_FINGERPRINT: split.fingerprint, keys.FIT_FINGERPRINT: table.fit_fingerprint, keys.SYNTHESIZER: backend, **privacy_tags(spent),
        }
        model_uri, version = register_candidate(tracker, run_id, synthesizer, table.registered_model_name, table.name, fit_tags)
        return FittedModel(
            table=table.name, synthesizer=backend, mlflow_run_id=run_id, model_name=table.registered_model_name, model_version=version,
            model_uri=model_uri, fit_seconds=fit_seconds, training_rows=len(fit_data),
            table_metadata=metadata.get_table_metadata(table.name).to_dict(), source_fingerprint=split.fingerprint, selection=selection,
            privacy=spent or None,
        )

    def _privacy_spent(self, context: dg.AssetExecutionContext, synthesizer: Any, backend: str) -> dict[str, float]:
        """What the fit spent of the table's `privacy` budget; a table with `privacy` whose model
        reports nothing spent is refused rather than published as private."""
        budget, spent = self.config.privacy, privacy_spent(synthesizer)
        if budget is None:
            return spent
        if not spent:
            raise SynthesizerError(
                f"Table {self.name!r}: `privacy` is set, but the {backend} model reports no ε spent, so it has no differential-privacy "
                "guarantee; nothing is registered. Set `synthesizer: argn`."
            )
        context.log.info(
            f"Differential privacy: the fit spent ε {spent['epsilon']:g} of the {budget.epsilon:g} budget "
            f"({spent.get('value_epsilon', 0.0):g} on value ranges and categories), δ {spent['delta']:g}"
        )
        return spent

    def _reuse(self, context: dg.AssetExecutionContext, split: SourceSplit, tracker: MlflowTracker, run: ModelRun, champion: Any) -> FittedModel:
        """Skips the fit: tonight samples the champion again with a new seed, in a new MLflow
        run that points at the run which fitted it."""
        from sdv.metadata import Metadata

        table, version = self.config, str(champion.version)
        context.log.info(
            f"Source and fit settings unchanged since {table.registered_model_name} v{version} was fitted "
            f"(fingerprint {split.fingerprint[:12]}); reusing it, no refit"
        )
        metadata = Metadata.load_from_dict(tracker.load_dict(champion.run_id, "sdv_metadata.json"))
        run.mark_reused(champion.run_id)
        backend = champion.tags.get(keys.SYNTHESIZER, table.backend)
        tracker.log_params(
            run.run_id,
            {"table": table.name, "synthesizer": backend, "reused_model_version": version, "source_fingerprint": split.fingerprint,
             "training_rows": split.training_rows, "holdout_rows": split.holdout_rows},
        )
        spent = privacy_from_tags(champion.tags)  # the champion's fit spent it; sampling it again spends nothing
        if spent:
            tracker.log_params(run.run_id, _privacy_params(table))
            tracker.log_metrics(run.run_id, privacy_metrics(spent))
        tracker.set_alias(table.registered_model_name, "candidate", version)
        return FittedModel(
            table=table.name, synthesizer=backend, mlflow_run_id=run.run_id, model_name=table.registered_model_name, model_version=version,
            model_uri=champion.source, fit_seconds=0.0, training_rows=len(split.fit),
            table_metadata=metadata.get_table_metadata(table.name).to_dict(), source_fingerprint=split.fingerprint, reused_from=champion.run_id,
            privacy=spent or None,
        )

    def _fit_params(self, split: SourceSplit, synthesizer: Any) -> dict[str, object]:
        table = self.config
        params: dict[str, object] = {
            "table": table.name, "synthesizer": table.backend, "training_rows": split.training_rows, "holdout_rows": split.holdout_rows,
            "columns": split.fit.shape[1], "source_fingerprint": split.fingerprint, "holdout_fraction": table.holdout_fraction,
            "split_seed": table.split_seed, "row_limit": table.row_limit, "query": table.query,
        }
        for name, value in synthesizer.get_parameters().items():
            if name != "metadata":
                params[f"synthesizer.{name}"] = value
        return params

    def fit_metadata(self, fitted: FittedModel, read: SourceSplit) -> dict[str, Any]:
        table = self.config
        return {
            **_selection_metadata(fitted),
            keys.FIT_FINGERPRINT: table.fit_fingerprint,
            keys.CONFIG_FINGERPRINT: table.config_fingerprint,
            **({keys.SOURCE_PROBE: read.probe} if read.probe else {}),
        }

    # --- sample -----------------------------------------------------------------------------------

    def sample(
        self, context: dg.AssetExecutionContext, read: SourceSplit, fitted: FittedModel, tracker: MlflowTracker, store: DeltaSnapshotStore
    ) -> StagedSample:
        """Loads the registered model version and samples the configured rows with a recorded
        seed, chunk by chunk in `workers` processes, each chunk written to staging as it arrives."""
        table = self.config
        synthesizer = tracker.load_synthesizer(fitted.model_name, fitted.model_version)
        seed = choose_seed(table.seed)
        writer = store.stage(table.name, context.run.run_id, schema=read.schema)
        return self.sample_into(context, read, fitted, synthesizer, seed, writer)

    def sample_into(
        self, context: dg.AssetExecutionContext, read: SourceSplit, fitted: FittedModel, synthesizer: Any, seed: int, writer: StagedWriter
    ) -> StagedSample:
        table, started = self.config, time.perf_counter()
        plan = self._steer(context, read, fitted, synthesizer)
        num_rows = sum(c.rows for c in plan) if plan else table.num_rows or read.source_rows
        fleet = chunk_sampler(context)
        remote = fleet is not None and fleet.remote and not plan  # conditioned draws stay in this process
        context.log.info(
            f"Sampling {num_rows} rows from {fitted.model_name} v{fitted.model_version} with seed {seed}: "
            f"chunks of {table.sample_chunk_rows}, " + ("each a task on the fleet's chunk workers" if remote else f"{table.workers} worker(s)")
        )

        def progress(done: int) -> None:
            context.log.info(f"Sampled {done}/{num_rows} rows ({done / num_rows:.0%}) in {time.perf_counter() - started:.1f} s")

        tally = Tally(steered_columns(table) if table.steered else [])
        if remote:
            assert fleet is not None
            chunks = fleet.sample(fitted.model_name, fitted.model_version, num_rows, seed, table.sample_chunk_rows, writer.folder)
        else:
            chunks = sample_chunks(synthesizer, num_rows, seed, table.sample_chunk_rows, table.workers, [(c.values, c.rows) for c in plan])
        row_hash, sample = stage_chunks(writer, tally.count(chunks), num_rows, table.evaluation_rows, progress)
        steering = steering_measures(table, read.fit, tally.counts).record if table.steered else {}
        if "fairness" in steering:  # what reproduction replays: the backend's own mode, or the plan
            steering["fairness"]["method"] = "conditions" if plan else "engine"
        return StagedSample(
            str(writer.folder), writer.rows, row_hash, sample, seed, table.sample_chunk_rows, time.perf_counter() - started, tuple(plan),
            tally.counts if table.steered else None, steering,
        )

    def _steer(self, context: dg.AssetExecutionContext, read: SourceSplit, fitted: FittedModel, synthesizer: Any) -> list[SampleCondition]:
        """The conditions to sample under (none for a twin of the source's proportions, or for
        `fairness` met by the backend's own mode, which is switched on here)."""
        table = self.config
        if table.fairness is not None and fairness_by_engine(table, backend_of(synthesizer).capabilities.fairness):
            set_fairness(synthesizer, table.fairness.target, table.fairness.sensitive)
            context.log.info(f"Sampling with {fitted.synthesizer}'s fairness mode: {table.fairness.target} at equal rates across {table.fairness.sensitive}")
            return []
        plan = sampling_plan(table, read.fit, table.num_rows or read.source_rows)
        if plan:
            setting = steering_setting(table) or "conditions"
            refuse_impossible_conditions(table, plan, read.fit, table_columns(fitted.table_metadata, table.name), setting)
            context.log.info(f"Sampling under `{setting}`: " + "; ".join(c.describe() for c in plan))
        return plan

    # --- checks on the candidate ------------------------------------------------------------------

    def extra_results(self, split: SourceSplit, data: pd.DataFrame) -> list[dg.AssetCheckResult]:
        """Check results beyond those of every table."""
        return []

    def evaluate(
        self, context: dg.AssetExecutionContext, read: SourceSplit, sampled: StagedSample, fitted: FittedModel,
        tracker: MlflowTracker, docs: DataDocsFolder,
    ) -> Evaluation:
        started = time.perf_counter()
        results, measures = candidate_results(context, self.config, read, sampled, fitted, tracker, docs, self.lenient_columns())
        results += self.extra_results(read, sampled.sample)
        steering = steering_measures(self.config, read.fit, sampled.steered_counts, sampled.sample) if sampled.steered_counts is not None else None
        if steering is not None:
            results += steering.results
            tracker.log_metrics(fitted.mlflow_run_id, steering.metrics)
        evaluation_seconds = time.perf_counter() - started
        log_evaluation(tracker, fitted, self.config, sampled, evaluation_seconds, measures)
        return Evaluation(results, _candidate_metadata(sampled, evaluation_seconds, measures, fitted), measures.quality.score)

    # --- publish ----------------------------------------------------------------------------------

    def publish(self, context: dg.AssetExecutionContext, candidate: Candidate, store: DeltaSnapshotStore, commit: dict[str, Any]) -> dict[str | None, Published]:
        table, model, staged = self.config, candidate.model, candidate.sample
        assert isinstance(staged, StagedSample)
        commit = {
            **commit,
            keys.ROWS: staged.rows,
            keys.ROW_HASH: staged.row_hash,
            keys.FIT_ROWS: model.training_rows,
            keys.ROW_LIMIT: table.row_limit if table.row_limit is not None else "none",
            keys.SAMPLE_CHUNK_ROWS: staged.chunk_rows,
            **_steering_commit(staged),
        }
        version = store.publish_staged(table.name, staged.folder, commit)
        uri = store.table_uri(table.name)
        context.log.info(f"Published {table.name!r} version {version} ({staged.rows} rows) to {uri}")
        extra = {
            keys.QUALITY_SCORE: dg.FloatMetadataValue(round(candidate.quality_score, 4)),
            keys.MODEL_NAME: model.model_name,
            keys.MLFLOW_RUN_ID: model.mlflow_run_id,
            **{key: dg.FloatMetadataValue(value) for key, value in privacy_metadata(model.privacy).items()},
        }
        return {None: Published(version, uri, staged.rows, extra)}


def _privacy_params(table: TableConfig) -> dict[str, float]:
    """The table's `privacy` budget as MLflow parameters (`privacy.epsilon`, ...; `value_epsilon` resolved)."""
    if table.privacy is None:
        return {}
    return {**{f"privacy.{k}": v for k, v in table.privacy.model_dump().items()}, "privacy.value_epsilon": table.privacy.value_budget}


def _steering_commit(staged: StagedSample) -> dict[str, str]:
    """The plan a steered version was sampled under (what reproduction replays) and, for
    `rebalance` and `fairness`, the real and synthetic shares or parity gaps."""
    if not staged.plan and not staged.steering:
        return {}
    commit = {keys.CONDITIONS: json.dumps([c.model_dump() for c in staged.plan], default=str)} if staged.plan else {}
    return {**commit, keys.STEERING: json.dumps(staged.steering, default=str)} if staged.steering else commit


def _selection_metadata(fitted: FittedModel) -> dict[str, object]:
    if not fitted.selection:
        return {}
    columns = list(fitted.selection[0])
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    rows += ["| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in c.values()) + " |" for c in fitted.selection]
    return {keys.AUTO_CANDIDATES: dg.MetadataValue.md("\n".join(rows)), keys.AUTO_WINNER: fitted.synthesizer}


def _candidate_metadata(staged: StagedSample, evaluation_seconds: float, measures: Measures, fitted: FittedModel) -> dict[str, Any]:
    quality, privacy = measures.quality, measures.privacy
    return {
        "dagster/row_count": staged.rows,
        keys.EVALUATION_ROWS: dg.MetadataValue.text(str(len(staged.sample))),  # a setting's effect, not a measure
        keys.SAMPLE_ROWS_PER_SECOND: dg.FloatMetadataValue(round(staged.rows / max(staged.sample_seconds, 1e-9), 1)),
        keys.SEED: dg.MetadataValue.text(str(staged.seed)),  # an identifier, not a measure to plot
        keys.SAMPLE_SECONDS: dg.FloatMetadataValue(round(staged.sample_seconds, 3)),
        keys.EVALUATION_SECONDS: dg.FloatMetadataValue(round(evaluation_seconds, 3)),
        keys.QUALITY_SCORE: dg.FloatMetadataValue(round(quality.score, 4)),
        keys.EXACT_COPY_SHARE: dg.FloatMetadataValue(round(privacy.exact_copy_share, 6)),
        keys.DCR_CLOSER_SHARE: dg.FloatMetadataValue(round(privacy.dcr_closer_to_training_share, 4)),
        keys.NNDR_MEDIAN: dg.FloatMetadataValue(round(privacy.nndr_median, 4)),
        keys.REPORT: dg.MetadataValue.url(measures.report_uri),
        keys.MODEL_VERSION: fitted.model_version,
        **_attack_metadata(measures),
    }


def _attack_metadata(measures: Measures) -> dict[str, Any]:
    """Each attack's risk (plotted night after night) and the table of risks with their intervals."""
    if measures.attacks is None:
        return {}
    risks = {f"{keys.PREFIX}{r.name}_risk": dg.FloatMetadataValue(round(r.risk, 4)) for r in measures.attacks.risks}
    return {**risks, keys.ATTACK_RISKS: dg.MetadataValue.md(attack_table(measures.attacks))}


register_kind(lambda config: isinstance(config, TableConfig), SingleTable)
