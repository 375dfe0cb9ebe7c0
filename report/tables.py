"""The report as titled tables of text, shared by the terminal and HTML renderers so the
two always show the same figures in the same words."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storyloom.report.formatting import NOT_AVAILABLE, fraction, number, percent, shorten, usd
from storyloom.report.model import ScoreDistribution, Share, StatsReport, Summary

TOP_ROWS = 10


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str | None = None
    folded: bool = False  # long detail the HTML folds away (the terminal prints it all)


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)


_SUMMARY_COLUMNS = ["", "docs", "total", "mean", "min", "median", "p90", "max"]


def _summary_row(label: str, summary: Summary, digits: int = 1) -> list[str]:
    return [
        label,
        number(summary.count),
        number(summary.total, digits),
        number(summary.mean, digits),
        number(summary.min, digits),
        number(summary.median, digits),
        number(summary.p90, digits),
        number(summary.max, digits),
    ]


def _shares(title: str, shares: list[Share], column: str, note: str | None = None) -> Table:
    rows = [[shorten(s.value, 48), number(s.count), percent(s.share)] for s in shares]
    return Table(title, [column, "docs", "share"], rows or [["none", "", ""]], note)


def _counts(title: str, counts: dict[str, int], column: str) -> Table:
    rows = [[shorten(key, 48), number(value)] for key, value in counts.items()]
    return Table(title, [column, "count"], rows or [["none", ""]])


def _scores(label: str, dist: ScoreDistribution) -> list[str]:
    return [label, number(dist.scored), number(dist.mean, 2), *map(number, dist.histogram.values())]


def _band_range(target: tuple[int, int] | None) -> str:
    return f"{target[0]}-{target[1]}" if target else "n/a"


def _triple(a: str, b: str, c: str) -> str:
    return f"{a} / {b} / {c}"


def overview(report: StatsReport) -> Part:
    src, counts = report.source, report.counts
    rows = [
        ["input", f"{src.path} ({src.kind})"],
        ["run", src.run_name or "n/a"],
        ["corpus kind", report.kind or "n/a"],
        ["backend / model", f"{src.backend or 'n/a'} / {src.model or 'n/a'}"],
        ["planned", number(counts.planned)],
        ["started", number(counts.started)],
        ["finished", number(counts.finished)],
        ["in progress", number(counts.in_progress)],
        ["emitted", number(counts.emitted)],
        ["rejected", number(counts.rejected)],
        ["near-duplicates removed", number(counts.near_duplicates_removed)],
        ["plan duplicates", number(counts.plan_duplicates)],
    ]
    return Part(
        "counts",
        "Counts",
        [
            Table("Run", ["", "value"], rows),
            _counts("Rejected by reason", counts.rejected_by_reason, "reason"),
            _counts("Revision rounds (finished items)", counts.revision_rounds, "rounds"),
        ],
    )


def size(report: StatsReport) -> Part:
    s = report.size
    tables = [
        Table(
            "Words and tokens per document",
            _SUMMARY_COLUMNS,
            [_summary_row("words", s.words), _summary_row("tokens", s.tokens)],
            note=f"tokens: {s.tokenizer}",
        ),
        Table(
            "Length bands",
            ["band", "docs", "target words", "within target", "mean words", "min", "max"],
            [
                [
                    name,
                    number(band.documents),
                    _band_range(band.target_words),
                    percent(band.within_target),
                    number(band.words.mean),
                    number(band.words.min),
                    number(band.words.max),
                ]
                for name, band in s.length_bands.items()
            ]
            or [["none", "", "", "", "", "", ""]],
        ),
    ]
    return Part("size", "Size", tables)


def cost(report: StatsReport) -> Part:
    c = report.cost
    if c is None:
        return Part("cost", "Cost", [Table("Spend", ["", "value"], [["usage ledger", "n/a"]])])
    columns = ["node", "calls", "input tok", "output tok", "cache write", "cache read", "USD"]
    rows = [
        [
            name,
            number(t.calls),
            number(t.input_tokens),
            number(t.output_tokens),
            number(t.cache_write_tokens),
            number(t.cache_read_tokens),
            usd(t.usd),
        ]
        for name, t in [*c.per_node.items(), ("total", c.total)]
    ]
    totals = [
        ["items in ledger", number(c.items)],
        ["USD per accepted document", usd(c.usd_per_accepted_document)],
        ["tokens per accepted document", number(c.tokens_per_accepted_document)],
        ["USD on emitted items", usd(c.usd_on_emitted)],
        ["USD on rejected items", usd(c.usd_on_rejected)],
        ["USD on unfinished items", usd(c.usd_unattributed)],
        [
            "USD per item: mean / median / max",
            _triple(usd(c.per_item_usd.mean), usd(c.per_item_usd.median), usd(c.per_item_usd.max)),
        ],
        [
            "tokens per item: mean / median / max",
            _triple(
                number(c.per_item_tokens.mean),
                number(c.per_item_tokens.median),
                number(c.per_item_tokens.max),
            ),
        ],
    ]
    spend = Table("Spend", ["", "value"], totals)
    return Part("cost", "Cost", [Table("Per node", columns, rows), spend])


def quality(report: StatsReport) -> Part:
    q = report.quality
    score_columns = ["", "scored", "mean", "1", "2", "3", "4", "5"]
    criteria = [_scores(name, dist) for name, dist in q.criteria.items()]
    sections = [
        _scores(f"{slug} ({section.documents} docs)", section.scores)
        for slug, section in q.sections.items()
    ]
    passes = [
        ["judged items", number(q.judged)],
        ["first-pass rate", percent(q.first_pass_rate)],
        ["final pass rate", percent(q.final_pass_rate)],
    ]
    return Part(
        "quality",
        "Quality",
        [
            Table(
                "Judge scores per criterion (emitted documents)",
                score_columns,
                criteria or [["none", *[""] * 7]],
            ),
            Table(
                "Judge scores per constitution section",
                score_columns,
                sections or [["none", *[""] * 7]],
            ),
            Table(
                "Pass rates",
                ["", "value"],
                passes,
                note="final pass: emitted, or removed only as a near-duplicate",
            ),
            _counts("Gate findings in emitted documents", q.gate_findings_emitted, "kind"),
            _counts("Gate findings in rejected items", q.gate_findings_rejected, "kind"),
        ],
    )


def coverage(report: StatsReport) -> Part:
    cov = report.coverage
    tables = [
        Table(
            f"Axis: {axis}",
            ["value", "emitted", "rejected"],
            [[shorten(v, 48), number(n.emitted), number(n.rejected)] for v, n in values.items()],
            folded=True,
        )
        for axis, values in cov.axes.items()
    ]
    tables.append(
        Table(
            "Constitution sections in play (emitted)",
            ["section", "docs"],
            [[slug, number(n)] for slug, n in cov.sections.items()] or [["none", ""]],
            note=("never covered: " + ", ".join(cov.uncovered_sections))
            if cov.uncovered_sections
            else None,
        )
    )
    tables.append(_counts("Persona names", cov.persona_names, "name"))
    if cov.heatmap is not None:
        h = cov.heatmap
        tables.append(
            Table(
                f"{h.y_axis} x {h.x_axis} (emitted)",
                [h.y_axis, *[shorten(x, 14) for x in h.x_values]],
                [
                    [shorten(y, 32), *map(number, row)]
                    for y, row in zip(h.y_values, h.counts, strict=True)
                ],
            )
        )
    return Part("coverage", "Coverage", tables)


def diversity(report: StatsReport) -> Part:
    d = report.diversity
    sim = d.similarity
    lexical = [
        ["sample documents", number(d.sample_documents)],
        ["distinct-1", fraction(d.distinct_1)],
        ["distinct-2", fraction(d.distinct_2)],
        ["distinct-3", fraction(d.distinct_3)],
        ["distinct opening 3-grams", number(d.opening_distinct)],
        ["most common opening share", percent(d.opening_top_share)],
        ["distinct closing 3-grams", number(d.closing_distinct)],
        ["most common closing share", percent(d.closing_top_share)],
        ["pairwise similarity: pairs", number(sim.pairs) if sim else "n/a"],
        [
            "pairwise similarity: mean / p90 / max",
            _triple(
                fraction(sim.summary.mean), fraction(sim.summary.p90), fraction(sim.summary.max)
            )
            if sim
            else "n/a",
        ],
        [
            f"pairs at or above {sim.threshold if sim else 'n/a'}",
            number(sim.pairs_at_or_above_threshold) if sim else "n/a",
        ],
        ["distinct character names", number(d.names.distinct)],
        ["top name share of mentions", percent(d.names.top_share)],
        [
            "inner-monologue share: mean / median / p90",
            _triple(
                fraction(d.monologue_share.mean),
                fraction(d.monologue_share.median),
                fraction(d.monologue_share.p90),
            ),
        ],
    ]
    return Part(
        "diversity",
        "Diversity",
        [
            Table("Diversity", ["", "value"], lexical),
            _shares("Most common openings", d.openings[:TOP_ROWS], "opening 3-gram"),
            _shares("Most common closings", d.closings[:TOP_ROWS], "closing 3-gram"),
            _shares(
                "Most repeated phrases (LLM tics)",
                d.repeated_phrases,
                "4-gram",
                note="share of sampled documents containing the phrase",
            ),
            _shares("Character names", d.names.top, "name", note=d.names.method),
        ],
    )


def _figure_value(value: Any) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int | float):
        return number(value, 3)
    return json.dumps(value, ensure_ascii=False)


def kind_figures(report: StatsReport) -> Part:
    """The kind's own tables, one per entry of `kind_figures`."""
    tables = [
        Table(
            title,
            ["", "value"],
            [[shorten(str(row), 48), _figure_value(value)] for row, value in rows.items()]
            or [["none", ""]],
        )
        for title, rows in report.kind_figures.items()
    ]
    return Part("kind", f"Kind figures: {report.kind}", tables)


def report_parts(report: StatsReport) -> list[Part]:
    parts = [
        overview(report),
        size(report),
        cost(report),
        quality(report),
        coverage(report),
        diversity(report),
    ]
    return [*parts, kind_figures(report)] if report.kind_figures else parts
