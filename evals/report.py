"""The eval summary in the terminal, as JSON and as one self-contained HTML page (the
stats report's tables and page style: no script, no network)."""

from __future__ import annotations

from dataclasses import replace
from html import escape
from pathlib import Path

from rich.console import Console
from rich.markup import escape as escape_markup

from storyloom.core.report_files import json_report, signed_html, write_report
from storyloom.evals.summary import MEANINGS, EvalSummary
from storyloom.report.html import table_html
from storyloom.report.page import html_page, notes_html
from storyloom.report.tables import Table
from storyloom.report.terminal import _rich_table


def tables(summary: EvalSummary) -> list[Table]:
    """One table per suite, models side by side: `hits/trials rate [95% Wilson interval]`."""
    result = []
    for suite, fingerprint in summary.suites.items():
        rows = [row for row in summary.rows if row.suite == suite]
        metrics = sorted({row.metric for row in rows})
        note = "; ".join(f"{metric}: {MEANINGS.get(metric, metric)}" for metric in metrics)
        result.append(
            Table(
                title=f"{suite} (fingerprint {fingerprint})",
                columns=["family", "metric", *summary.models],
                rows=[
                    [row.family, row.metric, *(row.rates[m].cell() for m in summary.models)]
                    for row in rows
                ],
                note=f"{note}; in brackets: the 95% Wilson interval" if note else None,
            )
        )
    return result


def print_summary(summary: EvalSummary, console: Console) -> None:
    for table in tables(summary):
        # A family or model name is the user's text: never read as rich markup.
        rows = [[escape_markup(cell) for cell in row] for row in table.rows]
        columns = [escape_markup(column) for column in table.columns]
        console.print(_rich_table(replace(table, rows=rows, columns=columns)))
    for model, count in summary.errors.items():
        console.print(f"[yellow]note:[/yellow] {count} trial(s) of {model} ended in an error")
    for note in summary.notes:
        console.print(f"[yellow]note:[/yellow] {escape_markup(note)}", highlight=False)


def write_json(summary: EvalSummary, path: Path) -> None:
    write_report(path, json_report("eval", summary.as_json()))


def render_html(summary: EvalSummary, run_dir: Path) -> str:
    title = f"storyloom eval: {run_dir.name}"
    notes = [*summary.notes]
    notes += [f"{count} trial(s) of {m} ended in an error" for m, count in summary.errors.items()]
    body = "".join(table_html(table) for table in tables(summary))
    return html_page(
        title,
        f'<p class="note">models: {escape(", ".join(summary.models))}</p>'
        f'{notes_html(notes)}<div class="tables">{body}</div>',
    )


def write_html(summary: EvalSummary, run_dir: Path, path: Path) -> None:
    write_report(path, signed_html("eval", render_html(summary, run_dir)))
