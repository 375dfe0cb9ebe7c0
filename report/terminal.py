"""The report as rich tables in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.rule import Rule
from rich.table import Table as RichTable

from storyloom.report.model import StatsReport
from storyloom.report.tables import Table, report_parts


def _rich_table(table: Table) -> RichTable:
    rich = RichTable(
        title=table.title,
        title_justify="left",
        caption=table.note,
        caption_justify="left",
        min_width=min(max(len(table.title), len(table.note or "")) + 2, 100),
    )
    for position, column in enumerate(table.columns):
        rich.add_column(column, justify="left" if position == 0 else "right", overflow="fold")
    for row in table.rows:
        rich.add_row(*row)
    return rich


def render_terminal(report: StatsReport, console: Console) -> None:
    for part in report_parts(report):
        console.print(Rule(part.title))
        for table in part.tables:
            console.print(_rich_table(table))
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
