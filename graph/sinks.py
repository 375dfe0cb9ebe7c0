"""The run's two outputs, `corpus.jsonl` and `rejected.jsonl`, written idempotently.

Each story id lands in exactly one file, once. Lines are appended whole and fsynced; a
torn last line left by a crash is cut off when the run is reopened, so that story is
produced again rather than lost or half-counted.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, BinaryIO

from storyloom.dedupe.appendlog import append_whole


def repair_jsonl(path: Path, key: str = "id") -> int:
    """Cut a torn or unparsable tail off `path` (the last good line is a JSON object
    holding `key`); return how many bytes were removed.

    Only the end of the file is read (a corpus may be gigabytes): a crash can tear only
    the line being appended, so scanning back to the last whole record is enough.
    """
    if not path.exists():
        return 0
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        keep = size
        while keep > 0:
            start = _line_start(handle, keep)
            handle.seek(start)
            line = handle.read(keep - start)
            if line.endswith(b"\n") and _is_record(line, key):
                break
            keep = start
        if keep == size:
            return 0
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return size - keep


def _line_start(handle: BinaryIO, end: int) -> int:
    """Offset of the line that ends at `end` (the byte after its newline, or EOF)."""
    position = end - 1  # skip the line's own newline
    block = 65536
    while position > 0:
        low = max(0, position - block)
        handle.seek(low)
        found = handle.read(position - low).rfind(b"\n")
        if found >= 0:
            return low + found + 1
        position = low
    return 0


def _is_record(line: bytes, key: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and key in record


def read_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids: set[str] = set()
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                ids.add(json.loads(line)["id"])
            except (ValueError, KeyError, TypeError):
                raise SinkError(
                    f"{path}: line {number} is not a story record (edited or damaged?); "
                    "fix or remove that line, then run again"
                ) from None
    return ids


class SinkError(RuntimeError):
    """An output file cannot be used; the message names the file and the problem."""


class SinkWriteError(SinkError):
    """An output line could not be written (disk full, I/O error). The file was put back
    as it was, so the run can stop cleanly and be resumed once the cause is fixed."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class JsonlSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.repaired_bytes = repair_jsonl(path)
        self.ids = read_ids(path)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> bool:
        """Append `record` unless its id is already there; True if it was written."""
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            if record["id"] in self.ids:
                return False
            _append_whole(self.path, data)
            self.ids.add(record["id"])
            return True


def _append_whole(path: Path, data: bytes) -> None:
    """Append `data` whole, or leave the file as it was and raise a SinkWriteError that
    names the file (a fragment would glue onto the next line and lose it too)."""
    try:
        append_whole(path, data)
    except OSError as exc:
        raise SinkWriteError(
            f"{path}: cannot write ({exc.strerror or exc}); the file was left whole",
            exc.errno,
        ) from exc


class RunSinks:
    def __init__(self, corpus_path: Path, rejected_path: Path) -> None:
        self.corpus = JsonlSink(corpus_path)
        self.rejected = JsonlSink(rejected_path)

    def finished(self, story_id: str) -> bool:
        return story_id in self.corpus.ids or story_id in self.rejected.ids
