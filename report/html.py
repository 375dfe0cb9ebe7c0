"""One self-contained HTML file: plots embedded as base64 PNG, CSS inline, no script and no
network. A Content-Security-Policy forbids every fetch, so the file provably opens
offline and cannot phone home."""

from __future__ import annotations

import base64
from html import escape

from storyloom.report.model import StatsReport
from storyloom.report.plots import Plot, render_plots
from storyloom.report.tables import Part, Table, report_parts

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b;
       margin: 0 auto; max-width: 1100px; padding: 1.5rem 2rem 4rem; background: #fbfbfc; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { margin-top: 2.4rem; border-bottom: 2px solid #3b7dd8; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.4rem 0 0.4rem; }
nav a { margin-right: 1rem; }
.tables { display: flex; flex-wrap: wrap; gap: 0 2rem; align-items: flex-start; }
table { border-collapse: collapse; margin-bottom: 0.6rem; font-size: 0.88rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #e2e5ea; }
th { text-align: left; background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
           gap: 0.5rem 1.5rem; }
.figures .wide { grid-column: 1 / -1; }
figure { margin: 0.8rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e5ea; background: #fff; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.note { color: #5b6570; font-size: 0.85rem; margin: 0 0 0.8rem; }
details { margin: 0.5rem 0; }
summary { font-weight: 600; cursor: pointer; }
.notes { background: #fff6e0; border-left: 4px solid #e6ab02; padding: 0.5rem 1rem; }
"""


def _table(table: Table) -> str:
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
    tables = "".join(_table(table) for table in part.tables)
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
    notes = "".join(f"<li>{escape(note)}</li>" for note in [*report.warnings, *report.notes])
    notes_block = f'<div class="notes"><ul>{notes}</ul></div>' if notes else ""
    body = "".join(_part(part, plots) for part in parts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>"
        f'<p class="note">{escape(report.source.path)} ({escape(report.source.kind)})</p>'
        f"<nav>{nav}</nav>{notes_block}{body}</body></html>\n"
    )
