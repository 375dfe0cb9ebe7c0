"""Plots for the HTML report, as PNG bytes (matplotlib's object API with the Agg canvas,
so no global pyplot state and no display are needed).

Every plot function returns None when there is nothing to draw, so a bare corpus or a
run that has just started still gets a report.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from storyloom.report.formatting import shorten
from storyloom.report.model import Histogram, StatsReport

DPI = 110
WIDTH = 5.4  # inches; two plots sit side by side in the HTML
WIDE = 10.0  # inches; plots that span the page
EMITTED = "#3b7dd8"
REJECTED = "#d8603b"
SCORE_COLOURS = ["#b2182b", "#ef8a62", "#d9d9d9", "#67a9cf", "#2166ac"]
BAND_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


@dataclass(frozen=True)
class Plot:
    part: str
    title: str
    png: bytes
    wide: bool = False


def _figure(height: float, width: float = WIDTH) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _whole_numbers(axis: Any) -> None:
    axis.set_major_locator(MaxNLocator(nbins=6, integer=True))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _bar_height(rows: int) -> float:
    return max(2.2, 0.9 + 0.32 * rows)


def _hbar(labels: list[str], values: list[float], xlabel: str, colour: str = EMITTED) -> bytes:
    figure, axes = _figure(_bar_height(len(labels)))
    positions = np.arange(len(labels))
    axes.barh(positions, values, color=colour)
    axes.set_yticks(positions, [shorten(label, 48) for label in labels])
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    _label_bars(axes, positions, [f"{value:,.4g}" for value in values], values)
    return _png(figure)


def _label_bars(axes: Any, positions: Any, labels: list[str], values: Any) -> None:
    """Write each horizontal bar's value just past its end, leaving room for the text."""
    for position, label, value in zip(positions, labels, values, strict=True):
        axes.annotate(
            label,
            (value, position),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.margins(x=0.12)


def outcomes(report: StatsReport) -> bytes | None:
    counts = report.counts
    if not counts.finished:
        return None
    labels = ["emitted", *[f"rejected: {r}" for r in counts.rejected_by_reason]]
    values = [counts.emitted, *counts.rejected_by_reason.values()]
    figure, axes = _figure(_bar_height(len(labels)))
    positions = np.arange(len(labels))
    axes.barh(positions, values, color=[EMITTED, *[REJECTED] * (len(labels) - 1)])
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.set_xlabel(report.noun[1])
    _whole_numbers(axes.xaxis)
    _label_bars(axes, positions, [str(value) for value in values], values)
    return _png(figure)


def revision_rounds(report: StatsReport) -> bytes | None:
    rounds = report.counts.revision_rounds
    if not rounds:
        return None
    figure, axes = _figure(2.6)
    axes.bar(list(rounds), list(rounds.values()), color=EMITTED)
    axes.set_xlabel("revise rounds")
    axes.set_ylabel("finished items")
    _whole_numbers(axes.yaxis)
    return _png(figure)


def _centres(hist: Histogram) -> tuple[np.ndarray, np.ndarray]:
    edges = np.asarray(hist.edges)
    return (edges[:-1] + edges[1:]) / 2, np.diff(edges)


def length_bands(report: StatsReport) -> bytes | None:
    bands = report.size.length_bands
    if not any(band.documents for band in bands.values()):
        return None
    figure, axes = _figure(3.4)
    for colour, (name, band) in zip(BAND_COLOURS * 4, bands.items(), strict=False):
        counts, edges = band.histogram.counts, band.histogram.edges
        axes.stairs(counts, edges, fill=True, alpha=0.3, color=colour)
        axes.stairs(counts, edges, color=colour, linewidth=1.6, label=f"{name} ({band.documents})")
        if band.target_words:
            axes.axvspan(*band.target_words, color=colour, alpha=0.07)
    axes.set_xlabel("words asked for per band (shaded: each band's target range)")
    axes.set_ylabel(report.noun[1])
    _whole_numbers(axes.yaxis)
    axes.legend(title="length band")
    return _png(figure)


def cost_per_node(report: StatsReport) -> bytes | None:
    cost = report.cost
    if cost is None or not cost.per_node:
        return None
    names = list(cost.per_node)
    if cost.total.usd > 0:
        return _hbar(names, [t.usd for t in cost.per_node.values()], "USD")
    figure, axes = _figure(_bar_height(len(names)))
    positions = np.arange(len(names))
    inputs = [
        t.input_tokens + t.cache_read_tokens + t.cache_write_tokens for t in cost.per_node.values()
    ]
    outputs = [t.output_tokens for t in cost.per_node.values()]
    axes.barh(positions, inputs, color=EMITTED, label="input (incl. cache)")
    axes.barh(positions, outputs, left=inputs, color=REJECTED, label="output")
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.set_xlabel("tokens (no USD recorded for this model)")
    axes.legend()
    return _png(figure)


def _score_bars(rows: dict[str, dict[str, int]], title: str, plural: str) -> bytes | None:
    rows = {label: hist for label, hist in rows.items() if sum(hist.values())}
    if not rows:
        return None
    figure, axes = _figure(_bar_height(len(rows)) + 0.4, WIDE * 0.75)
    positions = np.arange(len(rows))
    left = np.zeros(len(rows))
    totals = np.array([sum(hist.values()) for hist in rows.values()], dtype=float)
    for score, colour in zip(("1", "2", "3", "4", "5"), SCORE_COLOURS, strict=True):
        shares = np.array([hist.get(score, 0) for hist in rows.values()]) / totals
        axes.barh(positions, shares, left=left, color=colour, label=score)
        left += shares
    axes.set_yticks(positions, [shorten(label, 40) for label in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel(f"share of scored {plural} — {title}")
    axes.legend(
        title="score", ncols=5, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False
    )
    return _png(figure)


def criterion_scores(report: StatsReport) -> bytes | None:
    rows = {name: dist.histogram for name, dist in report.quality.criteria.items()}
    return _score_bars(rows, "per judge criterion", report.noun[1])


def section_scores(report: StatsReport) -> bytes | None:
    rows = {slug: s.scores.histogram for slug, s in report.quality.sections.items()}
    return _score_bars(rows, "per constitution section", report.noun[1])


def gate_findings(report: StatsReport) -> bytes | None:
    quality = report.quality
    kinds = sorted(set(quality.gate_findings_emitted) | set(quality.gate_findings_rejected))
    if not kinds:
        return None
    figure, axes = _figure(_bar_height(len(kinds)))
    positions = np.arange(len(kinds))
    emitted = [quality.gate_findings_emitted.get(k, 0) for k in kinds]
    rejected = [quality.gate_findings_rejected.get(k, 0) for k in kinds]
    axes.barh(positions - 0.2, emitted, height=0.4, color=EMITTED, label="in emitted")
    axes.barh(positions + 0.2, rejected, height=0.4, color=REJECTED, label="in rejected")
    axes.set_yticks(positions, kinds)
    axes.invert_yaxis()
    axes.set_xlabel("findings")
    _whole_numbers(axes.xaxis)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(figure)


def axis_coverage(report: StatsReport) -> bytes | None:
    """One panel per axis, stacked, so long value names keep their room."""
    axes_data = {name: values for name, values in report.coverage.axes.items() if values}
    if not axes_data:
        return None
    sizes = [len(values) for values in axes_data.values()]
    figure = Figure(
        figsize=(WIDE, sum(0.22 * n + 0.75 for n in sizes)), dpi=DPI, layout="constrained"
    )
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(len(sizes), 1, height_ratios=[n + 2.5 for n in sizes])
    for index, (name, values) in enumerate(axes_data.items()):
        axes = figure.add_subplot(grid[index, 0])
        positions = np.arange(len(values))
        emitted = [v.emitted for v in values.values()]
        rejected = [v.rejected for v in values.values()]
        axes.barh(positions, emitted, color=EMITTED, label="emitted")
        axes.barh(positions, rejected, left=emitted, color=REJECTED, label="rejected")
        axes.set_yticks(positions, [shorten(v, 56) for v in values])
        axes.invert_yaxis()
        axes.set_title(name, loc="left", fontweight="bold")
        _whole_numbers(axes.xaxis)
        if index == 0:
            axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
    return _png(figure)


def heatmap(report: StatsReport) -> bytes | None:
    heat = report.coverage.heatmap
    if heat is None or not heat.x_values or not heat.y_values:
        return None
    matrix = np.asarray(heat.counts, dtype=float)
    figure, axes = _figure(max(3.0, 2.2 + 0.38 * len(heat.y_values)), WIDE)
    image = axes.imshow(matrix, cmap="Blues", aspect="auto")
    axes.set_xticks(
        np.arange(len(heat.x_values)),
        [shorten(x, 26) for x in heat.x_values],
        rotation=35,
        ha="right",
        fontsize=8,
    )
    axes.set_yticks(
        np.arange(len(heat.y_values)), [shorten(y, 34) for y in heat.y_values], fontsize=8
    )
    axes.set_xlabel(heat.x_axis)
    axes.set_ylabel(heat.y_axis)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), value in np.ndenumerate(matrix):
        axes.text(
            column,
            row,
            f"{int(value)}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value > threshold else "black",
        )
    figure.colorbar(image, ax=axes, label=f"emitted {report.noun[1]}")
    return _png(figure)


def section_coverage(report: StatsReport) -> bytes | None:
    sections = report.coverage.sections
    if not sections:
        return None
    label = f"emitted {report.noun[1]} with the section"
    return _hbar(list(sections), list(sections.values()), label)


def similarity(report: StatsReport) -> bytes | None:
    """Bars per similarity range (uneven ranges, drawn side by side, labelled)."""
    sim = report.diversity.similarity
    if sim is None:
        return None
    edges = sim.histogram.edges
    labels = [f"{low:g}-{high:g}" for low, high in pairwise(edges)]
    above = [low >= sim.threshold for low in edges[:-1]]
    figure, axes = _figure(3.0)
    positions = np.arange(len(labels))
    axes.bar(positions, sim.histogram.counts, color=[REJECTED if a else EMITTED for a in above])
    axes.set_xticks(positions, labels, rotation=45, ha="right", fontsize=8)
    axes.set_yscale("symlog", linthresh=1)
    axes.set_xlabel(
        f"estimated Jaccard similarity of {sim.pairs:,} sampled pairs\n"
        f"red: at or above the dedupe threshold {sim.threshold:g} "
        f"({sim.pairs_at_or_above_threshold:,} pairs)"
    )
    axes.set_ylabel("pairs (log scale)")
    return _png(figure)


def monologue(report: StatsReport) -> bytes | None:
    diversity = report.diversity
    if diversity.monologue_histogram is None or not sum(diversity.monologue_histogram.counts):
        return None
    figure, axes = _figure(2.8)
    centres, widths = _centres(diversity.monologue_histogram)
    axes.bar(centres, diversity.monologue_histogram.counts, width=widths * 0.95, color=EMITTED)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of a story's words in inner monologue (*italics*)")
    axes.set_ylabel(report.noun[1])
    _whole_numbers(axes.yaxis)
    return _png(figure)


PLOTS: list[tuple[str, str, Callable[[StatsReport], bytes | None], bool]] = [
    ("counts", "Outcomes", outcomes, False),
    ("counts", "Revision rounds", revision_rounds, False),
    ("size", "Length per band", length_bands, False),
    ("cost", "Spend per node", cost_per_node, False),
    ("quality", "Judge scores per criterion", criterion_scores, True),
    ("quality", "Judge scores per constitution section", section_scores, True),
    ("quality", "Gate findings by kind", gate_findings, False),
    ("coverage", "Axis values", axis_coverage, True),
    ("coverage", "Pairwise axis coverage", heatmap, True),
    ("coverage", "Constitution sections", section_coverage, False),
    ("diversity", "Pairwise MinHash similarity", similarity, False),
    ("diversity", "Inner-monologue share", monologue, False),
]


STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def render_plots(report: StatsReport) -> list[Plot]:
    plots = []
    with rc_context(STYLE):
        for part, title, draw, wide in PLOTS:
            png = draw(report)
            if png is not None:
                plots.append(Plot(part, title, png, wide))
    return plots
