"""The one JSON-lines reader, and its policy for torn and damaged lines.

Policy (every reader and every writer of the tool follows it):

- Every line that ends in a newline must be one JSON object. Anything else there (not
  UTF-8, not JSON, not an object) is damage: a `JsonlError` naming the file and the line,
  wherever the line sits. Nothing is skipped or deleted silently.
- Blank lines are skipped (and counted), since they carry nothing.
- The last line may lack its newline. If it parses it is a record (a hand-written file
  may end that way, and an editor may drop the final newline); if not it is a *torn*
  line (a crash mid-write, or a cut by hand), skipped by readers and counted in
  `torn_bytes`.
- Only a writer that owns the file may touch its tail (`cut_torn_tail`): a last line
  that parses gets its newline, a torn one is cut and its bytes kept aside in
  `<file>.torn` so nothing is lost, and the caller is told which item it held.
- A reader that must never fail (a summary printed after a run) passes `on_damaged`: the
  damaged line is reported to it and skipped instead of raising.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    except RecursionError as exc:
        raise JsonlError(path, number, "is not valid JSON (nested too deeply)") from exc
    except ValueError as exc:  # a number of thousands of digits, and alike
        raise JsonlError(path, number, f"is not valid JSON ({exc})") from exc
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


@dataclass(frozen=True)
class TornTail:
    """A last line without its newline that did not parse, cut and kept aside."""

    path: Path
    size: int
    #: The item id its first bytes name (`{"id": "run/5", ...`), when they name one.
    item_id: str | None

    @property
    def kept_in(self) -> Path:
        return torn_path(self.path)


_LEADING_ID = re.compile(rb'\A\s*\{\s*"(?:id|story_id)"\s*:\s*("(?:[^"\\]|\\.)*")')


def cut_torn_tail(path: Path, *, keep_aside: bool = True) -> int:
    """How many bytes `set_aside_torn_tail` cut (0 when none)."""
    torn = set_aside_torn_tail(path, keep_aside=keep_aside)
    return torn.size if torn else 0


def set_aside_torn_tail(path: Path, *, keep_aside: bool = True) -> TornTail | None:
    """Cut the bytes after the last newline of `path` when they do not parse as a JSON
    object (a write torn by a crash, or a line cut by hand); None when the file ends in a
    newline, is empty or is missing, or its last line parses (it gets its newline: a
    record the user wrote, whose newline an editor dropped).

    With `keep_aside` the cut bytes are first appended, whole and fsynced, to
    `<path>.torn` (each fragment followed by a newline), so cutting never loses a byte.
    Only the end of the file is read: a corpus may be gigabytes.
    """
    if not path.exists():
        return None
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        keep = _after_last_newline(handle, size)
        handle.seek(keep)
        fragment = handle.read(size - keep)
        whole = _parses(fragment)
        if whole:
            handle.write(b"\n")
        else:
            if keep_aside:
                append_whole(torn_path(path), fragment + b"\n")
            handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return None if whole else TornTail(path, size - keep, _leading_id(fragment))


def _parses(fragment: bytes) -> bool:
    try:
        parse_line(Path(), 0, fragment)
    except JsonlError:
        return False
    return True


def _leading_id(fragment: bytes) -> str | None:
    found = _LEADING_ID.match(fragment[:4096])
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) else None


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
