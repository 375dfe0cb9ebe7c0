"""The run's SQLite checkpointer.

Why there is never `database is locked`, at any concurrency: one aiosqlite connection
per run process, and LangGraph's async saver serialises every write through it, so SQLite
sees a single writer however many stories run at once; the run lock (`runlock.py`) keeps
a second process from becoming a second writer. WAL lets readers (`storyloom stats` on a
live run) read beside the writer without blocking it, and `busy_timeout` rides out the
short WAL checkpoints. `synchronous=NORMAL` in WAL loses nothing on a process crash; on a
power cut the last commits may roll back, which only re-runs those nodes (outputs are
fsynced and written once by id).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


class CheckpointStoreError(RuntimeError):
    """The checkpoint database cannot be opened or is corrupted."""


def check_checkpoint_store(path: Path) -> None:
    """Fail early, before any work starts, on a file that is not an SQLite database.

    Only the header and schema are read: a full `PRAGMA integrity_check` reads every page,
    minutes on a run of many thousand stories. Damage deeper in the file surfaces when a
    story touches it, and the runner then stops the run with the same kind of message.
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


@asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    try:
        conn = await aiosqlite.connect(str(path))
    except sqlite3.Error as exc:
        raise CheckpointStoreError(f"{path}: cannot open checkpoint database ({exc})") from exc
    try:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=10000")
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
        except sqlite3.DatabaseError as exc:
            raise CheckpointStoreError(
                f"{path}: checkpoint database is corrupted or not SQLite ({exc})"
            ) from exc
        yield saver
    finally:
        await conn.close()
