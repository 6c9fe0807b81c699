"""The publish stage: `<unit>/published` (one asset per published table), for every kind.

Reached only when every blocking check on the candidate passed. It commits the candidate's
tables as new Delta Lake versions with what made them in the commit metadata (`Kind.publish`
writes them; `commit_metadata` is what every version records), then promotes the model to
`champion` and ends the MLflow run FINISHED (`assets.lifecycle.ModelRun.promote`).
"""


from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from synthpipe import metadata_keys as keys
from synthpipe.assets.kinds import Kind
from synthpipe.assets.lifecycle import ModelRun, mlflow_links
from synthpipe.assets.records import Candidate, FittedModel
from synthpipe.errors import SynthpipeError
from synthpipe.resources.differential_privacy import privacy_metadata
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["commit_metadata", "published_asset"]


def published_asset(kind: Kind, specs: Sequence[dg.AssetSpec], synthetic_key: dg.AssetKey) -> dg.AssetsDefinition:
    """The published tables of one unit, written in one step: all of them or none."""
    members = dict(zip((spec.key for spec in specs), kind.members, strict=True))

    @dg.multi_asset(name=f"{kind.name}__published", specs=list(specs), ins={"candidate": dg.AssetIn(synthetic_key)})
    def published(
        context: dg.AssetExecutionContext, candidate: Candidate, synthpipe_snapshots: DeltaSnapshotStore, synthpipe_mlflow: MlflowTracker
    ) -> Iterator[dg.MaterializeResult]:
        failed = [name for name, ok in candidate.checks.items() if not ok]
        if failed:  # reached only when someone materializes this asset alone, past its checks
            raise SynthpipeError(
                f"{kind.config.__class__.__name__.removesuffix('Config')} {kind.name!r}: the candidate failed blocking checks {failed}; "
                "refusing to publish it. Run the refresh job again, or lower the threshold in the configuration if it is too strict."
            )
        model = candidate.model
        commit = commit_metadata(context, model, candidate.sample.seed, candidate.quality_score, candidate.checks)
        written = kind.publish(context, candidate, synthpipe_snapshots, commit)
        tags = {_version_tag(member): str(p.version) for member, p in written.items()}
        if None in written:
            tags[keys.SNAPSHOT_URI] = written[None].uri
        ModelRun(synthpipe_mlflow, model.mlflow_run_id).promote(model, tags)
        links = mlflow_links(synthpipe_mlflow, model)
        for key, member in members.items():
            out = written[member]
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    keys.SNAPSHOT_VERSION: out.version,
                    keys.SNAPSHOT_URI: dg.MetadataValue.path(out.uri),
                    "dagster/row_count": out.rows,
                    keys.SEED: dg.MetadataValue.text(str(candidate.sample.seed)),
                    **out.metadata,
                    keys.MODEL_VERSION: model.model_version,
                    **links,
                },
            )

    return published


def _version_tag(member: str | None) -> str:
    return keys.SNAPSHOT_VERSION if member is None else f"{keys.SNAPSHOT_VERSION}/{member}"


def commit_metadata(
    context: dg.AssetExecutionContext, model: FittedModel, seed: int, quality: float, checks: dict[str, bool]
) -> dict[str, Any]:
    """What every published Delta version records about how it was made."""
    commit = {
        keys.DAGSTER_RUN_ID: context.run.run_id,
        keys.MLFLOW_RUN_ID: model.mlflow_run_id,
        keys.MODEL_NAME: model.model_name,
        keys.MODEL_VERSION: model.model_version,
        keys.SYNTHESIZER: model.synthesizer,
        keys.SEED: seed,
        keys.QUALITY_SCORE: round(quality, 6),
        keys.SOURCE_FINGERPRINT: model.source_fingerprint,
        keys.CHECKS_PASSED: ",".join(sorted(checks)),
        **privacy_metadata(model.privacy),
    }
    if context.has_partition_key:
        commit[keys.PARTITION] = context.partition_key
    return commit
