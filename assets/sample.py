"""The sample stage: `<unit>/synthetic` and its checks, the same asset for every kind of table.

It loads the registered `candidate` model, samples with a recorded seed (`Kind.sample`), runs
every check on the candidate (`Kind.evaluate`, built from `assets.checks` and
`assets.evaluation`) and, when a blocking check fails, ends the MLflow run blocked so that
nothing is published. Sampling in chunks straight to staging is shared and lives here.
"""


import math
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.gates import checks_summary
from synthpipe.assets.evaluation.trend import build_trend, trend_points
from synthpipe.assets.kinds import Kind
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.records import Candidate, FittedModel
from synthpipe.assets.translator import stage_asset
from synthpipe.resources.chunk_tasks import ChunkSampler
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.fingerprints import combine_fingerprint, row_hashes
from synthpipe.resources.snapshots import DeltaSnapshotStore, StagedWriter
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["choose_seed", "chunk_sampler", "stage_chunks", "synthetic_asset"]


def synthetic_asset(kind: Kind, spec: dg.AssetSpec, source_key: dg.AssetKey, synthesizer_key: dg.AssetKey) -> dg.AssetsDefinition:
    """`<unit>/synthetic`: the candidate, with every check on it; blocking ones gate publication."""

    @stage_asset(spec, ins={"read": dg.AssetIn(source_key), "fitted": dg.AssetIn(synthesizer_key)}, check_specs=kind.check_specs(spec.key))
    def synthetic(
        context: dg.AssetExecutionContext,
        read: Any,
        fitted: FittedModel,
        synthpipe_mlflow: MlflowTracker,
        synthpipe_snapshots: DeltaSnapshotStore,
        synthpipe_data_docs: DataDocsFolder,
        synthpipe_chunks: ChunkSampler,  # read by the kinds through `chunk_sampler(context)`
    ):  # no return annotation: with check specs, Dagster would read it as a tuple of outputs
        run, fitted = ModelRun.claim(context, synthpipe_mlflow, fitted)
        with run:
            sampled = kind.sample(context, read, fitted, synthpipe_mlflow, synthpipe_snapshots)
            evaluation = kind.evaluate(context, read, sampled, fitted, synthpipe_mlflow, synthpipe_data_docs)
        checks = evaluation.blocking
        trend = _log_trend(kind, synthpipe_snapshots, synthpipe_mlflow, fitted.mlflow_run_id, evaluation.quality_score, all(checks.values()))
        run.block(context, kind.name, checks)
        # The verdict of every check first, then the headline figure and its trend.
        head = {
            keys.CHECKS_SUMMARY: dg.MetadataValue.md(checks_summary(evaluation.results)),
            keys.QUALITY_SCORE: dg.FloatMetadataValue(round(evaluation.quality_score, 4)),
            keys.QUALITY_TREND: dg.MetadataValue.url(trend),
        }
        return dg.MaterializeResult(
            value=Candidate(sampled, fitted, evaluation.quality_score, checks),
            metadata={**head, **{k: v for k, v in evaluation.metadata.items() if k not in head}},
            check_results=evaluation.results,
        )

    return synthetic


def _log_trend(kind: Kind, store: DeltaSnapshotStore, tracker: MlflowTracker, run_id: str, quality: float, passed: bool) -> str:
    """The quality trend page (published versions and this candidate, threshold drawn), logged
    to the run; returns its browser link. A group's versions are read from its first member."""
    member = kind.members[0]
    table = kind.name if member is None else f"{kind.name}/{member}"
    threshold = kind.config.quality_threshold
    page = build_trend(kind.name, trend_points(store.history(table), quality), threshold, passed)
    return tracker.links.file(tracker.log_text(run_id, page, f"trend/{kind.name}.html"))


def chunk_sampler(context: Any) -> ChunkSampler | None:
    """The fleet's chunk sampler (`execution.chunk_tasks`) of the run `context` belongs to; None
    where there is none (a reproduction samples in its own process)."""
    try:
        return context.resources.synthpipe_chunks
    except Exception:  # noqa: BLE001 - a context without resources, or without this one
        return None


def choose_seed(configured: int | None) -> int:
    """The configured sampling seed, else a new one (recorded with the candidate either way)."""
    return configured if configured is not None else secrets.randbelow(2**31 - 1)


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
