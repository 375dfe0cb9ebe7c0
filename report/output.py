"""Writing the report files: replaced atomically, so a reader never sees half a file."""

from __future__ import annotations

from pathlib import Path

from storyloom.core.files import write_atomically
from storyloom.report.html import render_html
from storyloom.report.model import StatsReport


def write_json(report: StatsReport, path: Path) -> None:
    write_atomically(path, report.model_dump_json(indent=2) + "\n")


def write_html(report: StatsReport, path: Path) -> None:
    write_atomically(path, render_html(report))
