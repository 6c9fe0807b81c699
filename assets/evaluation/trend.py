"""The quality trend of a table: every published version's score and tonight's candidate, with
the threshold drawn, on a fixed 0-1 axis.

Dagster plots each float of a materialization on its own auto-zoomed axis (a 0.0003 change
looks like a cliff) and without the threshold; this page is what an owner looks at instead.
One self-contained HTML file (the chart embedded as PNG), logged to the run and linked from
`<unit>/synthetic` as `synthpipe/quality_trend`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

from synthpipe.assets.evaluation.report import png_tag

__all__ = ["TrendPoint", "build_trend", "trend_points"]


@dataclass(frozen=True)
class TrendPoint:
    label: str  # "v3" for a published version, "candidate" for tonight's
    when: dt.datetime | None
    quality: float
    published: bool


def trend_points(history: Sequence[dict], candidate: float) -> list[TrendPoint]:
    """Published versions (oldest first) that recorded a score, then the candidate."""
    points = []
    for entry in sorted(history, key=lambda e: e["version"]):
        score = entry.get("quality_score")
        if score is None:
            continue
        stamp = entry.get("timestamp")
        when = dt.datetime.fromtimestamp(stamp / 1000, tz=dt.timezone.utc) if stamp else None
        points.append(TrendPoint(f"v{entry['version']}", when, float(score), True))
    points.append(TrendPoint("candidate", dt.datetime.now(dt.timezone.utc), candidate, False))
    return points


def build_trend(table: str, points: Sequence[TrendPoint], threshold: float, passed: bool) -> str:
    """The page: the chart, then the figures as a table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 3.2))
    xs = list(range(len(points)))
    published = [(x, p.quality) for x, p in zip(xs, points, strict=True) if p.published]
    if published:
        axis.plot([x for x, _ in published], [q for _, q in published], marker="o", color="#3b6ea8", label="published versions")
    last = points[-1]
    axis.scatter([xs[-1]], [last.quality], s=70, zorder=3, color="#2e8b57" if passed else "#c0392b",
                 label="tonight's candidate (" + ("published" if passed else "blocked") + ")")
    axis.axhline(threshold, color="#c0392b", linestyle="--", linewidth=1, label=f"quality_threshold {threshold}")
    axis.set_ylim(0, 1)
    axis.set_xticks(xs, [p.label for p in points], rotation=45 if len(points) > 12 else 0, fontsize=8)
    axis.set_ylabel("SDMetrics quality score")
    axis.set_title(f"{table}: quality of each version")
    axis.grid(axis="y", alpha=0.3)
    axis.legend(loc="lower left", fontsize=8)
    rows = "".join(
        f"<tr><td>{html.escape(p.label)}</td><td>{p.when:%Y-%m-%d %H:%M} UTC</td><td>{p.quality:.4f}</td>"
        f"<td>{'published' if p.published else ('passed' if passed else 'blocked')}</td></tr>"
        if p.when else f"<tr><td>{html.escape(p.label)}</td><td></td><td>{p.quality:.4f}</td><td></td></tr>"
        for p in reversed(points)
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(table)}: quality trend</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:60em}td,th{padding:.2em .8em;text-align:left}"
        "tr:nth-child(even){background:#f4f4f4}</style></head><body>"
        f"<h1>{html.escape(table)}: quality trend</h1>"
        f"<p>Threshold <code>quality_threshold</code> = {threshold}; tonight's candidate scored {last.quality:.4f} "
        f"and was {'published' if passed else 'blocked'}.</p>"
        f"{png_tag(figure)}<table><tr><th>version</th><th>when</th><th>quality</th><th>state</th></tr>{rows}</table></body></html>"
    )
