"""The run's two outputs, `corpus.jsonl` and `rejected.jsonl`, written idempotently.

Each item id lands in exactly one file, once. Lines are appended whole and fsynced
(`storyloom.core.files.append_whole`). When the run is reopened a torn last line (no
newline, and not JSON: a crash mid-write, or a cut by hand) is cut and its bytes kept in
`<file>.torn`, and the item it names is remembered, so the run can say what was set aside
and how that item was made whole (`RunReport.set_aside`). Any other damage (a line
that is not a record, an item id twice) is an error naming the file and the line: it was
not made by a crash, and guessing would lose or double what the user has.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.files import append_whole
from storyloom.core.group_commit import GroupCommit
from storyloom.core.jsonl import (
    JsonlError,
    JsonlReader,
    TornTail,
    set_aside_torn_tail,
    torn_path,
)
from storyloom.core.records import CorpusRecord, RejectedRecord, SideRecord, parse_record

Record = CorpusRecord | RejectedRecord | SideRecord


class SinkError(RuntimeError):
    """An output file cannot be used; the message names the file and the problem."""


class SinkWriteError(SinkError):
    """An output line could not be written (disk full, I/O error). The file was put back
    as it was, so the run can stop cleanly and be resumed once the cause is fixed."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


def read_ids(path: Path, record_type: type[Record]) -> dict[str, int]:
    """Every item id of `path` with its line number; a damaged line or an id that appears
    twice is a SinkError naming the file, the line and the id."""
    if not path.exists():
        return {}
    ids: dict[str, int] = {}
    reader = JsonlReader(path)
    try:
        for number, value in reader.numbered():
            record = parse_record(record_type, value, path, number)
            if record.id in ids:
                raise SinkError(
                    f"{path}: line {number} repeats item id {record.id!r} (first on line "
                    f"{ids[record.id]}); remove one of the two lines, then run again"
                )
            ids[record.id] = number
    except JsonlError as error:
        raise SinkError(
            f"{error}: edited or damaged? Fix or remove that line, then run again"
        ) from None
    return ids


class JsonlSink:
    def __init__(self, path: Path, record_type: type[Record] = CorpusRecord) -> None:
        self.path = path
        self.record_type = record_type
        #: A torn last line cut when the file was opened (kept in `torn_path`).
        self.torn = set_aside_torn_tail(path)
        try:
            self._lines = read_ids(path, record_type)
        except SinkError as error:
            if self.torn is None:
                raise
            raise SinkError(
                f"{error} (its torn last line, {self.torn.size} bytes, was set aside in "
                f"{self.torn.kept_in})"
            ) from None
        self.ids = set(self._lines)
        self._lock = threading.Lock()
        self._group_commit: GroupCommit[Record, bool] = GroupCommit(self._write_group)

    @property
    def torn_bytes(self) -> int:
        return self.torn.size if self.torn else 0

    @property
    def torn_path(self) -> Path:
        return torn_path(self.path)

    def line_of(self, item_id: str) -> int | None:
        return self._lines.get(item_id)

    def write(self, record: Record | dict[str, Any]) -> bool:
        """Append `record` unless its id is already there; True if it was written."""
        if isinstance(record, dict):
            record = self.record_type.model_validate(record)
        data = record.to_line()
        with self._lock:
            if record.id in self.ids:
                return False
            _append_whole(self.path, data)
            self.ids.add(record.id)
            return True

    async def write_async(self, record: Record | dict[str, Any]) -> bool:
        """`write` for the event loop: the lines of items that finish together are one
        append and one fsync in a worker thread. Returns once its line is durable."""
        if isinstance(record, dict):
            record = self.record_type.model_validate(record)
        return await self._group_commit(record)

    def _write_group(self, records: list[Record]) -> list[bool]:
        """Append the records whose id is not there yet as one whole write: all of
        them or, on an error, none (the file is put back as it was)."""
        with self._lock:
            fresh: dict[str, bytes] = {}
            written = []
            for record in records:
                new = record.id not in self.ids and record.id not in fresh
                if new:
                    fresh[record.id] = record.to_line()
                written.append(new)
            if fresh:
                _append_whole(self.path, b"".join(fresh.values()))
                self.ids.update(fresh)
            return written


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
        self.corpus = JsonlSink(corpus_path, CorpusRecord)
        self.rejected = JsonlSink(rejected_path, RejectedRecord)
        self._sides: dict[str, JsonlSink] = {}
        self._sides_lock = threading.Lock()
        for item_id in sorted(self.corpus.ids & self.rejected.ids):
            raise SinkError(
                f"{rejected_path}: line {self.rejected.line_of(item_id)} holds item id "
                f"{item_id!r}, which {corpus_path} also holds (line "
                f"{self.corpus.line_of(item_id)}); remove one of the two lines, then run again"
            )

    def side(self, name: str) -> JsonlSink:
        """A kind's own output file in the run directory (`pairs.jsonl`), opened once and
        written idempotently by id like the corpus."""
        with self._sides_lock:
            if name not in self._sides:
                if not layout.is_side_output(name):
                    raise SinkError(f"{name}: not a name a kind may write in a run directory")
                self._sides[name] = JsonlSink(self.corpus.path.parent / name, SideRecord)
            return self._sides[name]

    def open_sides(self, names: Iterable[str]) -> None:
        """Open the kind's files that already exist (a torn line is cut now, not later)."""
        for name in names:
            if (self.corpus.path.parent / name).exists():
                self.side(name)

    def finished(self, item_id: str) -> bool:
        return item_id in self.corpus.ids or item_id in self.rejected.ids

    def torn(self) -> list[TornTail]:
        """The torn last lines cut on opening (their bytes kept aside)."""
        sinks = (self.corpus, self.rejected, *self._sides.values())
        return [s.torn for s in sinks if s.torn is not None]

    def set_aside_items(self) -> set[str]:
        """Items whose output line was cut as torn: none of them counts as finished."""
        return {t.item_id for t in self.torn() if t.item_id is not None}
