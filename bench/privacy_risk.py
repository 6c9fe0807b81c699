"""Privacy a data protection officer can sign: the attack risks and DCR of each synthesizer's
twin of Adult beside a verbatim copy, and what differential privacy costs in quality and utility.

Parts (`--parts`, in this order by default):

- `attacks`: a seeded 10,000-row slice of Adult (the split holds out 20%). Per synthesizer
  (GaussianCopula, TVAE, TabularARGN) one refresh through the real job with `target: income`
  and the attacks on 2,000-row samples (`attack_rows`); then a verbatim copy of the same training
  rows, measured by the same functions against the same split. Each: quality, utility ratio,
  the size-corrected DCR share with its 95% interval, and the singling-out, linkability and
  inference risks with their intervals (anonymeter, the holdout as control).
- `dp`: TabularARGN with `privacy: {epsilon: E}` for each `--epsilons` value and without:
  quality, utility, the ε and δ spent as the version records them, DCR and the inference risk.
  With the default noise (1.5) a budget of 10 lasts hundreds of epochs, so each budget gets the
  noise multiplier that spends it in `--argn-epochs` epochs (Opacus' RDP calibration, for the
  engine's batch of 64 of 90% of the training rows); training stops at the budget, the epoch
  cap or early stopping, whichever comes first.

Training is bounded by epochs (TVAE `--tvae-epochs`, TabularARGN `--argn-epochs`, no time
budget) and every gate only warns, so each twin publishes whatever it scores. The load average
is printed before and after each part.

Run with `make bench-privacy-risk` (`BENCH_PRIVACY_RISK_ARGS="--parts attacks"`).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import pandas as pd

from bench.steering import Twin, refresh_twin, synthesizer_settings

ROWS = 10_000


def _load() -> str:
    return "(" + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + ")"


def columns_of(frame: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {c: {"sdtype": "numerical" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical"} for c in frame.columns}


def _interval(metrics: dict[str, float], name: str) -> str:
    value, low, high = metrics.get(name), metrics.get(f"{name}_low"), metrics.get(f"{name}_high")
    if value is None:
        return "-"
    return f"{value:.3f} ({low:.3f}-{high:.3f})" if low is not None else f"{value:.3f} (-{high:.3f})" if high is not None else f"{value:.3f}"


def _risk_cells(metrics: dict[str, float]) -> list[str]:
    cells = [_interval({"dcr": metrics["dcr_closer_to_training_share"], "dcr_low": metrics["dcr_closer_share_low"],
                        "dcr_high": metrics["dcr_closer_share_high"]}, "dcr")]
    for attack in ("singling_out", "linkability", "inference"):
        value, high = metrics.get(f"{attack}_risk"), metrics.get(f"{attack}_risk_high")
        cells.append("-" if value is None else f"{value:.3f} (≤ {high:.3f})")
    return cells


def copy_metrics(twin: Twin) -> dict[str, float]:
    """A verbatim copy of the twin's training rows, measured as the refresh measures a candidate."""
    from synthpipe.assets.evaluation.attacks import evaluate_attacks
    from synthpipe.assets.evaluation.privacy import evaluate_privacy

    split = twin.split
    columns = columns_of(split.fit)
    copy = split.fit.sample(min(len(split.fit), 20_000), random_state=5).reset_index(drop=True)
    privacy = evaluate_privacy(copy, split.fit, split.holdout, columns, seed=5)
    attacks = evaluate_attacks(copy, split.fit, split.holdout, columns, seed=5, synthetic_rows=len(copy))
    return {**privacy.as_metrics(), **attacks.as_metrics()}


def attacks_part(source: pd.DataFrame, tvae_epochs: int, argn_epochs: int) -> None:
    print(f"\n## Attack risks on a {len(source):,}-row Adult slice {_load()}\n")
    print("| twin | quality | utility ratio | DCR share (95% interval) | singling out | linkability | inference (riskiest secret) | refresh s |")
    print("|---|---|---|---|---|---|---|---|")
    last = None
    for label, settings in synthesizer_settings(tvae_epochs, argn_epochs).items():
        twin = refresh_twin(source, {"name": "adult", **settings, "target": "income", "attack_rows": 2000})
        m = twin.metrics
        print(f"| {label} | {twin.quality:.3f} | {m.get('utility_ratio', float('nan')):.3f} | " + " | ".join(_risk_cells(m)) + f" | {twin.run_seconds:.0f} |", flush=True)
        last = twin
    if last is not None:
        m = copy_metrics(last)
        print("| verbatim copy of the training rows | - | - | " + " | ".join(_risk_cells(m)) + " | - |")
    print(f"\nload after: {_load()}")


def calibrated_noise(epsilon: float, fit_rows: int, epochs: int, batch: int = 64) -> float:
    """DP-SGD's noise multiplier that spends what `epsilon` leaves after the value analysis
    (a tenth, at most 1) in `epochs` epochs over the engine's 90% training share of `fit_rows`."""
    from opacus.accountants.utils import get_noise_multiplier

    from synthpipe.table_config import PrivacyConfig

    sgd_epsilon = epsilon - PrivacyConfig(epsilon=epsilon).value_budget
    sample_rate = batch / (0.9 * fit_rows)
    return float(get_noise_multiplier(target_epsilon=sgd_epsilon, target_delta=1e-5, sample_rate=sample_rate, epochs=epochs, accountant="rdp"))


def dp_part(source: pd.DataFrame, epsilons: list[float], argn_epochs: int) -> None:
    from synthpipe.extras import argn_engine_available

    if not argn_engine_available():
        print("\nTabularARGN is not installed: no differential-privacy part")
        return
    print(f"\n## Differential privacy: TabularARGN on a {len(source):,}-row Adult slice {_load()}\n")
    print("| privacy | ε spent | δ | quality | utility ratio | DCR share (95% interval) | inference | refresh s |")
    print("|---|---|---|---|---|---|---|---|")
    params = {"max_epochs": argn_epochs, "random_state": 0}
    for epsilon in [*epsilons, None]:
        table: dict[str, Any] = {"name": "adult", "synthesizer": "argn", "synthesizer_params": params, "target": "income", "attack_rows": 2000}
        if epsilon is not None:
            noise = calibrated_noise(epsilon, int(0.8 * len(source)), argn_epochs)
            print(f"<!-- ε ≤ {epsilon:g}: noise multiplier {noise:.3f} -->", flush=True)
            table["privacy"] = {"epsilon": epsilon, "noise_multiplier": round(noise, 3)}
        twin = refresh_twin(source, table)
        m = twin.metrics
        spent = m.get("dp_epsilon_spent")
        delta = m.get("dp_delta")
        cells = _risk_cells(m)
        print(
            f"| {'ε ≤ ' + format(epsilon, 'g') if epsilon is not None else 'none'} | {spent if spent is None else format(spent, '.2f')} | "
            f"{'-' if delta is None else format(delta, 'g')} | {twin.quality:.3f} | {m.get('utility_ratio', float('nan')):.3f} | {cells[0]} | {cells[3]} | "
            f"{twin.run_seconds:.0f} |",
            flush=True,
        )
    print(f"\nload after: {_load()}")


def main() -> None:
    from synthpipe.demo_data import load_adult

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["attacks", "dp"], choices=["attacks", "dp"])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--tvae-epochs", type=int, default=100)
    parser.add_argument("--argn-epochs", type=int, default=20)
    parser.add_argument("--epsilons", nargs="+", type=float, default=[1.0, 4.0, 10.0])
    arguments = parser.parse_args()
    source = load_adult(rows=arguments.rows, seed=3)
    print(f"# Privacy risk ({os.cpu_count()} cores)")
    if "attacks" in arguments.parts:
        attacks_part(source, arguments.tvae_epochs, arguments.argn_epochs)
    if "dp" in arguments.parts:
        dp_part(source, arguments.epsilons, arguments.argn_epochs)


if __name__ == "__main__":
    main()
