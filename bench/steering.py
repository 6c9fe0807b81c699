"""Steering settings on real tables, through the real refresh job: a rebalanced twin of a rare
class and fair twins, each beside a plain twin of the same synthesizer, and what a downstream
model learns from them; then partially synthetic and hybrid tables.

Parts (`--parts`, in this order by default):

- `rare`: ISLR's credit-card Default table (10,000 customers, `default` "Yes" in 3.3%; the split
  holds out 20%). Per synthesizer, a plain twin and a rebalanced one
  (`rebalance: {column: default, shares: {Yes: 0.3}}`). Each twin: its Yes share, quality (a
  steered twin's against the real rows drawn to its plan), class fidelity of the Yes class (the
  column shapes of its Yes rows against the real Yes rows), the class margin a rebalanced version
  logs (that fidelity less its Yes rows' fidelity to the real No rows; the `class_fidelity` gate
  blocks below 0) and the synthetic defaulters' mean balance against the real defaulters'. Then
  the downstream model (`score_training_set`, the gradient boosting the `<table>/downstream`
  asset trains) learns `default` from the real training rows, a twin, or both, and is scored on
  the split's real holdout: recall and average precision (PR-AUC) of the Yes class, ROC-AUC.
- `parity`: a seeded 10,000-row slice of Adult. Per synthesizer, a plain twin and a fair one
  (`fairness: {target: income, sensitive: gender, method: conditions}`); for TabularARGN also a
  fair twin by the engine's own fairness mode (`method: engine`). Each twin's `>50K` rate per
  gender and its parity gap against the real training rows', quality, and the method its commit
  records (`steering`). The downstream model learns `income` from each and is scored on the real
  holdout: accuracy, ROC-AUC, and the parity gap of its own predictions (its predicted `>50K`
  rate per gender on the holdout).
- `partial`: partially synthetic and hybrid tables, TabularARGN only (SDV's
  `sample_remaining_columns` takes about 85 ms a row). The Adult slice with
  `synthesize_columns: [income, capital-gain]`, then `[age, hours-per-week, occupation]` with
  `target: income`: rows published, quality, the privacy measures the version logs
  (`exact_copy_share`, `dcr_closer_to_training_share`, `value_leak_share`) and
  `real_cells_kept_share`, and per generated column the share of rows whose generated value is
  the real one (published rows joined to their source row on the kept columns), beside the share
  a value drawn from the column's real distribution would match. The Palmer penguins with
  `impute: [sex, body_mass_g]`: cells imputed per column, nulls left, quality and the same
  measures; then 30 known `sex` values masked (seeded) and imputed, against the majority class
  and a gradient boosting trained on the known rows.

Each twin is one refresh of a fresh data folder with fixed seeds (the sampling seed, the split
seed, numpy's and torch's global generators during the run, TabularARGN's `random_state`); torch
training is bounded by epochs (TVAE `--tvae-epochs`, TabularARGN `--argn-epochs` and, in the
`partial` part, `--partial-epochs`, with no time budget), so a figure does not depend on the
machine's speed. Every gate is set to `warn`, so each twin publishes whatever it scores; the
gates a twin failed (those that would have blocked it) are listed beside it. The load average is
printed before and after each part.

Run with `make bench-steering` (`BENCH_STEERING_ARGS="--parts rare --tvae-epochs 50"`).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from synthpipe.assets.evaluation.utility import TrainingScore
    from synthpipe.assets.split import SourceSplit
    from synthpipe.assets.steering import Parity

warnings.filterwarnings("ignore")

__all__ = ["Twin", "refresh_twin", "synthesizer_settings"]

SEED = 5  # the twins' sampling seed; the split keeps its default `split_seed` (0)


def gates() -> list[str]:
    """Every gate a table may set a severity for: the keys `gate_severity` accepts."""
    import typing

    from synthpipe.shared_config import Evaluated

    key = typing.get_args(Evaluated.model_fields["gate_severity"].annotation)[0]
    return list(typing.get_args(key))


TRAIN_ON = ["real", "synthetic", "real+synthetic"]


@dataclass(frozen=True)
class Twin:
    """One published twin and the real rows it was refreshed from.

    `split` is the source asset's output (the real training and holdout rows, as the job split
    them); `quality` the quality score the commit records; `metrics` the MLflow metrics of the
    version's run (`class_fidelity.<class>`, `parity_gap_synthetic`, ...); `steering` what the
    commit records under `steering`; `generated_columns` what it records under
    `generated_columns` (partially synthetic and hybrid tables); `warned` the gates the twin
    failed, which only warned.
    """

    split: SourceSplit
    data: pd.DataFrame
    quality: float
    metrics: dict[str, float]
    steering: dict[str, Any]
    generated_columns: dict[str, list[str]]
    warned: list[str]
    fit_seconds: float
    run_seconds: float


def synthesizer_settings(tvae_epochs: int, argn_epochs: int) -> dict[str, dict[str, Any]]:
    """The synthesizers compared, by label, as table settings; TabularARGN only where installed."""
    from synthpipe.extras import argn_engine_available

    candidates: dict[str, dict[str, Any]] = {
        "GaussianCopula": {"synthesizer": "gaussian_copula"},
        "TVAE": {"synthesizer": "tvae", "synthesizer_params": {"epochs": tvae_epochs}},
    }
    if argn_engine_available():
        params = {"max_epochs": argn_epochs, "random_state": 0}
        candidates["TabularARGN"] = {"synthesizer": "argn", "synthesizer_params": params}
    return candidates


def refresh_twin(source: pd.DataFrame, table: Mapping[str, Any]) -> Twin:
    """Runs the refresh job on `source` (one DuckDB table named `table["name"]`) in a fresh data
    folder, every gate a warning, and reads back the published rows, the commit and MLflow.

    Args:
        source: The real table.
        table: The table's settings (`name` and whatever the twin sets).

    Examples:
        >>> twin = refresh_twin(load_default(), {"name": "credit", "rebalance": {"column": "default", "shares": {"Yes": 0.3}}})  # doctest: +SKIP
        >>> (twin.data["default"] == "Yes").mean()  # doctest: +SKIP
        0.3
    """
    import dagster as dg

    from synthpipe.demo_data import write_duckdb_table
    from synthpipe.factory import REFRESH_JOB, build_synthpipe_defs
    from synthpipe.resources.backends import global_seed
    from synthpipe.resources.snapshots import DeltaSnapshotStore
    from synthpipe.resources.tracking import MlflowTracker

    name = table["name"]
    with tempfile.TemporaryDirectory(prefix="synthpipe-bench-") as folder, dg.instance_for_test() as instance:
        write_duckdb_table(Path(folder) / "sources" / "bench.duckdb", name, source)
        settings = {"seed": SEED, **table, "gate_severity": dict.fromkeys(gates(), "warn")}
        config = {"data_dir": folder, "source": {"kind": "duckdb", "database": "sources/bench.duckdb"}, "tables": [settings]}
        job = build_synthpipe_defs(config).resolve_job_def(REFRESH_JOB)
        started = time.perf_counter()
        with global_seed(0):  # TVAE's and GaussianCopula's fits draw from the global generators
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        run_seconds = time.perf_counter() - started
        if not result.success:
            failure = next((e.message for e in result.all_events if e.is_step_failure), "no step failed")
            raise SystemExit(f"the refresh of {name!r} ({json.dumps(table)}) failed: {failure}")
        [fitted] = result.asset_materializations_for_node(f"{name}__synthesizer")
        store = DeltaSnapshotStore(root=str(Path(folder) / "snapshots"))
        [commit] = store.history(name)
        tracker = MlflowTracker(tracking_uri=f"sqlite:///{Path(folder) / 'mlflow' / 'mlflow.db'}")
        return Twin(
            split=result.output_for_node(f"{name}__source"),
            data=store.read(name),
            quality=float(commit["quality_score"]),
            metrics=dict(tracker.client.get_run(commit["mlflow_run_id"]).data.metrics),
            steering=json.loads(commit.get("steering") or "{}"),
            generated_columns=json.loads(commit.get("generated_columns") or "{}"),
            warned=sorted(e.check_name for e in result.get_asset_check_evaluations() if not e.passed),
            fit_seconds=fitted.metadata["synthpipe/fit_seconds"].value,
            run_seconds=run_seconds,
        )


def _scores(table: Mapping[str, Any], twin: Twin, target: str) -> dict[str, tuple[pd.DataFrame, TrainingScore]]:
    """The downstream model trained on the real training rows, the twin, and both, each scored
    on the split's real holdout; the frames are those the `<table>/downstream` asset trains on."""
    from synthpipe.assets.downstream import training_frames
    from synthpipe.assets.evaluation.utility import score_training_set
    from synthpipe.config import TableConfig

    config = TableConfig.model_validate({**table, "target": target, "train_on": TRAIN_ON})
    frames = training_frames(config, twin.split, twin.data)
    return {name: (frames[name], score_training_set(frames[name], frames["holdout"], target, frames["real"])) for name in TRAIN_ON}


def _load() -> str:
    return "(" + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + ")"


def _warned(twin: Twin) -> str:
    return ", ".join(twin.warned) or "none"


# --- part 1: a rare class ---------------------------------------------------------------------


def rare_class(args: argparse.Namespace, candidates: Mapping[str, Mapping[str, Any]]) -> None:
    """Plain and rebalanced twins of the Default table, and the downstream model on each."""
    from synthpipe.assets.checks.steering import class_fidelity
    from synthpipe.assets.steering import class_shares
    from synthpipe.demo_data import load_default

    source = load_default()
    base = {"name": "credit"}
    twins_settings = {"plain": {}, "rebalanced": {"rebalance": {"column": "default", "shares": {"Yes": args.yes_share}}}}
    print(
        f"Default: {len(source):,} rows, Yes {class_shares(source, 'default')['Yes']:.1%}; holdout 20% (split seed 0); "
        f"rebalanced twins ask for Yes {args.yes_share:.0%}; twins as many rows as the source; sampling seed {SEED}\n"
    )
    twin_rows, model_rows, real_row = [], [], None
    for label, settings in candidates.items():
        for kind, steering in twins_settings.items():
            table = {**base, **settings, **steering}
            twin = refresh_twin(source, table)
            real, holdout = twin.split.train, twin.split.holdout  # the same split for every twin
            yes = twin.data[twin.data["default"] == "Yes"]
            twin_rows.append(
                f"| {label} | {kind} | {class_shares(twin.data, 'default').get('Yes', 0.0):.1%} | {twin.quality:.3f} | "
                f"{class_fidelity(real, twin.data, 'default', 'Yes'):.3f} | {yes['balance'].mean():.0f} "
                f"({real.loc[real['default'] == 'Yes', 'balance'].mean():.0f}) | {yes['income'].mean():,.0f} "
                f"({real.loc[real['default'] == 'Yes', 'income'].mean():,.0f}) | {_margin(twin)} | {_warned(twin)} | {twin.fit_seconds:.1f} | {twin.run_seconds:.1f} |"
            )
            scores = _scores(table, twin, "default")
            if real_row is None:
                real_row = _rare_model_row("real training rows", "-", *scores["real"])
            model_rows.append(_rare_model_row(f"{kind} twin", label, *scores["synthetic"]))
            model_rows.append(_rare_model_row(f"real + {kind} twin", label, *scores["real+synthetic"]))
    print(
        "| synthesizer | twin | Yes share | quality | class fidelity (Yes) | Yes mean balance (real) | Yes mean income (real) | "
        "class margin (gate class_fidelity) | gates failed (warned) | fit s | refresh s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(twin_rows))
    print(
        f"\nDownstream: gradient boosting learns `default`, scored on the same {len(holdout):,} real holdout rows "
        f"({(holdout['default'] == 'Yes').sum()} Yes); recall and PR-AUC of the Yes class\n"
    )
    print("| trained on | synthesizer | rows | Yes share | Yes recall | PR-AUC | ROC-AUC |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join([real_row, *model_rows]))


def _margin(twin: Twin) -> str:
    """The `class_margin` a rebalanced version logs: its Yes rows' fidelity to the real Yes rows
    less their fidelity to the real No rows (the `class_fidelity` gate blocks below 0)."""
    return f"{twin.metrics['class_margin']:+.3f}" if "class_margin" in twin.metrics else "-"


def _rare_model_row(trained_on: str, label: str, frame: pd.DataFrame, score: TrainingScore) -> str:
    return (
        f"| {trained_on} | {label} | {score.rows:,} | {(frame['default'] == 'Yes').mean():.1%} | {score.minority_recall:.3f} | "
        f"{score.pr_auc:.3f} | {score.score:.3f} |"
    )


# --- part 2: parity ---------------------------------------------------------------------------


def _fair_twins(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The parity part's twins of one synthesizer: plain, fair by conditions, and on TabularARGN
    fair by the engine's own mode."""
    fair = {"target": "income", "sensitive": "gender"}
    twins: dict[str, dict[str, Any]] = {"plain": {}, "fair": {"fairness": {**fair, "method": "conditions"}}}
    if settings.get("synthesizer") == "argn":
        twins["fair (engine)"] = {"fairness": {**fair, "method": "engine"}}
    return twins


def parity(args: argparse.Namespace, candidates: Mapping[str, Mapping[str, Any]]) -> None:
    """Plain and fair twins of an Adult slice, and the downstream model on each."""
    from synthpipe.assets.steering import parity_gap
    from synthpipe.config import FairnessConfig
    from synthpipe.demo_data import load_adult

    source = load_adult(rows=args.adult_rows, seed=args.adult_seed)
    base = {"name": "adult"}
    max_gap = FairnessConfig.model_fields["max_parity_gap"].default
    print(
        f"Adult: a {len(source):,}-row slice (seed {args.adult_seed}); holdout 20% (split seed 0); fair twins ask for "
        f"statistical parity of income across gender (gate `fairness`: gap at most {max_gap}), by `method: conditions` "
        f"(every synthesizer) and, on TabularARGN, `method: engine`; sampling seed {SEED}\n"
    )
    twin_rows, model_rows, real_rows = [], [], None
    for label, settings in candidates.items():
        for kind, steering in _fair_twins(settings).items():
            table = {**base, **settings, **steering}
            twin = refresh_twin(source, table)
            method = twin.steering.get("fairness", {}).get("method", "-")
            if real_rows is None:
                twin_rows.append(_parity_twin_row("real training rows", "-", "-", parity_gap(twin.split.train, "income", "gender"), None, []))
            twin_rows.append(_parity_twin_row(f"{kind} twin", label, method, parity_gap(twin.data, "income", "gender"), twin.quality, twin.warned))
            scores = _scores(table, twin, "income")
            holdout = twin.split.holdout
            if real_rows is None:
                real_rows = _parity_model_row("real training rows", "-", "-", scores["real"][1], _predictions(twin.split.train, holdout, twin.split.train))
            model_rows.append(_parity_model_row(f"{kind} twin", label, method, scores["synthetic"][1], _predictions(scores["synthetic"][0], holdout, twin.split.train)))
    print("| rows | synthesizer | method (recorded) | >50K rate, Female | >50K rate, Male | parity gap | quality | gates failed (warned) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(twin_rows))
    print(
        f"\nDownstream: gradient boosting learns `income`, scored on the same {len(holdout):,} real holdout rows "
        f"(real parity gap {parity_gap(holdout, 'income', 'gender').gap:.3f}); the predictions' >50K rate per gender on them\n"
    )
    print("| trained on | synthesizer | method | accuracy | ROC-AUC | >50K recall | predicted >50K, Female | predicted >50K, Male | prediction parity gap |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join([real_rows, *model_rows]))


def _parity_twin_row(rows: str, label: str, method: str, gap: Parity, quality: float | None, warned: list[str]) -> str:
    rate = lambda group: gap.rates.get(group, {}).get(">50K", 0.0)  # noqa: E731
    shown = "-" if quality is None else f"{quality:.3f}"
    failed = "-" if quality is None else (", ".join(warned) or "none")
    return f"| {rows} | {label} | {method} | {rate('Female'):.3f} | {rate('Male'):.3f} | {gap.gap:.3f} | {shown} | {failed} |"


def _predictions(train: pd.DataFrame, holdout: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The holdout with `income` replaced by what the model trained on `train` predicts (the
    model `score_training_set` trains: same features from the real rows, same seed)."""
    from synthpipe.assets.evaluation.utility import _Features, task_of, train_model

    features = _Features(reference.drop(columns=["income"]))
    model = train_model(train.dropna(subset=["income"]), "income", task_of(reference["income"]), features, 0)
    predicted = holdout.copy()
    predicted["predicted"] = model.predict(features.transform(holdout.drop(columns=["income"])))
    return predicted


def _parity_model_row(trained_on: str, label: str, method: str, score: TrainingScore, predicted: pd.DataFrame) -> str:
    from synthpipe.assets.steering import parity_gap

    accuracy = (predicted["predicted"] == predicted["income"].astype(str)).mean()
    gap = parity_gap(predicted, "predicted", "gender")
    rate = lambda group: gap.rates.get(group, {}).get(">50K", 0.0)  # noqa: E731
    return (
        f"| {trained_on} | {label} | {method} | {accuracy:.3f} | {score.score:.3f} | {score.minority_recall:.3f} | "
        f"{rate('Female'):.3f} | {rate('Male'):.3f} | {gap.gap:.3f} |"
    )


# --- part 3: partially synthetic and hybrid tables ---------------------------------------------

PARTIAL_SEED = 1  # TabularARGN's `random_state` in this part


def partial(args: argparse.Namespace, candidates: Mapping[str, Mapping[str, Any]]) -> None:
    """Partially synthetic twins of the Adult slice and hybrid twins of the Palmer penguins,
    TabularARGN only (SDV's `sample_remaining_columns` takes about 85 ms a row)."""
    from synthpipe.demo_data import load_adult, load_penguins

    if "TabularARGN" not in candidates:
        print("TabularARGN is not among the synthesizers run (or not installed); the partial part needs it.")
        return
    params = {"max_epochs": args.partial_epochs, "random_state": PARTIAL_SEED}
    argn = {"synthesizer": "argn", "synthesizer_params": params}
    print(f"TabularARGN {json.dumps(params)}; holdout 20% (split seed 0), never published; sampling seed {SEED}\n")

    source = load_adult(rows=args.adult_rows, seed=args.adult_seed)
    configs = {
        "income, capital-gain": {"synthesize_columns": ["income", "capital-gain"]},
        "age, hours-per-week, occupation": {"synthesize_columns": ["age", "hours-per-week", "occupation"], "target": "income"},
    }
    print(f"Partially synthetic: the Adult slice ({len(source):,} rows, seed {args.adult_seed}), `synthesize_columns`\n")
    rows, columns = [], []
    for generated, settings in configs.items():
        twin = refresh_twin(source, {"name": "adult", **argn, **settings})
        named = twin.generated_columns.get("synthesize_columns", [])
        m = twin.metrics
        metric = next((k.removeprefix("utility_real_") for k in m if k.startswith("utility_real_")), "")
        utility = f"{m['utility_ratio']:.3f} ({metric})" if "utility_ratio" in m else "-"
        rows.append(
            f"| {generated} | {json.dumps(named)} | {len(twin.data):,} | {twin.quality:.3f} | {m['exact_copy_share']:.3f} | "
            f"{m['dcr_closer_to_training_share']:.3f} | {m['value_leak_share']:.4f} | {m['real_cells_kept_share']:.3f} | {utility} | "
            f"{_warned(twin)} | {twin.fit_seconds:.1f} | {twin.run_seconds:.1f} |"
        )
        kept = [c for c in source.columns if c not in named]
        joined = twin.data.merge(source.drop_duplicates(subset=kept, keep=False), on=kept, suffixes=("", "_real"))
        for column in named:
            columns.append(
                f"| {generated} | {column} | {source[column].nunique()} | {len(joined):,} | "
                f"{_equal(joined[column], joined[column + '_real']).mean():.3f} | {_chance(twin.split.train[column]):.3f} |"
            )
    print(
        "| generated | generated_columns (recorded) | rows published | quality | exact_copy_share | dcr_closer_to_training_share | "
        "value_leak_share | real_cells_kept_share | utility ratio (target income) | gates failed (warned) | fit s | refresh s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        "\nPer generated column: the published rows joined to their source row on the kept columns (source rows whose kept "
        "values repeat left out); the share whose generated value is the real one, and the share a value drawn from the "
        "column's real distribution (training rows) would match (the sum of its values' squared shares)\n"
    )
    print("| generated | column | distinct real values | rows joined | generated = real | drawn from the distribution = real |")
    print("|---|---|---|---|---|---|")
    print("\n".join(columns))

    penguins = load_penguins()
    imputed = ["sex", "body_mass_g"]
    print(
        f"\nHybrid: the Palmer penguins ({len(penguins)} rows; missing: "
        + ", ".join(f"{c} {n}" for c, n in penguins.isna().sum().items() if n)
        + f"), `impute: {json.dumps(imputed)}`\n"
    )
    twin = refresh_twin(penguins, {"name": "penguins", **argn, "impute": imputed})
    print(
        "| impute (recorded) | rows published | cells imputed, sex | cells imputed, body_mass_g | nulls left in sex, body_mass_g | "
        "nulls left, other columns | quality | value_leak_share | real_cells_kept_share | dcr_closer_to_training_share | "
        "gates failed (warned) | fit s | refresh s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(_hybrid_row(twin, imputed))

    masked_source, masked = _mask(penguins, "sex", args.mask_cells, args.mask_seed)
    twin = refresh_twin(masked_source, {"name": "penguins", **argn, "impute": imputed})
    print(
        f"\nImputation accuracy: {args.mask_cells} known `sex` values masked (seed {args.mask_seed}) in a copy of the table, "
        "the same hybrid twin refreshed from the copy; a masked cell counts where its row is published (a training row, "
        "found by its other columns)\n"
    )
    print(
        "| rows published | cells imputed, sex | masked cells published | of them flagged imputed | imputed sex = real | "
        "majority class = real | gradient boosting on the known training rows = real | gates failed (warned) | refresh s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(_mask_row(twin, penguins, masked, imputed))


def _hybrid_row(twin: Twin, imputed: list[str]) -> str:
    from synthpipe.assets.kinds.partial import IMPUTED_SUFFIX

    data, m = twin.data, twin.metrics
    companions = [c + IMPUTED_SUFFIX for c in imputed]
    others = data.drop(columns=[*imputed, *companions]).isna().sum()
    dcr = f"{m['dcr_closer_to_training_share']:.3f}" if "dcr_closer_to_training_share" in m else "not logged"
    return (
        f"| {json.dumps(twin.generated_columns.get('impute', []))} | {len(data)} | {int(data['sex' + IMPUTED_SUFFIX].sum())} | "
        f"{int(data['body_mass_g' + IMPUTED_SUFFIX].sum())} | {int(data[imputed].isna().sum().sum())} | "
        f"{', '.join(f'{c} {n}' for c, n in others.items() if n) or '0'} | {twin.quality:.3f} | {m['value_leak_share']:.4f} | "
        f"{m['real_cells_kept_share']:.3f} | {dcr} | {_warned(twin)} | {twin.fit_seconds:.1f} | {twin.run_seconds:.1f} |"
    )


def _mask(source: pd.DataFrame, column: str, cells: int, seed: int) -> tuple[pd.DataFrame, pd.Index]:
    """A copy of `source` with `cells` known values of `column` emptied (seeded), and their rows."""
    import numpy as np

    known = source.index[source[column].notna()]
    masked = pd.Index(np.sort(np.random.default_rng(seed).choice(known, size=cells, replace=False)))
    copy = source.copy()
    copy.loc[masked, column] = np.nan
    return copy, masked


def _mask_row(twin: Twin, source: pd.DataFrame, masked: pd.Index, imputed: list[str]) -> str:
    """The masked `sex` cells' imputed values against the real ones, beside the majority class of
    the training rows' known sex and a gradient boosting trained on those rows (the utility
    model, features from the same rows)."""
    from synthpipe.assets.evaluation.utility import _Features, train_model
    from synthpipe.assets.kinds.partial import IMPUTED_SUFFIX

    keys = [c for c in source.columns if c not in imputed]
    real = source.rename_axis("source_row").reset_index().drop_duplicates(subset=keys, keep=False)
    joined = twin.data.merge(real[["source_row", *keys, "sex"]], on=keys, suffixes=("", "_real"))
    found = joined[joined["source_row"].isin(masked)]
    known = twin.split.train.dropna(subset=["sex"])
    majority = known["sex"].value_counts().idxmax()
    features = _Features(known.drop(columns=["sex"]))
    model = train_model(known, "sex", "classification", features, 0)
    predicted = pd.Series(model.predict(features.transform(found[known.drop(columns=["sex"]).columns])), index=found.index)
    real_sex = found["sex_real"]

    def share(hits: pd.Series, note: str = "") -> str:
        return f"{hits.mean():.3f} ({int(hits.sum())}{'; ' + note if note else ''})"

    return (
        f"| {len(twin.data)} | {int(twin.data['sex' + IMPUTED_SUFFIX].sum())} | {len(found)} of {len(masked)} | "
        f"{int(found['sex' + IMPUTED_SUFFIX].sum())} | {share(found['sex'] == real_sex)} | {share(real_sex == majority, majority)} | "
        f"{share(predicted.astype(str) == real_sex.astype(str))} | {_warned(twin)} | {twin.run_seconds:.1f} |"
    )


def _equal(generated: pd.Series, real: pd.Series) -> pd.Series:
    """Cell by cell, whether the generated value is the real one (numbers compared as numbers)."""
    numeric = pd.api.types.is_numeric_dtype(generated) and pd.api.types.is_numeric_dtype(real)
    if numeric:
        return generated.astype(float) == real.astype(float)
    return generated.astype(str) == real.astype(str)


def _chance(real: pd.Series) -> float:
    """The share of rows a value drawn from `real`'s distribution would match: the sum of the
    squared shares of its values."""
    shares = real.value_counts(normalize=True, dropna=False)
    return float((shares**2).sum())


PARTS: dict[str, Callable[[argparse.Namespace, Mapping[str, Mapping[str, Any]]], None]] = {"rare": rare_class, "parity": parity, "partial": partial}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which parts to run, in order (of {', '.join(PARTS)})")
    parser.add_argument("--synthesizers", default=None, help="labels of the synthesizers to run (default: all available)")
    parser.add_argument("--tvae-epochs", type=int, default=100, help="TVAE's epochs")
    parser.add_argument("--argn-epochs", type=int, default=20, help="TabularARGN's epochs (no time budget)")
    parser.add_argument("--yes-share", type=float, default=0.3, help="the Yes share the rebalanced Default twins ask for")
    parser.add_argument("--adult-rows", type=int, default=10_000, help="rows of the Adult slice")
    parser.add_argument("--adult-seed", type=int, default=7, help="seed of the Adult slice")
    parser.add_argument("--partial-epochs", type=int, default=20, help="TabularARGN's epochs in the partial part (no time budget)")
    parser.add_argument("--mask-cells", type=int, default=30, help="known penguin sex values masked to measure imputation")
    parser.add_argument("--mask-seed", type=int, default=0, help="seed of the masked cells")
    args = parser.parse_args()
    unknown = [name for name in args.parts.split(",") if name not in PARTS]
    if unknown:
        parser.error(f"--parts: {', '.join(map(repr, unknown))} is not a part; the parts are {', '.join(PARTS)}")

    import torch

    candidates = synthesizer_settings(args.tvae_epochs, args.argn_epochs)
    if args.synthesizers:
        unknown = [label for label in args.synthesizers.split(",") if label not in candidates]
        if unknown:
            parser.error(f"--synthesizers: {', '.join(map(repr, unknown))} is not available; choose from {', '.join(candidates)}")
        candidates = {label: candidates[label] for label in args.synthesizers.split(",")}
    if "TabularARGN" not in candidates and not args.synthesizers:
        print("TabularARGN is not installed (make install installs it); its rows are left out.\n")
    print(
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads, no GPU; every gate set to warn "
        f"({', '.join(gates())}) so that every twin publishes; settings: {json.dumps(candidates)}\n"
    )
    for name in args.parts.split(","):
        print(f"## {name}\n\nload average (1, 5, 15 min) before: {_load()}\n")
        started = time.perf_counter()
        PARTS[name](args, candidates)
        print(f"\nload average (1, 5, 15 min) after: {_load()}; {time.perf_counter() - started:.0f} s\n")


if __name__ == "__main__":
    main()
