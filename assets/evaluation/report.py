"""The HTML report of a synthetic version: the pictures behind the scores.

One self-contained file (images embedded as PNG), so it opens from MLflow's artifact view or a
local folder without a network: real against synthetic distributions of the columns that
scored worst, the column-pair trend heat map (on a wide table, where a heat map of hundreds of
columns is unreadable and the pairs are a sampled subset, the worst-scoring pairs as a table
instead), and the DCR histograms.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.assets.evaluation.quality import QualityResult
from synthpipe.assets.evaluation.privacy import PrivacyResult

__all__ = ["build_report", "png_tag"]

WORST_SHOWN = 4
# A heat map is drawn when the scored pairs span at most this many columns; else a table.
HEATMAP_COLUMNS = 30
WORST_PAIRS_SHOWN = 25


def png_tag(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _distribution(real: pd.Series, synthetic: pd.Series, score: float) -> str:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.2))
    if pd.api.types.is_numeric_dtype(real) and real.nunique() > 15:
        low, high = np.nanpercentile(real, [0.5, 99.5])
        bins = np.linspace(low, high, 40)
        # one filled outline per side rather than 40 bars each: the same picture, drawn in half the time
        axis.hist(real.dropna(), bins=bins, alpha=0.55, density=True, label="real", histtype="stepfilled")
        axis.hist(synthetic.dropna(), bins=bins, alpha=0.55, density=True, label="synthetic", histtype="stepfilled")
    else:
        shares = pd.DataFrame(
            {"real": real.value_counts(normalize=True), "synthetic": synthetic.value_counts(normalize=True)}
        ).fillna(0.0).sort_values("real", ascending=False).head(15)
        shares.plot.bar(ax=axis, alpha=0.8)
        axis.tick_params(axis="x", labelrotation=60, labelsize=7)
    axis.set_title(f"{real.name} (shape score {score:.3f})")
    axis.legend()
    return png_tag(figure)


def _pair_heatmap(pairs: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    if pairs.empty:
        return "<p>No column pairs were scored.</p>"
    columns = sorted(set(pairs["Column 1"]) | set(pairs["Column 2"]))
    if len(columns) > HEATMAP_COLUMNS:
        return _worst_pairs(pairs)
    matrix = pd.DataFrame(np.nan, index=columns, columns=columns)
    for row in pairs.itertuples(index=False):
        matrix.loc[row[0], row[1]] = matrix.loc[row[1], row[0]] = row[2]
    figure, axis = plt.subplots(figsize=(7, 6))
    colours = plt.get_cmap("viridis").copy()
    colours.set_bad("#dddddd")  # SDMetrics scores only pairs with a real association above its threshold
    image = axis.imshow(np.ma.masked_invalid(matrix.to_numpy(dtype=float)), vmin=0, vmax=1, cmap=colours)
    axis.set_xticks(range(len(columns)), columns, rotation=70, fontsize=7)
    axis.set_yticks(range(len(columns)), columns, fontsize=7)
    figure.colorbar(image, label="pair trend score (1 = same as real)")
    axis.set_title("Column pair trends\n(grey: real association too weak for SDMetrics to score)", fontsize=10)
    return png_tag(figure)


def _worst_pairs(pairs: pd.DataFrame) -> str:
    scored = pairs.dropna(subset=["Score"]).sort_values("Score").head(WORST_PAIRS_SHOWN)
    if scored.empty:
        return "<p>No measured pair had a real association strong enough for SDMetrics to score it.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(a))}</td><td>{html.escape(str(b))}</td><td>{score:.4f}</td></tr>"
        for a, b, score in scored[["Column 1", "Column 2", "Score"]].itertuples(index=False)
    )
    return f"<p>The {len(scored)} lowest-scoring pairs:</p><table><tr><th>column</th><th>column</th><th>score</th></tr>{rows}</table>"


def _pairs_note(quality: QualityResult) -> str:
    if not quality.pairs_sampled:
        return ""
    return (
        f"<p>A wide table: {quality.pairs_measured:,} of its {quality.pairs_total:,} column pairs, a seeded random subset, "
        "were measured; the pair trend score is their mean.</p>"
    )


def _dcr_histograms(privacy: PrivacyResult) -> str:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.2))
    top = float(np.percentile(np.concatenate([privacy.to_training, privacy.to_holdout]), 99)) or 1.0
    bins = np.linspace(0, top, 40)
    axis.hist(privacy.to_training, bins=bins, alpha=0.55, label="to closest training row", histtype="stepfilled")
    axis.hist(privacy.to_holdout, bins=bins, alpha=0.55, label="to closest holdout row", histtype="stepfilled")
    axis.set_xlabel("distance to closest record")
    axis.set_title(f"DCR: closer-to-training share {privacy.dcr_closer_to_training_share:.3f} (0.5: no memorisation)")
    axis.legend()
    return png_tag(figure)


def _privacy_section(privacy: PrivacyResult, attacks: Sequence[Any] = ()) -> str:
    """Each privacy measure with what it says in plain words, what it catches and what it does not."""
    low, high = privacy.dcr_interval
    training_rows, holdout_rows = privacy.reference_rows
    rows = [
        ("exact copies", f"{privacy.exact_copy_share:.2%}",
         "Share of synthetic rows equal to a training row in every column.",
         "Whole-row copying. Not a row copied with one value changed."),
        ("closer to training (DCR)", f"{privacy.dcr_closer_to_training_share:.3f} (95% interval {low:.3f}-{high:.3f})",
         f"How often a synthetic row's nearest real row is a training row rather than a held-out row, corrected for measuring "
         f"against {training_rows:,} training and {holdout_rows:,} held-out rows. About 0.5: the model knows the training rows "
         "no better than rows it never saw. Near 1: it reproduces them.",
         "Memorisation of whole rows. Not a single copied rare value (that is value_leaks) and not what an attacker can infer "
         "from common values (the attacks below)."),
        ("nearest-neighbour distance ratio", f"{privacy.nndr_median:.3f}",
         "Closest over second-closest training row, median. Near 0: synthetic rows sit on top of single training rows.",
         "A signal beside DCR, not a gate."),
    ]
    for attack in attacks:
        a_low, a_high = attack.ci
        rows.append((
            f"{attack.name.replace('_', '-')} risk", f"{attack.risk:.3f} (95% interval {a_low:.3f}-{a_high:.3f})",
            _ATTACK_WORDS.get(attack.name, "") + (f" ({attack.detail})" if attack.detail else ""),
            "Measured against held-out rows as the control: what the twin tells an attacker beyond what the population does.",
        ))
    body = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td><td>{html.escape(means)}</td><td>{html.escape(limits)}</td></tr>"
        for name, value, means, limits in rows
    )
    return (
        "<h2>Privacy</h2><table><tr><th>measure</th><th>value</th><th>what it says</th><th>what it catches, and what not</th></tr>"
        f"{body}</table>"
    )


_ATTACK_WORDS = {
    "singling_out": "Share of attacks that single out one real person from predicates built on the twin (EDPB's singling out).",
    "linkability": "Share of real people an attacker holding two halves of their columns links through the twin (EDPB's linkability).",
    "inference": "How well an attacker who knows a person's other columns guesses a secret column from the twin (EDPB's inference).",
}


def build_report(
    table: str, version_label: str, real: pd.DataFrame, synthetic: pd.DataFrame, quality: QualityResult, privacy: PrivacyResult,
    attacks: Sequence[Any] = (),
) -> str:
    """The report as one HTML document."""
    import matplotlib

    matplotlib.use("Agg")
    worst = quality.worst_columns[:WORST_SHOWN]
    figures = "".join(_distribution(real[c], synthetic[c], s) for c, s in worst if c in synthetic)
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" for k, v in {
        "quality score": quality.score,
        **{k.lower(): v for k, v in quality.properties.items()},
        "diagnostic score": quality.diagnostic_score,
        **{k.lower(): v for k, v in quality.diagnostic_properties.items()},
        "exact copy share": privacy.exact_copy_share,
        "DCR closer-to-training share": privacy.dcr_closer_to_training_share,
        "median DCR to training": privacy.dcr_training_median,
        "median DCR to holdout": privacy.dcr_holdout_median,
        "median nearest-neighbour distance ratio": privacy.nndr_median,
    }.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>synthpipe report: {html.escape(table)} {html.escape(version_label)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} img{{margin:.5em}} td{{padding:.2em .8em}}</style></head>
<body>
<h1>Synthetic twin of <code>{html.escape(table)}</code> ({html.escape(version_label)})</h1>
<p>{len(real)} real training rows, {len(synthetic)} synthetic rows.</p>
<h2>Scores</h2><table>{rows}</table>
<h2>Columns that scored worst: real against synthetic</h2>{figures}
<h2>Column pair trends</h2>{_pairs_note(quality)}{_pair_heatmap(quality.pair_scores)}
{_privacy_section(privacy, attacks)}
<h2>Distance to closest record</h2>{_dcr_histograms(privacy)}
</body></html>
"""
