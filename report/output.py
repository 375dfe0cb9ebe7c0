"""Writing the stats report files, signed as `storyloom stats`'s (see
`core.report_files`: never over a file of the user's, streams written into)."""

from __future__ import annotations

from pathlib import Path

from storyloom.core.report_files import signed_html, signed_json, write_report
from storyloom.report.html import render_html
from storyloom.report.model import StatsReport

COMMAND = "stats"


def write_json(report: StatsReport, path: Path) -> None:
    write_report(path, signed_json(COMMAND, report.model_dump_json(indent=2)))


def write_html(report: StatsReport, path: Path) -> None:
    write_report(path, signed_html(COMMAND, render_html(report)))
