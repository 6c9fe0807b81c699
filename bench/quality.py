"""Synthesizers side by side on the Adult demo table with the same CPU training budget.

SDV GaussianCopula (no training loop: it fits in seconds whatever the budget), SDV TVAE (its
epochs sized to the budget from timed probes) and TabularARGN (`max_training_time` set
to the budget) learn the same seeded training rows; each then samples rows that are scored
against real rows as a refresh scores them:
  - quality: SDMetrics' quality report against training rows,
  - DCR closer-to-training share and exact copies, against training and holdout rows,
  - train-on-synthetic / train-on-real ratio of the `income` classifier on the real holdout,
  - fit seconds and the seconds to sample `--sample-rows` rows.

Run with `make bench-quality` (`BENCH_QUALITY_ARGS="--budget-seconds 60"` for a short run).
"""

import argparse
import time
import warnings

warnings.filterwarnings("ignore")

TARGET = "income"


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _tvae_epochs(metadata, train, budget_seconds: float) -> int:
    """Epochs TVAE can run in the budget, from two timed probes (3 and 12 epochs) after a
    discarded warm-up fit. The time per epoch is the probes' difference, floored at a quarter
    of the longer probe's average so that timing noise cannot inflate the epoch count."""
    from synthpipe.resources.synthesizers import build_synthesizer, fit_synthesizer

    def probe(epochs: int) -> float:
        return fit_synthesizer(build_synthesizer("tvae", {"epochs": epochs}, metadata, "adult"), "adult", train)

    probe(1)
    short, long = probe(3), probe(12)
    per_epoch = max((long - short) / 9, long / 12 / 4)
    preparation = max(short - 3 * per_epoch, 0.0)
    return max(3, int((budget_seconds - preparation) / per_epoch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-seconds", type=float, default=240.0, help="CPU training budget of each trained synthesizer")
    parser.add_argument("--train-rows", type=int, default=10_000, help="training rows (seeded slice of Adult's training side)")
    parser.add_argument("--evaluation-rows", type=int, default=5_000, help="rows of each side compared by quality and privacy")
    parser.add_argument("--sample-rows", type=int, default=20_000, help="rows sampled for the sampling time")
    args = parser.parse_args()

    import torch

    from synthpipe.assets.evaluation.quality import evaluate_quality
    from synthpipe.assets.evaluation.privacy import evaluate_privacy
    from synthpipe.assets.split import split_holdout
    from synthpipe.assets.checks.table import table_columns
    from synthpipe.assets.evaluation.utility import evaluate_utility
    from synthpipe.demo_data import load_adult
    from synthpipe.resources.synthesizers import available_synthesizers, build_synthesizer, detect_metadata, fit_synthesizer, sample_rows

    adult = load_adult()
    training, holdout = split_holdout(adult, 0.2, 0)
    train = training.sample(n=min(args.train_rows, len(training)), random_state=0).reset_index(drop=True)
    holdout = holdout.sample(n=min(args.evaluation_rows, len(holdout)), random_state=0).reset_index(drop=True)
    real = train.sample(n=min(args.evaluation_rows, len(train)), random_state=1).reset_index(drop=True)
    metadata = detect_metadata("adult", train, {})
    table = metadata.get_table_metadata("adult").to_dict()
    budget = args.budget_seconds

    candidates = {
        "SDV GaussianCopula": ("gaussian_copula", {}),
        "SDV TVAE": ("tvae", {"epochs": _tvae_epochs(metadata, train, budget)}),
    }
    if "argn" in available_synthesizers():
        candidates["TabularARGN"] = ("argn", {"max_training_time": budget / 60, "random_state": 0})
    else:
        print("TabularARGN is not installed (make install installs it); its row is left out.\n")

    print(
        f"Adult: {len(train):,} training rows, {len(holdout):,} holdout rows, {budget:.0f} s training budget, "
        f"{torch.get_num_threads()} CPU threads, no GPU\n"
    )
    print("| synthesizer | settings | quality | DCR closer to training | exact copies | utility ratio (AUC) | fit s | sample s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, (name, params) in candidates.items():
        synthesizer = build_synthesizer(name, params, metadata, "adult")
        fit_s = fit_synthesizer(synthesizer, "adult", train)
        sampled, sample_s = _timed(lambda: sample_rows(synthesizer, args.sample_rows, seed=1))
        synthetic = sampled.iloc[: len(train)]
        quality = evaluate_quality(real, synthetic.iloc[: len(real)], table)
        privacy = evaluate_privacy(synthetic.iloc[: len(holdout)], real, holdout, table_columns(table, "adult"))
        utility = evaluate_utility(train, synthetic, holdout, TARGET)
        report = getattr(synthesizer, "training_report", None) or {}
        settings = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items() if k != "random_state")
        if report:
            settings += f" ({report['epoch']:g} epochs)"
        print(
            f"| {label} | {settings or 'defaults'} | {quality.score:.3f} | {privacy.dcr_closer_to_training_share:.3f} | "
            f"{privacy.exact_copy_share:.4f} | {utility.ratio:.3f} | {fit_s:.1f} | {sample_s:.2f} |"
        )


if __name__ == "__main__":
    main()
