"""The simulation kind: an agent-based model (Mesa) run each night (`simulations:`).

The source stage imports the model class and fingerprints the declaration with the class's
source code; the synthesizer stage registers the run settings as the simulation's MLflow model
(a `Simulation`, reused while neither changes); the synthetic stage runs the model for `steps`
steps with a recorded seed and takes its data collector's tables. They are checked by their data
contracts (user suites) and published together, one Delta version per table, with the
parameters, steps and seed in the commit and in MLflow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import time
from typing import Any

import dagster as dg
import pandas as pd

from synthpipe import metadata_keys as keys
from synthpipe.assets.checks.suites import log_user_suites, suite_check_result, user_check_name, user_suite_specs
from synthpipe.assets.kinds import Evaluation, Published, SourceRead, register_kind
from synthpipe.assets.kinds.generated import GeneratedRead, personal_report, register_declaration
from synthpipe.assets.lifecycle import ModelRun
from synthpipe.assets.records import Candidate, FittedModel, GroupSample
from synthpipe.assets.sample import choose_seed
from synthpipe.config import SimulationConfig
from synthpipe.expectations.runner import validate
from synthpipe.resources.data_docs import DataDocsFolder
from synthpipe.resources.fingerprints import fingerprint
from synthpipe.resources.snapshots import DeltaSnapshotStore
from synthpipe.resources.sources import SourceResource
from synthpipe.resources.tracking import MlflowTracker

__all__ = ["CHECK_COLLECTED", "SimulationRun", "code_fingerprint"]

CHECK_COLLECTED = "collected"


def code_fingerprint(model: str) -> str:
    """A hash of the model class's module source, so a changed model is registered anew."""
    from synthpipe.resources.simulation import load_model_class

    module = inspect.getmodule(load_model_class(model))
    try:
        source = inspect.getsource(module) if module is not None else model
    except (OSError, TypeError):  # no source at hand (a compiled module): the class path alone
        source = model
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class SimulationRun:
    """One configured simulation (`simulations:` in the configuration)."""

    config: SimulationConfig

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def members(self) -> list[str | None]:
        """The published tables: those named, else the data collector's model and agent tables."""
        return list(self.config.published_tables)

    @property
    def has_downstream(self) -> bool:
        return False

    def guard_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return []

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        collected = dg.AssetCheckSpec(
            CHECK_COLLECTED, asset=key, blocking=True,
            description=f"The simulation collected every published table ({', '.join(map(str, self.members))}) and each holds rows.",
        )
        suites = [spec for table in self.members for spec in user_suite_specs("suite", self.config.suites_of(str(table)), key, str(table))]
        return [collected, *suites]

    # --- source -----------------------------------------------------------------------------------

    def read(self, context: dg.AssetExecutionContext, source: SourceResource, docs: DataDocsFolder) -> SourceRead:
        config = self.config
        code = code_fingerprint(config.model)
        combined = hashlib.sha256(f"{config.fingerprint}:{code}".encode()).hexdigest()[:16]
        context.log.info(f"Simulation {config.name!r} reads no source: {config.model} for {config.steps} steps, fingerprint {combined}")
        metadata = {
            keys.SOURCE_FINGERPRINT: combined,
            keys.SIMULATION: dg.MetadataValue.json({"model": config.model, "parameters": config.parameters, "steps": config.steps, "code": code}),
        }
        return SourceRead(GeneratedRead(combined), metadata)

    # --- fit --------------------------------------------------------------------------------------

    def fit(self, context: dg.AssetExecutionContext, read: GeneratedRead, tracker: MlflowTracker, run: ModelRun) -> FittedModel:
        config = self.config
        tracker.log_params(run.run_id, {"simulation": config.name, "synthesizer": config.backend, "model": config.model, "steps": config.steps,
                                        **{f"parameters.{k}": v for k, v in config.parameters.items()}})

        def build() -> Any:
            from synthpipe.resources.simulation import Simulation

            return Simulation(config.model, dict(config.parameters), config.steps, list(config.tables))

        return register_declaration(context, config, read, tracker, run, build, "simulation")

    def fit_metadata(self, fitted: FittedModel, read: GeneratedRead) -> dict[str, Any]:
        return {keys.CONFIG_FINGERPRINT: read.fingerprint}

    # --- sample -----------------------------------------------------------------------------------

    def sample(
        self, context: dg.AssetExecutionContext, read: GeneratedRead, fitted: FittedModel, tracker: MlflowTracker, store: DeltaSnapshotStore
    ) -> GroupSample:
        config = self.config
        simulation = tracker.load_synthesizer(fitted.model_name, fitted.model_version)
        seed = choose_seed(config.seed)
        context.log.info(f"Running {config.model} for {config.steps} steps with seed {seed}")
        started = time.perf_counter()
        tables = simulation.run(seed)
        seconds = time.perf_counter() - started
        context.log.info(
            f"Simulated {config.steps} steps in {seconds:.2f} s ({simulation.steps_per_second:,.1f} steps/s): "
            + ", ".join(f"{name} {len(frame)} rows" for name, frame in tables.items())
        )
        return GroupSample(tables, seed, {}, seconds, recorded={"steps_per_second": simulation.steps_per_second})

    # --- checks -----------------------------------------------------------------------------------

    def evaluate(
        self, context: dg.AssetExecutionContext, read: GeneratedRead, sampled: GroupSample, fitted: FittedModel,
        tracker: MlflowTracker, docs: DataDocsFolder,
    ) -> Evaluation:
        config, tables, run_id = self.config, sampled.tables, fitted.mlflow_run_id
        missing = [str(m) for m in self.members if m not in tables or tables[str(m)].empty]
        results = [
            dg.AssetCheckResult(
                check_name=CHECK_COLLECTED, passed=not missing,
                description=f"no rows collected for {missing}; collected: {', '.join(f'{n} ({len(f)} rows)' for n, f in tables.items())}" if missing
                else "every published table holds rows",
                metadata={f"{keys.PREFIX}rows/{n}": len(f) for n, f in tables.items()},
            )
        ]
        evaluated = passed = 0
        site = docs.site(self.name, context.run.run_id)
        for table in (str(m) for m in self.members if str(m) in tables):
            runs = []
            for suite in config.suites_of(table):
                pairs = suite.synthetic_specs(tables[table])
                result = validate(tables[table], f"{self.name}.{table}", f"{self.name}.{table}.{suite.name}", [s for s, _ in pairs], site, [w for _, w in pairs])
                runs.append((suite, pairs, result))
                results.append(suite_check_result(user_check_name("suite", suite.name, table), result, docs))
                evaluated, passed = evaluated + result.evaluated, passed + result.evaluated - len(result.failures)
            if runs:
                log_user_suites(tracker, run_id, runs, prefix=f"{table}.")
        # A simulation has no real rows to be faithful to: its score is the share of its contract met.
        score = passed / evaluated if evaluated else 1.0
        steps_per_second = float(sampled.recorded.get("steps_per_second", 0.0))
        tracker.log_params(run_id, {"seed": sampled.seed})
        tracker.log_metrics(run_id, {**{f"rows.{n}": len(f) for n, f in tables.items()}, "steps_per_second": steps_per_second,
                                     "sample_seconds": sampled.sample_seconds, "quality_score": score, **_boolean_shares(tables)})
        metadata = {
            "dagster/row_count": sum(len(f) for n, f in tables.items() if n in self.members),
            **{f"{keys.PREFIX}rows/{n}": len(f) for n, f in tables.items()},
            keys.SEED: dg.MetadataValue.text(str(sampled.seed)),
            keys.SAMPLE_SECONDS: dg.FloatMetadataValue(round(sampled.sample_seconds, 3)),
            keys.STEPS_PER_SECOND: dg.FloatMetadataValue(round(steps_per_second, 2)),
            keys.QUALITY_SCORE: dg.FloatMetadataValue(round(score, 4)),
            keys.SIMULATION: dg.MetadataValue.json({"model": config.model, "parameters": config.parameters, "steps": config.steps}),
            keys.LOOKS_PERSONAL: personal_report({str(m): tables[str(m)] for m in self.members if str(m) in tables}, {}),
        }
        return Evaluation(results, metadata, score)

    # --- publish ----------------------------------------------------------------------------------

    def publish(self, context: dg.AssetExecutionContext, candidate: Candidate, store: DeltaSnapshotStore, commit: dict[str, Any]) -> dict[str | None, Published]:
        sampled, config = candidate.sample, self.config
        assert isinstance(sampled, GroupSample)
        tables = {str(m): sampled.tables[str(m)] for m in self.members}
        settings = {"model": config.model, "parameters": config.parameters, "steps": config.steps}
        commit = {**commit, keys.GROUP: self.name, keys.SIMULATION: json.dumps(settings, default=str)}
        per_table = {name: {keys.ROWS: len(data), keys.ROW_HASH: fingerprint(data)} for name, data in tables.items()}
        written = store.publish_group(self.name, tables, commit, per_table)
        context.log.info(f"Published simulation {self.name!r}: {written}")
        return {name: Published(written[name], store.table_uri(f"{self.name}/{name}"), len(tables[name])) for name in tables}


def _boolean_shares(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The share of True in each boolean column (a labelled rare event, such as fraud), for MLflow."""
    return {f"share.{n}.{c}": float(f[c].mean()) for n, f in tables.items() for c in f.columns if f[c].dtype == bool and len(f)}


register_kind(lambda config: isinstance(config, SimulationConfig), SimulationRun)
