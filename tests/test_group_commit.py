"""The run's checkpointer writes what many items checkpoint at once in one transaction,
and each write still returns only once it is committed (`graph/checkpointer.py`)."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from storyloom.graph import checkpointer
from storyloom.graph.checkpointer import open_checkpointer
from storyloom.graph.texts import TextStore


def _config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


def _committed(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """What another connection reads: only what was committed."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def test_checkpoints_in_flight_together_share_a_commit_and_return_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoints.sqlite"
    transactions: list[int] = []
    write = checkpointer._write_transaction

    def counted(conn: sqlite3.Connection, statements: list[Any]) -> None:
        transactions.append(len(statements))
        write(conn, statements)

    monkeypatch.setattr(checkpointer, "_write_transaction", counted)

    async def scenario() -> None:
        async with open_checkpointer(path) as saver:

            async def one(thread: str) -> None:
                saved = await saver.aput(_config(thread), empty_checkpoint(), {}, {})
                # Returned: committed, so a reader elsewhere already sees it.
                rows = _committed(path, f"SELECT 1 FROM checkpoints WHERE thread_id = '{thread}'")
                assert rows == [(1,)]
                await saver.aput_writes(saved, [("draft", "x")], "task")

            await asyncio.gather(*(one(f"run/{i}") for i in range(20)))

    asyncio.run(scenario())
    assert len(_committed(path, "SELECT * FROM checkpoints")) == 20
    assert len(_committed(path, "SELECT * FROM writes")) == 20
    assert len(transactions) < 40  # 40 writes, grouped
    assert max(transactions) > 1


def test_a_text_is_committed_with_the_checkpoint_that_names_it_and_survives_a_failed_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoints.sqlite"
    write = checkpointer._write_transaction
    failures = [sqlite3.OperationalError("database or disk is full")]

    def failing_once(conn: sqlite3.Connection, statements: list[Any]) -> None:
        if failures:
            # As SQLite does on a full disk: part of the transaction written, then none.
            conn.executemany(*statements[0])
            conn.rollback()
            raise failures.pop()
        write(conn, statements)

    monkeypatch.setattr(checkpointer, "_write_transaction", failing_once)

    async def scenario() -> None:
        async with open_checkpointer(path) as saver:
            texts = await TextStore.open(saver)
            ref = await texts.put({"text": "a draft"})
            assert _committed(path, "SELECT ref FROM storyloom_texts") == []  # no trip of its own
            with pytest.raises(sqlite3.OperationalError, match="disk is full"):
                await saver.aput(_config("run/0"), empty_checkpoint(), {}, {})
            assert _committed(path, "SELECT ref FROM storyloom_texts") == []
            assert await texts.get(ref) == {"text": "a draft"}  # still staged
            await saver.aput(_config("run/0"), empty_checkpoint(), {}, {})
            assert _committed(path, "SELECT ref FROM storyloom_texts") == [(ref,)]

    asyncio.run(scenario())


def test_a_fresh_thread_reads_no_checkpoint_until_its_first_is_written(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"

    async def scenario() -> None:
        async with open_checkpointer(path) as saver:
            await saver.aput(_config("run/0"), empty_checkpoint(), {}, {})
            saver.fresh.add("run/1")
            assert await saver.aget_tuple(_config("run/1")) is None
            checkpoint = empty_checkpoint()
            await saver.aput(_config("run/1"), checkpoint, {}, {})
            found = await saver.aget_tuple(_config("run/1"))
            assert found is not None and found.checkpoint["id"] == checkpoint["id"]
            assert await saver.aget_tuple(_config("run/0")) is not None  # never fresh

    asyncio.run(scenario())
