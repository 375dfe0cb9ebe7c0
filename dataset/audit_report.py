"""An audit's figures as the user reads them: terminal tables (rich), and one
self-contained HTML page (no script, no fetch). Every text from the corpus or a suite is
data: escaped for the terminal's markup and for HTML, never interpreted."""

from __future__ import annotations

from html import escape

from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table
from rich.text import Text

from storyloom.dataset.audit import SIMILARITY_EDGES, AuditSummary, FlaggedPair, SuiteDistance
from storyloom.report.page import html_page

_BAR = 40
_SHOWN_CHARS = 600  # of each side of a flagged pair in the terminal; HTML shows all


def _bin_label(position: int) -> str:
    low, high = SIMILARITY_EDGES[position], SIMILARITY_EDGES[position + 1]
    closing = "]" if position == len(SIMILARITY_EDGES) - 2 else ")"
    return f"[{low:.2f}, {high:.2f}{closing}"


def _shown_bins(counts: list[int], threshold: float) -> int:
    """Bins up to the last one holding an item or the threshold, whichever is higher:
    the empty rows above both say nothing (`--json` and HTML keep every bin)."""
    last_filled = max((i for i, count in enumerate(counts) if count), default=0)
    at_threshold = max(i for i, edge in enumerate(SIMILARITY_EDGES[:-1]) if edge <= threshold)
    return max(last_filled, at_threshold) + 1


def _verdict(summary: AuditSummary) -> str:
    if summary.too_close:
        return (
            f"too close: {len(summary.flagged_ids)} corpus item(s) in flagged pairs "
            f"(similarity >= {summary.settings.threshold} or >= "
            f"{summary.settings.min_shared_ngrams} shared {summary.settings.ngram_size}-gram(s))"
        )
    return (
        "clear: no corpus item shares a long n-gram with, or is a near-neighbour of, "
        "any evaluation item"
    )


def print_summary(console: Console, summary: AuditSummary, *, show: int) -> None:
    console.print(
        f"audit: {summary.corpus_items:,} corpus item(s) from {markup_escape(summary.corpus)} "
        f"against {len(summary.suites)} evaluation set(s)",
        highlight=False,
    )
    for suite in summary.suites:
        _print_suite(console, suite, summary, show)
    console.print(f"verdict: {_verdict(summary)}", highlight=False)


def _print_suite(console: Console, suite: SuiteDistance, summary: AuditSummary, show: int) -> None:
    title = Text(f"{suite.suite} ({suite.eval_items} items, fingerprint {suite.fingerprint})")
    figures = Table(title=title, title_justify="left", show_header=True)
    figures.add_column("nearest-neighbour similarity")
    for name in suite.quantiles():
        figures.add_column(name, justify="right")
    figures.add_row("per corpus item", *(f"{v:.3f}" for v in suite.quantiles().values()))
    console.print(figures)
    hist = Table(show_header=True, title_justify="left")
    hist.add_column("similarity")
    hist.add_column("items", justify="right")
    hist.add_column("")
    counts = suite.histogram()
    top = max(counts, default=0) or 1
    for position, count in enumerate(counts[: _shown_bins(counts, summary.settings.threshold)]):
        bar = "#" * (round(_BAR * count / top) if count else 0)
        hist.add_row(Text(_bin_label(position)), f"{count:,}", bar)
    console.print(hist)
    console.print(
        f"corpus items sharing a {summary.settings.ngram_size}-gram with this set: "
        f"{suite.items_with_shared_ngrams:,}; flagged pairs: {len(suite.flagged):,}",
        highlight=False,
    )
    for pair in suite.flagged[:show]:
        console.print(_pair_table(pair))
    if len(suite.flagged) > show:
        console.print(f"... {len(suite.flagged) - show} more flagged pair(s) (--show, --json)")


def _pair_table(pair: FlaggedPair) -> Table:
    table = Table(
        title=Text(
            f"flagged: similarity {pair.similarity:.3f}, {pair.shared_ngrams} shared n-gram(s)"
        ),
        title_justify="left",
        expand=True,
    )
    table.add_column(Text(f"corpus {pair.corpus_id}"), ratio=1)
    table.add_column(Text(f"{pair.suite} {pair.eval_id}"), ratio=1)
    table.add_row(_shown(pair.corpus_text), _shown(pair.eval_text))
    return table


def _shown(text: str) -> Text:
    """A side of a pair as plain Text (never parsed as markup), cut for the terminal."""
    cut = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + " [...]"
    return Text(cut)


#: The audit's own rules, beside the shared page's.
_STYLE = """
td { vertical-align: top; }
.bar { background: #3b7dd8; height: 0.8rem; }
.pair td { white-space: pre-wrap; width: 50%; }
.verdict { font-weight: 600; }
"""


def render_html(summary: AuditSummary) -> str:
    body = [
        f"<p>{summary.corpus_items:,} corpus item(s) against {len(summary.suites)} "
        "evaluation set(s).</p>",
        f"<p class='verdict'>Verdict: {escape(_verdict(summary))}</p>",
        *(_suite_html(suite, summary) for suite in summary.suites),
    ]
    return html_page(f"storyloom audit: {summary.corpus}", "\n".join(body), style=_STYLE)


def _suite_html(suite: SuiteDistance, summary: AuditSummary) -> str:
    quantiles = suite.quantiles()
    head = "".join(f"<th>{escape(name)}</th>" for name in quantiles)
    cells = "".join(f"<td class='num'>{value:.3f}</td>" for value in quantiles.values())
    counts = suite.histogram()
    top = max(counts, default=0) or 1
    rows = "".join(
        f"<tr><td>{escape(_bin_label(i))}</td><td class='num'>{count:,}</td>"
        f"<td><div class='bar' style='width:{round(300 * count / top)}px'></div></td></tr>"
        for i, count in enumerate(counts)
    )
    pairs = "".join(
        f"<h3>{escape(pair.corpus_id)} / {escape(pair.eval_id)}: similarity "
        f"{pair.similarity:.3f}, {pair.shared_ngrams} shared n-gram(s)</h3>"
        f"<table class='pair'><tr><th>corpus {escape(pair.corpus_id)}</th>"
        f"<th>{escape(pair.suite)} {escape(pair.eval_id)}</th></tr>"
        f"<tr><td>{escape(pair.corpus_text)}</td><td>{escape(pair.eval_text)}</td></tr></table>"
        for pair in suite.flagged
    )
    return (
        f"<h2>{escape(suite.suite)} ({suite.eval_items} items, fingerprint "
        f"{escape(suite.fingerprint)})</h2>"
        f"<table><tr><th>nearest-neighbour similarity</th>{head}</tr>"
        f"<tr><td>per corpus item</td>{cells}</tr></table>"
        f"<table><tr><th>similarity</th><th>items</th><th></th></tr>{rows}</table>"
        f"<p>Corpus items sharing a {summary.settings.ngram_size}-gram with this set: "
        f"{suite.items_with_shared_ngrams:,}; flagged pairs: {len(suite.flagged):,}.</p>"
        f"{pairs}"
    )
