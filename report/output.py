"""Writing the report files: replaced atomically, so a reader never sees half a file, and
never over a file of the user's.

Each file carries a signature (a `generator` key in the JSON, a generator `<meta>` in the
HTML), so a later run knows the file is a report it may replace; any other existing file
needs `--force`. A symlink is written through to its target (the link stays), a
character device or a FIFO (`/dev/stdout`, `>(jq .)`) is written into as a stream, never
replaced by a regular file.
"""

from __future__ import annotations

import stat
from pathlib import Path

from storyloom.core.files import write_atomically
from storyloom.report.html import render_html
from storyloom.report.model import StatsReport

GENERATOR = "storyloom stats"
_JSON_SIGNATURE = f'{{\n  "generator": "{GENERATOR}",'
_HTML_SIGNATURE = f'<meta name="generator" content="{GENERATOR}">'
#: Where a signature must appear: the start of the file.
_SIGNATURE_WINDOW = 4096


def write_json(report: StatsReport, path: Path) -> None:
    body = report.model_dump_json(indent=2)
    _write(path, _JSON_SIGNATURE + body[1:] + "\n")


def write_html(report: StatsReport, path: Path) -> None:
    html = render_html(report)
    head = html.find("<head>")
    if head >= 0:
        head += len("<head>")
        html = html[:head] + _HTML_SIGNATURE + html[head:]
    _write(path, html)


def replace_problem(path: Path, *, force: bool = False) -> str | None:
    """Why writing the report to `path` could destroy something of the user's, or None:
    a regular file there that is not a report of this command (unless `force`), or a
    block device, a socket or a folder (always)."""
    target = path.resolve()
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"{path}: cannot read what is there ({error.strerror})"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return None  # a stream: written into, as the user meant
    if not stat.S_ISREG(mode):
        return f"{path}: is not a regular file; choose another output file"
    if force or _is_report(target):
        return None
    return (
        f"{path}: exists and was not written by {GENERATOR}; choose another output file, "
        "or pass --force to replace it"
    )


def _is_report(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            start = handle.read(_SIGNATURE_WINDOW).decode("utf-8", errors="replace")
    except OSError:
        return False
    return start.startswith(_JSON_SIGNATURE) or _HTML_SIGNATURE in start


def _write(path: Path, text: str) -> None:
    target = path.resolve()  # a symlink is written through: the link itself stays
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = 0
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        with target.open("w", encoding="utf-8") as stream:
            stream.write(text)
        return
    write_atomically(target, text)
