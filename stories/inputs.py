"""Reading the files a user edits: one plain line naming the file and the problem.

Every kind's loaders raise `InputError` through these helpers, so the CLI can show the
message as it is.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path


class InputError(ValueError):
    """A user-supplied input file is missing, unreadable or malformed."""


def read_text_file(path: Path, what: str) -> str:
    if not path.exists():
        raise InputError(f"{path}: {what} file not found")
    if path.is_dir():
        raise InputError(f"{path}: {what} file is a directory")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} file ({exc.strerror})") from exc
    if b"\x00" in raw:
        raise InputError(f"{path}: {what} file is binary, expected UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} file is not UTF-8 text") from exc
    text = text.removeprefix("\ufeff")  # a BOM would hide the first heading or key
    if not text.strip():
        raise InputError(f"{path}: {what} file is empty")
    return text


def read_toml(path: Path, what: str) -> dict[str, object]:
    text = read_text_file(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML in {what} file ({exc})") from exc


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
