"""The report as titled tables of text, shared by the terminal and HTML renderers so the
two always show the same figures in the same words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storyloom.report.formatting import NOT_AVAILABLE, fraction, number, percent, shorten, usd
from storyloom.report.model import Heatmap, ScoreDistribution, Share, StatsReport, Summary

TOP_ROWS = 10
#: A grid with more columns than this is shown as its commonest cells, one per row (a
#: terminal cannot fit it: headers would wrap one letter per line); the HTML plots it.
MAX_GRID_COLUMNS = 6
TOP_REASONS = 5


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


def _summary_columns(report: StatsReport) -> list[str]:
    return ["", report.noun[1], "total", "mean", "min", "median", "p90", "max"]


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


def _shares(
    title: str, shares: list[Share], column: str, counted: str, note: str | None = None
) -> Table:
    rows = [[shorten(s.value, 48), number(s.count), percent(s.share)] for s in shares]
    return Table(title, [column, counted, "share"], rows or [["none", "", ""]], note)


def _counts(title: str, counts: dict[str, int], column: str) -> Table:
    rows = [[shorten(key, 48), number(value)] for key, value in counts.items()]
    return Table(title, [column, "count"], rows or [["none", ""]])


def _scores(label: str, dist: ScoreDistribution) -> list[str]:
    return [label, number(dist.scored), number(dist.mean, 2), *map(number, dist.histogram.values())]


def _band_range(target: tuple[int, int] | None) -> str:
    return f"{target[0]}-{target[1]}" if target else "n/a"


def _triple(a: str, b: str, c: str) -> str:
    return f"{a} / {b} / {c}"


def _plural(report: StatsReport) -> str:
    return report.noun[1]


def _count(report: StatsReport, n: int) -> str:
    """`n` with the kind's noun in agreement: "1 story", "2 stories"."""
    return f"{n:,} {report.noun[0] if n == 1 else report.noun[1]}"


def headline(report: StatsReport) -> Part:
    """One screen of what matters: counts, pass and rewrite figures, cost, cache reads,
    diversity and the top rejection reasons (`stats --full` adds every table)."""
    plural = _plural(report)
    src, counts, q, d = report.source, report.counts, report.quality, report.diversity
    run = [
        ["input", f"{src.path} ({src.kind})"],
        [
            "kind / backend / model",
            f"{report.kind or 'n/a'} / {src.backend or 'n/a'} / {src.model or 'n/a'}",
        ],
        [
            f"{plural} planned / finished / in progress",
            _triple(number(counts.planned), number(counts.finished), number(counts.in_progress)),
        ],
        ["emitted / rejected", f"{number(counts.emitted)} / {number(counts.rejected)}"],
    ]
    passes = [["judged", number(q.judged)]]
    if q.first_drafts_judged:
        passes.append(["first draft passed", percent(q.first_pass_rate)])
    passes.append(["finally passed", percent(q.final_pass_rate)])
    finished = counts.finished
    passes.append(
        ["rewritten", f"{number(q.rewritten)} ({percent(_share(q.rewritten, finished))})"]
    )
    if q.comparisons:
        passes.append(
            [
                "rewrite won the side-by-side judgment",
                f"{number(q.rewrite_won)} of {number(q.comparisons)} "
                f"({percent(_share(q.rewrite_won, q.comparisons))})",
            ]
        )
    for check, labels in q.verdicts.items():
        passes.append(
            [f"{check} verdicts", ", ".join(f"{k} {v}" for k, v in labels.items()) or "none"]
        )
    tables = [Table("Run", ["", "value"], run), Table("Pass and rewrite", ["", "value"], passes)]
    tables.append(_headline_cost(report))
    diversity_rows = [
        ["distinct-2 / distinct-3", f"{fraction(d.distinct_2)} / {fraction(d.distinct_3)}"],
        ["self-BLEU-4", fraction(d.self_bleu)],
        ["compression ratio", number(d.compression_ratio, 2)],
        ["opening concentration (top opening share)", percent(d.opening_top_share)],
    ]
    if d.skeletons is not None:
        diversity_rows.append(
            [
                "plot-skeleton concentration (largest cluster)",
                f"{percent(d.skeletons.largest_share)} ({number(d.skeletons.clusters)} clusters "
                f"of {number(d.skeletons.plans)} plans)",
            ]
        )
    if (sim := d.similarity) is not None:
        diversity_rows.append(
            [
                f"pairs at or above the dedupe threshold {sim.threshold:g}",
                f"{number(sim.pairs_at_or_above_threshold)} of {number(sim.pairs)}",
            ]
        )
    tables.append(
        Table(
            "Diversity",
            ["", "value"],
            diversity_rows,
            note=f"on a sample of {_count(report, d.sample_documents)}",
        )
    )
    reasons = list(counts.rejected_by_reason.items())[:TOP_REASONS]
    if reasons:
        tables.append(
            Table(
                "Top rejection reasons",
                ["reason", "count"],
                [[shorten(reason, 48), number(n)] for reason, n in reasons],
            )
        )
    return Part("summary", "Summary", tables)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _headline_cost(report: StatsReport) -> Table:
    singular = report.noun[0]
    c = report.cost
    if c is None:
        return Table("Cost", ["", "value"], [["usage ledger", "n/a"]])
    rows = [
        [f"USD per accepted {singular}", usd(c.usd_per_accepted_document)],
        ["USD per 1,000 output tokens", usd(c.usd_per_1k_output_tokens)],
        ["USD total", usd(c.total.usd)],
        ["cache read share, all tasks", percent(c.total.cache_read_share)],
    ]
    per_task = " · ".join(
        f"{name} {percent(spend.cache_read_share)}" for name, spend in c.per_node.items()
    )
    rows.append(["cache read share per task", per_task or "n/a"])
    return Table(
        "Cost",
        ["", "value"],
        rows,
        note="cache read share: cache read / (input + cache write + cache read) tokens",
    )


def overview(report: StatsReport) -> Part:
    src, counts = report.source, report.counts
    plural = _plural(report)
    rows = [
        ["input", f"{src.path} ({src.kind})"],
        ["run", src.run_name or "n/a"],
        ["corpus kind", report.kind or "n/a"],
        ["backend / model", f"{src.backend or 'n/a'} / {src.model or 'n/a'}"],
        [f"{plural} planned", number(counts.planned)],
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
            _counts(f"Revision rounds (finished {plural})", counts.revision_rounds, "rounds"),
        ],
    )


def size(report: StatsReport) -> Part:
    s = report.size
    singular, plural = report.noun
    band_column = "band" if any(b.target_words for b in s.length_bands.values()) else "value"
    tables = [
        Table(
            f"Words and tokens per {singular}",
            _summary_columns(report),
            [_summary_row("words", s.words), _summary_row("tokens", s.tokens)],
            note=f"words: the record's own count where it has one; tokens: {s.tokenizer}",
        ),
        Table(
            "Length bands (words asked for)",
            [band_column, plural, "target words", "within target", "mean words", "min", "max"],
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
    singular = report.noun[0]
    if c is None:
        return Part("cost", "Cost", [Table("Spend", ["", "value"], [["usage ledger", "n/a"]])])
    columns = [
        "node",
        "calls",
        "input",
        "output",
        "cache write",
        "cache read",
        "cache read share",
        "USD",
    ]
    rows = [
        [
            name,
            number(t.calls),
            number(t.input_tokens),
            number(t.output_tokens),
            number(t.cache_write_tokens),
            number(t.cache_read_tokens),
            percent(t.cache_read_share),
            usd(t.usd),
        ]
        for name, t in [*c.per_node.items(), ("total", c.total)]
    ]
    totals = [
        [f"{singular} ids in ledger", number(c.items)],
        [f"USD per accepted {singular}", usd(c.usd_per_accepted_document)],
        [f"tokens per accepted {singular}", number(c.tokens_per_accepted_document)],
        ["USD per 1,000 output tokens", usd(c.usd_per_1k_output_tokens)],
        ["USD on emitted", usd(c.usd_on_emitted)],
        ["USD on rejected", usd(c.usd_on_rejected)],
        ["USD on unfinished", usd(c.usd_unattributed)],
        [
            f"USD per {singular}: mean / median / max",
            _triple(usd(c.per_item_usd.mean), usd(c.per_item_usd.median), usd(c.per_item_usd.max)),
        ],
        [
            f"tokens per {singular}: mean / median / max",
            _triple(
                number(c.per_item_tokens.mean),
                number(c.per_item_tokens.median),
                number(c.per_item_tokens.max),
            ),
        ],
    ]
    spend = Table("Spend", ["", "value"], totals)
    return Part("cost", "Cost", [Table("Per node (tokens)", columns, rows), spend])


def quality(report: StatsReport) -> Part:
    q = report.quality
    plural = _plural(report)
    score_columns = ["", "scored", "mean", "1", "2", "3", "4", "5"]
    criteria = [_scores(name, dist) for name, dist in q.criteria.items()]
    sections = [
        _scores(f"{slug} ({_count(report, section.documents)})", section.scores)
        for slug, section in q.sections.items()
    ]
    passes = [["judged", number(q.judged)]]
    if q.first_drafts_judged:
        passes += [
            ["first drafts judged alone", number(q.first_drafts_judged)],
            ["first-pass rate", percent(q.first_pass_rate)],
        ]
    passes += [
        ["final pass rate", percent(q.final_pass_rate)],
        ["rewritten", number(q.rewritten)],
    ]
    if q.comparisons:
        passes += [
            ["judged side by side (draft and rewrite)", number(q.comparisons)],
            ["rewrite won", number(q.rewrite_won)],
        ]
    first_note = (
        "" if q.first_drafts_judged else "; first drafts are not judged alone for this kind"
    )
    tables = [
        Table(
            f"Judge scores per criterion (emitted {plural})",
            score_columns,
            criteria or [["none", *[""] * 7]],
        ),
        Table(
            "Judge scores per constitution section",
            score_columns,
            sections or [["none", *[""] * 7]],
            note=f"a section without a criterion of its own is scored by {q.section_scored_by!r}"
            if q.section_scored_by
            else None,
        ),
    ]
    for check, labels in q.verdicts.items():
        tables.append(_counts(f"Verdicts: {check} (emitted {plural})", labels, "verdict"))
    tables += [
        Table(
            "Pass rates",
            ["", "value"],
            passes,
            note="final pass: emitted, or removed only as a near-duplicate" + first_note,
        ),
        _counts(f"Gate findings in emitted {plural} (final text)", q.gate_findings_emitted, "kind"),
    ]
    if q.gate_findings_drafts:
        tables.append(_counts("Gate findings in first drafts", q.gate_findings_drafts, "kind"))
    tables.append(_counts(f"Gate findings in rejected {plural}", q.gate_findings_rejected, "kind"))
    return Part("quality", "Quality", tables)


def coverage(report: StatsReport) -> Part:
    cov = report.coverage
    plural = _plural(report)
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
            f"Constitution sections in play (emitted {plural})",
            ["section", plural],
            [[slug, number(n)] for slug, n in cov.sections.items()] or [["none", ""]],
            note=("never covered: " + ", ".join(cov.uncovered_sections))
            if cov.uncovered_sections
            else None,
        )
    )
    if cov.persona_names is not None:
        tables.append(_counts("Persona names", cov.persona_names, "name"))
    if cov.heatmap is not None:
        tables.append(_grid(cov.heatmap, plural))
    return Part("coverage", "Coverage", tables)


def _grid(h: Heatmap, plural: str) -> Table:
    """The heat map as a grid when it fits a terminal, else its commonest cells."""
    title = f"{h.y_axis} x {h.x_axis} (emitted {plural})"
    if len(h.x_values) <= MAX_GRID_COLUMNS:
        return Table(
            title,
            [h.y_axis, *[shorten(x, 14) for x in h.x_values]],
            [
                [shorten(y, 32), *map(number, row)]
                for y, row in zip(h.y_values, h.counts, strict=True)
            ],
        )
    cells = [
        (count, y, x)
        for y, row in zip(h.y_values, h.counts, strict=True)
        for x, count in zip(h.x_values, row, strict=True)
    ]
    empty = sum(1 for count, _, _ in cells if not count)
    top = sorted((c for c in cells if c[0]), key=lambda c: (-c[0], c[1], c[2]))[:TOP_ROWS]
    return Table(
        title,
        [h.y_axis, h.x_axis, plural],
        [[shorten(y, 40), shorten(x, 40), number(n)] for n, y, x in top] or [["none", "", ""]],
        note=f"the {len(top)} commonest of {len(cells)} pairs; {empty} pairs never drawn "
        "(the HTML report plots the whole grid)",
    )


def diversity(report: StatsReport) -> Part:
    d = report.diversity
    sim = d.similarity
    plural = _plural(report)
    lexical = [
        [f"sample {plural}", number(d.sample_documents)],
        ["distinct-1", fraction(d.distinct_1)],
        ["distinct-2", fraction(d.distinct_2)],
        ["distinct-3", fraction(d.distinct_3)],
        [f"self-BLEU-4 (over {number(d.self_bleu_documents)} {plural})", fraction(d.self_bleu)],
        [
            f"compression ratio (bytes / gzip bytes, same {plural})",
            number(d.compression_ratio, 2),
        ],
        ["distinct opening 3-grams", number(d.opening_distinct)],
        ["opening concentration (top opening share)", percent(d.opening_top_share)],
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
    ]
    if d.skeletons is not None:
        lexical += [
            [
                "plot skeletons: plans / clusters",
                f"{number(d.skeletons.plans)} / {number(d.skeletons.clusters)}",
            ],
            ["plot-skeleton concentration (largest cluster)", percent(d.skeletons.largest_share)],
        ]
    if d.names is not None:
        lexical += [
            ["distinct character names", number(d.names.distinct)],
            ["top name share of mentions", percent(d.names.top_share)],
        ]
    if d.monologue_share is not None:
        lexical.append(
            [
                "inner-monologue share: mean / median / p90",
                _triple(
                    fraction(d.monologue_share.mean),
                    fraction(d.monologue_share.median),
                    fraction(d.monologue_share.p90),
                ),
            ]
        )
    tables = [
        Table("Diversity", ["", "value"], lexical),
        _shares("Most common openings", d.openings[:TOP_ROWS], "opening 3-gram", plural),
        _shares("Most common closings", d.closings[:TOP_ROWS], "closing 3-gram", plural),
        _shares(
            "Most repeated phrases (LLM tics)",
            d.repeated_phrases,
            "4-gram",
            plural,
            note=f"share of sampled {plural} containing the phrase",
        ),
    ]
    if d.skeletons is not None:
        tables.append(
            _shares(
                "Largest plot-skeleton clusters",
                d.skeletons.top,
                "first plan of the cluster",
                "plans",
                note=d.skeletons.method,
            )
        )
    if d.names is not None:
        tables.append(_shares("Character names", d.names.top, "name", plural, note=d.names.method))
    return Part("diversity", "Diversity", tables)


def _figure_value(value: Any) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int | float):
        return number(value, 3)
    if isinstance(value, list):
        return ", ".join(_figure_value(item) for item in value)
    return str(value)


def _figure_table(title: str, rows: dict[str, Any]) -> Table:
    """One of the kind's tables. Rows whose values are maps become columns when they
    share a few keys (a small grid), else one row per (row, key) cell: never raw JSON."""
    nested = {row: value for row, value in rows.items() if isinstance(value, dict)}
    if not rows:
        return Table(title, ["", "value"], [["none", ""]])
    if len(nested) < len(rows):
        flat = {
            **{row: value for row, value in rows.items() if row not in nested},
            **{
                f"{row} / {key}": inner
                for row, value in nested.items()
                for key, inner in value.items()
            },
        }
        return Table(
            title, ["", "value"], [[shorten(str(r), 60), _figure_value(v)] for r, v in flat.items()]
        )
    keys = list(dict.fromkeys(key for value in nested.values() for key in value))
    if len(keys) <= MAX_GRID_COLUMNS:
        return Table(
            title,
            ["", *[shorten(str(key), 24) for key in keys]],
            [
                [shorten(str(row), 48), *[_figure_value(value.get(key, 0)) for key in keys]]
                for row, value in nested.items()
            ],
        )
    cells = [(row, key, inner) for row, value in nested.items() for key, inner in value.items()]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for _, _, v in cells)
    if numeric:
        cells = sorted((c for c in cells if c[2]), key=lambda c: (-c[2], str(c[0]), str(c[1])))
    shown = cells[:TOP_ROWS] if numeric else cells
    return Table(
        title,
        ["", "", "value"],
        [[shorten(str(row), 40), shorten(str(key), 40), _figure_value(v)] for row, key, v in shown]
        or [["none", "", ""]],
        note=f"the {len(shown)} largest of {len(cells)} non-zero cells (every cell: --json)"
        if len(shown) < len(cells)
        else None,
    )


def kind_figures(report: StatsReport) -> Part:
    """The kind's own tables, one per entry of `kind_figures`."""
    tables = [_figure_table(title, rows) for title, rows in report.kind_figures.items()]
    return Part("kind", f"Kind figures: {report.kind}", tables)


def report_parts(report: StatsReport, full: bool = True) -> list[Part]:
    """The summary screen, then (with `full`) every table."""
    if not full:
        return [headline(report)]
    parts = [
        headline(report),
        overview(report),
        size(report),
        cost(report),
        quality(report),
        coverage(report),
        diversity(report),
    ]
    return [*parts, kind_figures(report)] if report.kind_figures else parts
