"""Report files a command writes where the user says (`--json`, `--html`): replaced
atomically, so a reader never sees half a file, and never over a file of the user's.

Each report carries a signature (a `generator` key opening the JSON, a generator `<meta>`
in the HTML head), so a later run knows the file is a storyloom report it may replace;
any other existing file needs `--force`. A symlink is written through to its target (the
link stays); a character device or a FIFO (`/dev/stdout`, `>(jq .)`) is written into as
a stream, never replaced by a regular file; a block device, socket or folder is refused.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storyloom.core.files import write_atomically

#: Every command's reports are signed "storyloom <command>".
_JSON_SIGNATURE = '{\n  "generator": "storyloom '
_HTML_SIGNATURE = '<meta name="generator" content="storyloom '
#: Where a signature must appear: the start of the file.
_SIGNATURE_WINDOW = 4096


def json_report(command: str, figures: Mapping[str, Any]) -> str:
    """`figures` as an indented JSON object whose first key signs it as `command`'s."""
    signed = {"generator": f"storyloom {command}", **figures}
    return json.dumps(signed, indent=2, ensure_ascii=False) + "\n"


def signed_json(command: str, body: str) -> str:
    """A JSON object already encoded (`body`, e.g. pydantic's) with the signature as its
    first key; an empty object becomes one holding the signature alone."""
    inner = body.strip().removeprefix("{").removesuffix("}").strip()
    rest = f",\n  {inner}" if inner else ""
    return f'{{\n  "generator": "storyloom {command}"{rest}\n}}\n'


def signed_html(command: str, html: str) -> str:
    """`html` with the generator `<meta>` first in its head."""
    head = html.find("<head>")
    if head < 0:
        raise ValueError("a report page without <head>")
    head += len("<head>")
    return f'{html[:head]}{_HTML_SIGNATURE}{command}">{html[head:]}'


def replace_problem(path: Path, *, force: bool = False) -> str | None:
    """Why writing a report to `path` could destroy something of the user's, or None: a
    regular file there that is no storyloom report (unless `force`), or a block device, a
    socket or a folder (always)."""
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
        f"{path}: exists and was not written by storyloom; choose another output file, "
        "or pass --force to replace it"
    )


def write_report(path: Path, text: str) -> None:
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


def _is_report(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            start = handle.read(_SIGNATURE_WINDOW).decode("utf-8", errors="replace")
    except OSError:
        return False
    return start.startswith(_JSON_SIGNATURE) or _HTML_SIGNATURE in start
