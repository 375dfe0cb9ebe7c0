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

import asyncio
import json
import sqlite3
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from storyloom.core.tasks import detached_task


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


#: A statement and the rows it is run with (`executemany`).
Rows = tuple[str, list[tuple[Any, ...]]]

_PUT_CHECKPOINT = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
    "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_PUT_WRITES = (
    "INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
    "task_path, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Commit:
    rows: Rows
    done: asyncio.Future[None] = field(default_factory=_future)


class LeanSqliteSaver(AsyncSqliteSaver):
    """LangGraph's saver, cheaper per step, with the same durability.

    - Channel versions are plain counters. The stock saver's are 50-character strings (a
      counter and a random float, for stores with many writers); a run has one writer,
      and those strings were most of every checkpoint once texts moved to the text
      store. A thread written by the stock saver keeps its string versions.
    - Group commit: the checkpoints and writes of every item that reaches the end of a
      step at about the same time are written in one transaction, in one trip to the
      connection's thread, and each `aput`/`aput_writes` returns only once that
      transaction is committed, as before. The stock saver makes three to four thread
      trips and one commit per call; with 32 items in flight they were most of the
      workflow's own CPU.
    - Rows staged by `stage` (the text store's texts) go into the next such transaction,
      before the checkpoint that names them, and stay staged until one commits.
    - A thread the runner marks `fresh` (no checkpoint at start) is answered "no
      checkpoint" without a read, until its first checkpoint is written.
    """

    def __init__(self, conn: aiosqlite.Connection, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self._queued: list[_Commit] = []
        self._staged: dict[str, Rows] = {}
        self._flusher: asyncio.Task[None] | None = None
        self.fresh: set[str] = set()

    def get_next_version(self, current: str | None, channel: None) -> str:
        if isinstance(current, str):
            return super().get_next_version(current, channel)
        return (current or 0) + 1  # type: ignore[return-value]

    # ----- writes -----

    def stage(self, key: str, statement: str, row: tuple[Any, ...]) -> None:
        """Write `row` with the next commit (no trip of its own); `staged(key)` has it
        until then."""
        self._staged[key] = (statement, [row])

    def staged(self, key: str) -> tuple[Any, ...] | None:
        rows = self._staged.get(key)
        return rows[1][0] if rows is not None else None

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        checkpoint_ns = configurable["checkpoint_ns"]
        type_, blob = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False)
        row = (
            thread_id,
            checkpoint_ns,
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            type_,
            blob,
            meta.encode("utf-8", "ignore"),
        )
        await self._commit((_PUT_CHECKPOINT, [row]))
        self.fresh.discard(thread_id)
        return {
            "configurable": {
                "thread_id": configurable["thread_id"],
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        configurable = config["configurable"]
        verb = "REPLACE" if all(w[0] in WRITES_IDX_MAP for w in writes) else "IGNORE"
        thread = (
            str(configurable["thread_id"]),
            str(configurable["checkpoint_ns"]),
            str(configurable["checkpoint_id"]),
            task_id,
            task_path,
        )
        rows = [
            (*thread, WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
            for idx, (channel, value) in enumerate(writes)
        ]
        await self._commit((_PUT_WRITES.format(verb=verb), rows))

    async def _commit(self, rows: Rows) -> None:
        """Returns once `rows` (and everything staged before) are committed."""
        queued = _Commit(rows)
        self._queued.append(queued)
        if self._flusher is None or self._flusher.done():
            self._flusher = detached_task(self._flush())
        await queued.done

    async def _flush(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            staged = dict(self._staged)
            statements = [*staged.values(), *(queued.rows for queued in group)]
            try:
                async with self.lock:
                    # One trip to the connection's thread for the whole transaction.
                    await self.conn._execute(_write_transaction, self.conn._conn, statements)
            except BaseException as error:
                for queued in group:
                    if not queued.done.done():
                        queued.done.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for key, rows in staged.items():
                if self._staged.get(key) is rows:
                    del self._staged[key]
            for queued in group:
                if not queued.done.done():
                    queued.done.set_result(None)

    # ----- reads -----

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        if str(config["configurable"]["thread_id"]) in self.fresh:
            return None
        return await super().aget_tuple(config)


def _write_transaction(conn: sqlite3.Connection, statements: list[Rows]) -> None:
    """Run in the connection's thread: every statement, then one commit; nothing of it on
    an error (the rows stay queued or staged for the caller to see fail or retry)."""
    try:
        for statement, rows in statements:
            conn.executemany(statement, rows)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


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
