"""The one JSON-lines reader, and its policy for torn and damaged lines.

Policy (every reader and every writer of the tool follows it):

- Every line that ends in a newline must be one JSON object. Anything else there (not
  UTF-8, not JSON, not an object) is damage: a `JsonlError` naming the file and the line,
  wherever the line sits. Nothing is skipped or deleted silently.
- Blank lines are skipped (and counted), since they carry nothing.
- The last line may lack its newline. If it parses it is a record (a hand-written file
  may end that way); if not it is a *torn* write left by a crash, skipped by readers and
  counted in `torn_bytes`.
- Only a writer that owns the file may cut a torn tail (`cut_torn_tail`), and the cut
  bytes are kept aside in `<file>.torn` so nothing is lost.
- A reader that must never fail (a summary printed after a run) passes `on_damaged`: the
  damaged line is reported to it and skipped instead of raising.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from storyloom.core.files import append_whole
from storyloom.core.layout import TORN_SUFFIX


class JsonlError(ValueError):
    """A JSON-lines file cannot be read as asked; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        where = f"{path}: line {line}" if line is not None else f"{path}:"
        super().__init__(f"{where} {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class JsonlReader:
    """Iterates the JSON objects of one file under the policy above.

    After iterating: `skipped` counts blank and torn lines, `torn_bytes` the size of a torn
    last line, `line` is the number of the record last yielded (for callers' own messages).
    """

    def __init__(
        self, path: Path, *, on_damaged: Callable[[JsonlError], None] | None = None
    ) -> None:
        self.path = path
        self.on_damaged = on_damaged
        self.skipped = 0
        self.torn_bytes = 0
        self.line = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise JsonlError(self.path, None, f"cannot read ({exc.strerror or exc})") from exc
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    self.skipped += 1
                    if not raw.endswith(b"\n"):
                        self.torn_bytes = len(raw)
                    continue
                try:
                    record = parse_line(self.path, number, raw)
                except JsonlError as error:
                    if not raw.endswith(b"\n"):
                        self.skipped += 1  # the torn last line of a crashed write
                        self.torn_bytes = len(raw)
                        continue
                    if self.on_damaged is None:
                        raise
                    self.on_damaged(error)
                    continue
                self.line = number
                yield record

    def numbered(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, object) pairs."""
        for record in self:
            yield self.line, record


def parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    """One line as a JSON object, or a JsonlError naming `path` and line `number`."""
    try:
        value = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise JsonlError(path, number, "is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise JsonlError(path, number, f"is not valid JSON ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise JsonlError(path, number, "is not a JSON object")
    return value


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of `path` under the policy (a missing file has none)."""
    if not path.exists():
        return iter(())
    return iter(JsonlReader(path))


def torn_path(path: Path) -> Path:
    """Where the bytes of `path`'s torn last line are kept."""
    return path.with_name(path.name + TORN_SUFFIX)


def cut_torn_tail(path: Path, *, keep_aside: bool = True) -> int:
    """Cut the bytes after the last newline of `path` (a write torn by a crash) and return
    how many were cut; 0 when the file ends in a newline, is empty or is missing.

    With `keep_aside` the cut bytes are first appended, whole and fsynced, to
    `<path>.torn` (each fragment followed by a newline), so cutting never loses a byte.
    Only the end of the file is read: a corpus may be gigabytes.
    """
    if not path.exists():
        return 0
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        keep = _after_last_newline(handle, size)
        handle.seek(keep)
        fragment = handle.read(size - keep)
        if keep_aside:
            append_whole(torn_path(path), fragment + b"\n")
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return size - keep


def _after_last_newline(handle: Any, end: int) -> int:
    block = 1 << 16
    position = end
    while position > 0:
        low = max(0, position - block)
        handle.seek(low)
        found = handle.read(position - low).rfind(b"\n")
        if found >= 0:
            return low + found + 1
        position = low
    return 0
