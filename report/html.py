"""One self-contained HTML file: plots embedded as base64 PNG, CSS inline, no script and no
network. A Content-Security-Policy forbids every fetch, so the file provably opens
offline and cannot phone home."""

from __future__ import annotations

import base64
from html import escape

from storyloom.report.model import StatsReport
from storyloom.report.page import html_page, notes_html
from storyloom.report.plots import Plot, render_plots
from storyloom.report.tables import Part, Table, report_parts


def table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if position else "label"}">{escape(cell)}</td>'
            for position, cell in enumerate(row)
        )
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    inner = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    if table.folded:
        return f"<details><summary>{escape(table.title)}</summary>{inner}</details>"
    return f"<div><h3>{escape(table.title)}</h3>{inner}</div>"


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    title = escape(plot.title)
    wide = ' class="wide"' if plot.wide else ""
    return (
        f"<figure{wide}><figcaption>{title}</figcaption>"
        f'<img src="data:image/png;base64,{data}" alt="{title}"></figure>'
    )


def _part(part: Part, plots: list[Plot]) -> str:
    figures = "".join(_figure(plot) for plot in plots if plot.part == part.key)
    tables = "".join(table_html(table) for table in part.tables)
    return (
        f'<section id="{part.key}"><h2>{escape(part.title)}</h2>'
        f'<div class="figures">{figures}</div>'
        f'<div class="tables">{tables}</div></section>'
    )


def render_html(report: StatsReport) -> str:
    parts = report_parts(report)
    plots = render_plots(report)
    title = f"storyloom stats: {report.source.run_name or report.source.path}"
    nav = "".join(f'<a href="#{part.key}">{escape(part.title)}</a>' for part in parts)
    body = "".join(_part(part, plots) for part in parts)
    return html_page(
        title,
        f'<p class="note">{escape(report.source.path)} ({escape(report.source.kind)})</p>'
        f"<nav>{nav}</nav>{notes_html([*report.warnings, *report.notes])}{body}",
    )
