"""Writing the report files: replaced atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

from storyloom.report.html import render_html
from storyloom.report.model import StatsReport


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(report: StatsReport, path: Path) -> None:
    _write(path, report.model_dump_json(indent=2) + "\n")


def write_html(report: StatsReport, path: Path) -> None:
    _write(path, render_html(report))
