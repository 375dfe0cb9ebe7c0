"""The run's SQLite checkpointer.

Why there is never `database is locked`, at any concurrency: one aiosqlite connection
per run process, and LangGraph's async saver serialises every write through it, so SQLite
sees a single writer however many items run at once; the run lock (`runlock.py`) keeps
a second process from becoming a second writer. WAL lets readers (`storyloom stats` on a
live run) read beside the writer without blocking it, and `busy_timeout` rides out the
short WAL checkpoints. `synchronous=NORMAL` in WAL loses nothing on a process crash; on a
power cut the last commits may roll back, which only re-runs those nodes (outputs are
fsynced and written once by id).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


class CheckpointStoreError(RuntimeError):
    """The checkpoint database cannot be opened or is corrupted."""


class CompressedSerializer(JsonPlusSerializer):
    """LangGraph's serializer, zlib-compressing what it writes (a checkpoint repeats its
    channel names and versions; compressed it is about half the size). Reads both."""

    SUFFIX = "+zlib"
    #: Smaller values (most pending writes) only grow when compressed.
    MIN_BYTES = 512

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = super().dumps_typed(obj)
        if len(data) < self.MIN_BYTES:
            return type_, data
        return type_ + self.SUFFIX, zlib.compress(data, 6)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, payload = data
        if type_.endswith(self.SUFFIX):
            return super().loads_typed((type_[: -len(self.SUFFIX)], zlib.decompress(payload)))
        return super().loads_typed(data)


class LeanSqliteSaver(AsyncSqliteSaver):
    """Channel versions as plain counters. The stock saver's are 50-character strings
    (a counter and a random float, for stores with many writers); a run has one writer,
    and those strings were most of every checkpoint once texts moved to the text store.
    A thread written by the stock saver keeps its string versions."""

    def get_next_version(self, current: str | None, channel: None) -> str:
        if isinstance(current, str):
            return super().get_next_version(current, channel)
        return (current or 0) + 1  # type: ignore[return-value]


def check_checkpoint_store(path: Path) -> None:
    """Fail early, before any work starts, on a file that is not an SQLite database.

    Only the header and schema are read: a full `PRAGMA integrity_check` reads every page,
    minutes on a run of many thousand items. Damage deeper in the file surfaces when an
    item touches it, and the runner then stops the run with the same kind of message.
    """
    if not path.exists():
        return
    try:
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CheckpointStoreError(
            f"{path}: checkpoint database is corrupted or not SQLite ({exc})"
        ) from exc


async def checkpointed_threads(saver: LeanSqliteSaver, path: Path) -> set[str]:
    """The threads (items) with a checkpoint, read once at start, so a new item starts
    without a state read; a database damaged inside names its file."""
    try:
        async with (
            saver.lock,
            saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints") as cursor,
        ):
            return {row[0] async for row in cursor}
    except sqlite3.DatabaseError as exc:
        raise CheckpointStoreError(
            f"{path}: checkpoint database is corrupted or not SQLite ({exc})"
        ) from exc


@asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[LeanSqliteSaver]:
    try:
        conn = await aiosqlite.connect(str(path))
    except sqlite3.Error as exc:
        raise CheckpointStoreError(f"{path}: cannot open checkpoint database ({exc})") from exc
    try:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=10000")
            saver = LeanSqliteSaver(conn, serde=CompressedSerializer())
            await saver.setup()
        except sqlite3.DatabaseError as exc:
            raise CheckpointStoreError(
                f"{path}: checkpoint database is corrupted or not SQLite ({exc})"
            ) from exc
        yield saver
    finally:
        await conn.close()
