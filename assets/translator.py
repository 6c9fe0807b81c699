"""How a table's stages become Dagster asset specs. Override `get_asset_spec` to customise
keys, groups, tags, owners or descriptions; everything else follows from the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dagster as dg

from synthpipe import metadata_keys as keys
from synthpipe.config import GeneratedConfig, GroupConfig, SimulationConfig, TableConfig

__all__ = ["STAGES", "Stage", "StageData", "SynthpipeTranslator", "op_name", "stage_asset"]

Stage = Literal["source", "synthesizer", "synthetic", "published", "downstream"]
STAGES: tuple[Stage, ...] = ("source", "synthesizer", "synthetic", "published")

_DESCRIPTIONS: dict[Stage, str] = {
    "source": "Real rows of `{source}` pulled from {where}; profiled, fingerprinted and split into training rows and a held-out sample that is never published.",
    "synthesizer": "{synthesizer} synthesizer fitted on the training rows of `{table}`, logged to MLflow and registered as `{model}` (alias `candidate`).",
    "synthetic": "Synthetic candidate of `{table}` sampled with a recorded seed; blocking checks decide whether it is published.",
    "published": "Published synthetic twin of `{table}`: a new Delta Lake version, written only when every blocking check passed.",
    "downstream": "Example downstream training: a gradient-boosting model for `{target}` trained on the latest published version of `{table}`, scored on real held-out rows against the same model trained on real rows; logged to MLflow with the synthetic version as its dataset input.",
}
_GROUP_DESCRIPTIONS: dict[Stage, str] = {
    "source": "Real rows of the related tables {tables} pulled from {where}, with every foreign key checked for a parent row.",
    "synthesizer": "{synthesizer} relational synthesizer fitted on the group `{table}` as one model, logged to MLflow and registered as `{model}` (alias `candidate`).",
    "synthetic": "Synthetic candidate of the group `{table}` sampled with a recorded seed; blocking checks (per-table suites, referential integrity, quality) decide whether it is published.",
    "published": "Published synthetic table `{member}` of the group `{table}`: published with the rest of the group in one run, or not at all.",
}
_GENERATED_DESCRIPTIONS: dict[Stage, str] = {
    "source": "The declaration of the generated tables {tables}: no source is read; its fingerprint decides whether the registered generator is reused.",
    "synthesizer": "The declaration of `{table}` registered in MLflow as `{model}` (alias `candidate`): the generator every night draws from.",
    "synthetic": "Generated candidate of `{table}` drawn with a recorded seed; blocking checks (declared distributions, correlations, rules, keys) decide whether it is published.",
    "published": "Published generated table `{member}` of `{table}`: published with the rest of the set in one run, or not at all.",
}
_SIMULATION_DESCRIPTIONS: dict[Stage, str] = {
    "source": "The agent-based model `{model_class}` and its parameters: no source is read; the settings and the model's code are fingerprinted.",
    "synthesizer": "The simulation `{table}` registered in MLflow as `{model}` (alias `candidate`): the model class, its parameters and steps.",
    "synthetic": "Candidate tables of the simulation `{table}`, run with a recorded seed; its data contracts decide whether they are published.",
    "published": "Published table `{member}` of the simulation `{table}`: published with the rest of its tables in one run, or not at all.",
}
# The source stage's kind is the source's own (`StageData.source_kind`).
_KINDS: dict[Stage, set[str]] = {
    "synthesizer": {"sdv", "mlflow"},
    "synthetic": {"pandas", "great_expectations"},
    "published": {"deltalake"},
    "downstream": {"scikitlearn", "mlflow"},
}


_SOURCELESS_TEMPLATES: dict[type, dict[Stage, str]] = {GeneratedConfig: _GENERATED_DESCRIPTIONS, SimulationConfig: _SIMULATION_DESCRIPTIONS}
_SOURCELESS_KINDS: dict[type, dict[Stage, set[str]]] = {
    GeneratedConfig: {"source": {"yaml"}, "synthesizer": {"scipy", "mlflow"}, "synthetic": {"pandas", "great_expectations"}, "published": {"deltalake"}},
    SimulationConfig: {"source": {"python"}, "synthesizer": {"mesa", "mlflow"}, "synthetic": {"pandas", "great_expectations"}, "published": {"deltalake"}},
}


@dataclass(frozen=True)
class StageData:
    """Everything the translator may look at for one asset: the table and its stage."""

    table: TableConfig | GroupConfig | GeneratedConfig | SimulationConfig
    stage: Stage
    source_description: str = "the source"
    member: str | None = None  # one table of a group, for its published asset
    source_kind: str = "duckdb"  # the source's technology, shown as the source asset's kind


class SynthpipeTranslator:
    """Maps (table, stage) to an `AssetSpec`. Keys default to `<table>/<stage>`
    (`<group>/published/<member>` for one table of a group), so the graph, which labels a node
    by its key's last part, shows the stage and the group box names the table.

    Examples:
        >>> class MyTranslator(SynthpipeTranslator):
        ...     def get_asset_spec(self, data):
        ...         spec = super().get_asset_spec(data)
        ...         return spec.replace_attributes(key=spec.key.with_prefix("synthetic_data"))
    """

    def get_asset_spec(self, data: StageData) -> dg.AssetSpec:
        table = data.table
        is_group = isinstance(table, GroupConfig)
        sourceless = isinstance(table, (GeneratedConfig, SimulationConfig))
        templates = _SOURCELESS_TEMPLATES.get(type(table), _GROUP_DESCRIPTIONS if is_group else _DESCRIPTIONS)
        description = templates[data.stage].format(
            source=table.name if is_group or sourceless else table.source_name,
            tables=", ".join(f"`{getattr(t, 'source_name', t.name)}`" for t in table.tables) if is_group or isinstance(table, GeneratedConfig) else "",
            model_class=getattr(table, "model", ""),
            where=data.source_description,
            synthesizer=table.backend,
            table=table.name,
            model=table.registered_model_name,
            member=data.member,
            target=getattr(table, "target", None),
        )
        return dg.AssetSpec(
            key=dg.AssetKey([table.name, data.stage, *([data.member] if data.member else [])]),
            group_name=f"synthpipe_{table.name}",
            description=description,
            kinds=_SOURCELESS_KINDS[type(table)][data.stage] if sourceless else {data.source_kind} if data.stage == "source" else _KINDS[data.stage],
            tags={keys.STAGE: data.stage},
        )


def op_name(spec: dg.AssetSpec) -> str:
    """The op of a one-asset stage is named after its key (`adult__source`), as `@asset` names it."""
    return spec.key.to_python_identifier()


def stage_asset(
    spec: dg.AssetSpec, ins: Mapping[str, dg.AssetIn] | None = None, check_specs: Sequence[dg.AssetCheckSpec] = (), pool: str | None = None
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """The decorator of a one-asset stage that passes the translator's spec through whole
    (automation condition, code version, owners, tags, metadata, ...). The spec's dependencies
    on the stage's inputs become the inputs; any other dependency it declares is kept. `pool`:
    the Dagster concurrency pool the stage's step claims a slot of."""
    ins = dict(ins or {})
    loaded = {asset_in.key for asset_in in ins.values()}
    others = [dep.asset_key for dep in spec.deps if dep.asset_key not in loaded]
    return dg.multi_asset(
        name=op_name(spec),
        outs={"result": dg.AssetOut.from_spec(spec.replace_attributes(deps=[]))},
        ins=ins,
        deps=others or None,
        check_specs=list(check_specs) or None,
        pool=pool,
    )
