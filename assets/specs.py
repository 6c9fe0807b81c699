"""The asset specs of every configured unit, usable alone, and the asset factories built on them.

Three layers, as in Dagster's own integrations (dagster-sling, dagster-dbt):

1. `get_synthpipe_asset_specs(config)`: the specs (keys, groups, kinds, tags, owners,
   descriptions, dependencies) from the translator, with no execution behind them; use them to
   declare synthpipe's assets in another code location, or to inspect them.
2. `build_unit_assets(kind, specs)`: the executable assets of one unit, which pass each spec
   through whole (`automation_condition`, `code_version`, `owners`, ... as the translator set
   them); only inputs and checks are added.
3. `synthpipe.SynthpipeComponent` and `build_synthpipe_defs`: the wiring.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import dagster as dg

from synthpipe.assets.downstream import downstream_asset
from synthpipe.assets.fit import synthesizer_asset
from synthpipe.assets.kinds import Kind, kind_for, units
from synthpipe.assets.publish import published_asset
from synthpipe.assets.sample import synthetic_asset
from synthpipe.assets.source import source_asset
from synthpipe.assets.translator import StageData, SynthpipeTranslator
from synthpipe.config import GroupConfig, ScheduleConfig, SourceConfig, SynthpipeConfig, TableConfig

__all__ = [
    "UnitSpecs", "build_assets", "build_unit_assets", "freshness_policy", "get_synthpipe_asset_specs", "linked_unit_specs", "source_kind", "unit_specs",
]


@dataclass(frozen=True)
class UnitSpecs:
    """The specs of one unit's assets, each stage depending on the one before."""

    source: dg.AssetSpec
    synthesizer: dg.AssetSpec
    synthetic: dg.AssetSpec
    published: list[dg.AssetSpec]
    downstream: dg.AssetSpec | None = None

    def all(self) -> list[dg.AssetSpec]:
        return [self.source, self.synthesizer, self.synthetic, *self.published, *([self.downstream] if self.downstream else [])]


# A published twin is stale this long past the refresh it should have had (a quarter of the
# interval between two refreshes: 6 h for a nightly one).
STALE_AFTER_SHARE = 0.25


def freshness_policy(schedule: ScheduleConfig, now: dt.datetime | None = None) -> dg.FreshnessPolicy:
    """How fresh a published twin must be, from the refresh schedule: it warns once a scheduled
    refresh is missing (the longest interval between two refreshes over the next 60 has passed
    without a published version) and fails `STALE_AFTER_SHARE` of an interval later."""
    from dagster._utils.schedules import cron_string_iterator

    start = (now or dt.datetime.now(dt.timezone.utc)).timestamp()
    ticks = cron_string_iterator(start, schedule.cron, schedule.timezone)
    times = [next(ticks) for _ in range(61)]
    interval = max(later - earlier for earlier, later in zip(times, times[1:]))
    return dg.FreshnessPolicy.time_window(fail_window=interval * (1 + STALE_AFTER_SHARE), warn_window=interval)


def unit_specs(
    kind: Kind,
    translator: SynthpipeTranslator | None = None,
    source_description: str = "the source",
    source_kind: str = "duckdb",
    freshness: dg.FreshnessPolicy | None = None,
) -> UnitSpecs:
    """The translator's spec for every stage of one unit, with the data flow as dependencies.
    `freshness`: the published tables' freshness policy (for units refreshed on the schedule)."""
    translator = translator or SynthpipeTranslator()

    def spec(stage: str, member: str | None = None, deps: tuple[dg.AssetSpec, ...] = ()) -> dg.AssetSpec:
        data = StageData(kind.config, stage, source_description, member=member, source_kind=source_kind)  # type: ignore[arg-type]
        made = translator.get_asset_spec(data)
        return made.merge_attributes(deps=[d.key for d in deps]) if deps else made

    source = spec("source")
    synthesizer = spec("synthesizer", deps=(source,))
    synthetic = spec("synthetic", deps=(source, synthesizer))
    published = [spec("published", member, deps=(synthetic,)) for member in kind.members]
    if freshness is not None:  # the translator's own policy wins
        published = [p if p.freshness_policy is not None else p.replace_attributes(freshness_policy=freshness) for p in published]
    downstream = spec("downstream", deps=(source, published[0])) if kind.has_downstream else None
    return UnitSpecs(source, synthesizer, synthetic, published, downstream)


def get_synthpipe_asset_specs(
    config: SynthpipeConfig, translator: SynthpipeTranslator | None = None, source_description: str | None = None, source_kind_name: str | None = None
) -> list[dg.AssetSpec]:
    """Every asset spec of a validated configuration, tables first, each unit's stages in order.

    Examples:
        >>> from synthpipe.validation import load_config
        >>> config = load_config({"source": {"database": "adult.duckdb"}, "tables": [{"name": "adult"}]})
        >>> [spec.key.to_user_string() for spec in get_synthpipe_asset_specs(config)]
        ['adult/source', 'adult/synthesizer', 'adult/synthetic', 'adult/published']
    """
    description = source_description or f"the {config.source.kind} source"
    technology = source_kind_name or source_kind(config.source)
    nightly = freshness_policy(config.schedule)
    return [spec for _, specs in linked_unit_specs(config, translator, description, technology, nightly).values() for spec in specs.all()]


def linked_unit_specs(
    config: SynthpipeConfig, translator: SynthpipeTranslator | None, description: str, technology: str, nightly: dg.FreshnessPolicy
) -> dict[str, tuple[Kind, UnitSpecs]]:
    """Every unit's specs by name. A unit that reads other units' published tables (a generated
    set drawing from a learned twin: its kind's `upstream`) gets them as dependencies of its
    source, so one run refreshes the twin first and the set after it."""
    built = {kind.name: (kind, unit_specs(kind, translator, description, technology, scheduled_freshness(kind, nightly))) for kind in units(config)}
    for name, (kind, specs) in built.items():
        upstream = [built[other][1].published[0].key for other in getattr(kind, "upstream", []) if other in built]
        if upstream:
            source = specs.source.merge_attributes(deps=upstream)
            built[name] = (kind, dataclasses.replace(specs, source=source))
    return built


def scheduled_freshness(kind: Kind, policy: dg.FreshnessPolicy) -> dg.FreshnessPolicy | None:
    """The policy for a unit refreshed on the schedule; None for `refresh: on_change` tables,
    which refresh when their source changes."""
    return policy if getattr(kind.config, "refresh", "always") == "always" else None


def build_unit_assets(kind: Kind, specs: UnitSpecs, source_pool: str | None = None) -> list[dg.AssetsDefinition]:
    """The executable assets of one unit from its specs: source, synthesizer, synthetic (with
    its checks), the published table(s) and, with a `target`, the downstream example. The
    source stage claims a slot of `source_pool` (`execution.source_pool`)."""
    assets = [
        source_asset(kind, specs.source, source_pool),
        synthesizer_asset(kind, specs.synthesizer, specs.source.key),
        synthetic_asset(kind, specs.synthetic, specs.source.key, specs.synthesizer.key),
        published_asset(kind, specs.published, specs.synthetic.key),
    ]
    if specs.downstream is not None:
        assets.append(downstream_asset(kind.config, specs.downstream, specs.source.key, specs.published[0].key))
    return assets


def build_assets(
    unit: TableConfig | GroupConfig, translator: SynthpipeTranslator | None = None, source_description: str = "the source", source_kind: str = "duckdb"
) -> list[dg.AssetsDefinition]:
    """The assets of one configured table or group, whatever its kind."""
    kind = kind_for(unit)
    return build_unit_assets(kind, unit_specs(kind, translator, source_description, source_kind))


# SQLAlchemy dialects whose Dagster kind has another name
_DIALECT_KINDS = {"postgresql": "postgres", "mariadb": "mysql"}


def source_kind(source: SourceConfig) -> str:
    """The source asset's kind: `duckdb`, `parquet`, `csv`, or the SQL URL's dialect
    (`postgres`, `mysql`, `sqlite`, ...); `sql` when the URL comes from the environment."""
    if source.kind != "sql":
        return source.kind
    if not isinstance(source.url, str) or "://" not in source.url:
        return "sql"
    dialect = source.url.split("://", 1)[0].split("+", 1)[0].lower()
    return _DIALECT_KINDS.get(dialect, dialect)
