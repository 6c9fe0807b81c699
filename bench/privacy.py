"""Distance to closest record: synthpipe's nearest-neighbour search against SDMetrics' cross join.

Builds a 125,000-row table from the real Adult table (resampled, with small integer jitter on
three numeric columns), fits a Gaussian copula on the original table, samples synthetic rows,
then measures in one run:
  1. SDMetrics' `calculate_dcr` and synthpipe's `closest_distances` on the same 2,000 x 2,000
     rows (and that the distances agree),
  2. synthpipe's full privacy evaluation (exact copies, DCR share, NNDR) of 100,000 synthetic
     rows against 100,000 training and 25,000 holdout rows,
  3. synthpipe's DCR of 100,000 synthetic rows against all 100,000 training rows.

Run with `make bench-privacy`.
"""

import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def _data() -> tuple:
    from synthpipe.demo_data import load_adult
    from synthpipe.resources.synthesizers import (
        build_synthesizer,
        detect_metadata,
        fit_synthesizer,
        sample_rows,
    )

    adult = load_adult()
    big = adult.sample(n=125_000, replace=True, random_state=0).reset_index(drop=True)
    jitter = np.random.default_rng(0)
    for column in ("age", "fnlwgt", "hours-per-week"):
        big[column] = (big[column] + jitter.integers(-2, 3, len(big))).clip(lower=adult[column].min())
    metadata = detect_metadata("adult", adult, {})
    synthesizer = build_synthesizer("gaussian_copula", {}, metadata, "adult")
    fit_synthesizer(synthesizer, "adult", adult)
    synthetic = sample_rows(synthesizer, 100_000, seed=1)
    table = metadata.to_dict()["tables"]["adult"]
    return big.iloc[:100_000].reset_index(drop=True), big.iloc[100_000:].reset_index(drop=True), synthetic, table


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main() -> None:
    from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

    from synthpipe.assets.evaluation.privacy import closest_distances, evaluate_privacy

    train, holdout, synthetic, table = _data()
    small_syn, small_train = synthetic.iloc[:2_000], train.iloc[:2_000]
    theirs, sdmetrics_s = _timed(lambda: calculate_dcr(small_syn, small_train, table).to_numpy())
    ours, synthpipe_s = _timed(lambda: closest_distances(small_syn, small_train, table["columns"])[:, 0])
    agree = float(np.isclose(ours, theirs, rtol=0, atol=1e-12).mean())
    result, evaluation_s = _timed(lambda: evaluate_privacy(synthetic, train, holdout, table["columns"]))
    _, full_s = _timed(lambda: closest_distances(synthetic, train, table["columns"]))

    print("| measurement | rows (synthetic x reference) | seconds |")
    print("|---|---|---|")
    print(f"| SDMetrics calculate_dcr (cross join) | 2,000 x 2,000 | {sdmetrics_s:.2f} |")
    print(f"| synthpipe closest_distances | 2,000 x 2,000 | {synthpipe_s:.2f} |")
    print(f"| synthpipe evaluate_privacy (copies, DCR share, NNDR) | 100,000 x (25,000 training parts + 25,000 holdout) | {evaluation_s:.1f} |")
    print(f"| synthpipe closest_distances | 100,000 x 100,000 | {full_s:.1f} |")
    print()
    print(f"speed-up on 2,000 x 2,000: {sdmetrics_s / synthpipe_s:.0f}x; distances equal to SDMetrics': {agree:.1%}")
    print(
        f"100,000-row evaluation: exact copies {result.exact_copy_share:.4f}, "
        f"closer to training {result.dcr_closer_to_training_share:.3f}, NNDR median {result.nndr_median:.3f}"
    )


if __name__ == "__main__":
    main()
