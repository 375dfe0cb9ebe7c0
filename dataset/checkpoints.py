"""Reading a run's checkpoint database without ever writing to it.

`inspect`, `export --include-history` and `merge` read databases that a worker may still
be writing. The connection is read-only; a database with no `-wal` file beside it is
opened `immutable`, because a read-only open of a WAL database would otherwise create
the `-wal` and `-shm` files in a folder this tool promised not to touch.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyloom.dataset.runfiles import DatasetError
from storyloom.graph.checkpointer import CompressedSerializer
from storyloom.graph.texts import MissingTextError, read_text_sync


class CheckpointReadError(DatasetError):
    """The checkpoint database cannot be read; the message names the file."""


def readonly_uri(path: Path) -> str:
    wal = path.with_name(path.name + "-wal")
    suffix = "?mode=ro" if wal.exists() else "?mode=ro&immutable=1"
    return path.resolve().as_uri() + suffix


def open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise CheckpointReadError(f"{path}: no checkpoint database")
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True)
        conn.execute("PRAGMA query_only=1")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise CheckpointReadError(f"{path}: cannot read checkpoint database ({exc})") from exc
    return conn


@dataclass(frozen=True)
class ThreadState:
    """The newest checkpoint of one thread: its state (texts still as references), how
    many checkpoints the thread has, and when the first and the last were written."""

    values: dict[str, Any]
    checkpoints: int
    first_ts: str
    last_ts: str


class CheckpointReader:
    """Threads and texts of one checkpoint database, read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_readonly(path)
        self._serde = CompressedSerializer()

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def latest(self, thread_id: str) -> ThreadState | None:
        """The thread's newest checkpoint, or None when the thread has none."""
        query = (
            "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? "
            "AND checkpoint_ns = '' ORDER BY checkpoint_id {} LIMIT 1"
        )
        try:
            with closing(self._conn.cursor()) as cursor:
                newest = cursor.execute(query.format("DESC"), (thread_id,)).fetchone()
                if newest is None:
                    return None
                oldest = cursor.execute(query.format("ASC"), (thread_id,)).fetchone()
                (count,) = cursor.execute(
                    "SELECT count(*) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
                    (thread_id,),
                ).fetchone()
        except sqlite3.Error as exc:
            raise CheckpointReadError(f"{self.path}: cannot read checkpoints ({exc})") from exc
        last, first = self._decode(newest), self._decode(oldest)
        return ThreadState(
            values=dict(last.get("channel_values") or {}),
            checkpoints=int(count),
            first_ts=str(first.get("ts", "")),
            last_ts=str(last.get("ts", "")),
        )

    def threads_ending(self, suffix: str) -> list[str]:
        """Thread ids ending in `suffix` (`/7`: item 7 of a merge of differently named
        shards)."""
        try:
            rows = self._conn.execute(
                "SELECT DISTINCT thread_id FROM checkpoints WHERE substr(thread_id, -?) = ?",
                (len(suffix), suffix),
            ).fetchall()
        except sqlite3.Error as exc:
            raise CheckpointReadError(f"{self.path}: cannot read checkpoints ({exc})") from exc
        return sorted(row[0] for row in rows)

    def text(self, ref: str | None) -> Any:
        """A stored text by reference (None stays None)."""
        if ref is None:
            return None
        try:
            return read_text_sync(self._conn, ref)
        except MissingTextError as exc:
            raise CheckpointReadError(f"{self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise CheckpointReadError(f"{self.path}: cannot read texts ({exc})") from exc

    def _decode(self, row: tuple[str, bytes]) -> dict[str, Any]:
        try:
            value = self._serde.loads_typed((row[0], row[1]))
        except Exception as exc:  # a damaged blob: name the file, not a msgpack trace
            raise CheckpointReadError(
                f"{self.path}: a checkpoint cannot be decoded ({exc})"
            ) from None
        return value if isinstance(value, dict) else {}
