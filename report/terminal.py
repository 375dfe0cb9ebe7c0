"""The report as rich tables in the terminal: by default the one-screen summary, with
`full` every table. Every cell, title and note is a `Text`, never markup: a persona named
`[/Wren]` or an axis value `[/quote] office` prints as written."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.text import Text

from storyloom.report.model import StatsReport
from storyloom.report.tables import Table, report_parts


def _rich_table(table: Table) -> RichTable:
    key_value = table.columns[1:] == ["value"]
    rich = RichTable(
        title=Text(table.title, style="bold"),
        title_justify="left",
        caption=Text(table.note) if table.note else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_header=not key_value,
        show_edge=False,
        pad_edge=False,
        min_width=min(max(len(table.title), len(table.note or "")), 100),
    )
    for position, column in enumerate(table.columns):
        rich.add_column(Text(column), justify="left" if position == 0 else "right", overflow="fold")
    for row in table.rows:
        rich.add_row(*(Text(cell) for cell in row))
    return rich


def render_terminal(report: StatsReport, console: Console, full: bool = False) -> None:
    for part in report_parts(report, full=full):
        console.print(Rule(Text(part.title)))
        for table in part.tables:
            console.print()
            console.print(_rich_table(table))
    for note in report.notes:
        console.print(Text.assemble(("note:", "yellow"), " ", note))
    if not full:
        console.print(Text("storyloom stats --full: every table (the HTML report has them too)"))
