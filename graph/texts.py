"""Every text an item's journey produces, stored once by content hash.

LangGraph saves the whole state at every step; an item's drafts and critiques copied into
ten checkpoints made the database about 14x the corpus. Here each plan, draft, critique and
review is written once (zlib-compressed JSON) to a table in the checkpoint database, and
the state keeps its 16-hex-digit reference. The table shares the checkpointer's one
connection, so SQLite still sees a single writer. A text is staged with the checkpointer
(`LeanSqliteSaver.stage`) and written in its next group commit, at the latest the one of
the checkpoint that names it (the same transaction, or an earlier one): no trip to the
database and no commit of its own per text, and never a reference to a missing text; a
kill can at most lose texts no checkpoint names.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import OrderedDict
from typing import Any

from storyloom.graph.checkpointer import LeanSqliteSaver

SCHEMA = "CREATE TABLE IF NOT EXISTS storyloom_texts (ref TEXT PRIMARY KEY, body BLOB NOT NULL)"
_INSERT = "INSERT OR IGNORE INTO storyloom_texts (ref, body) VALUES (?, ?)"


class MissingTextError(LookupError):
    """A checkpoint names a text the store does not hold (the database was edited)."""


def text_ref(value: Any) -> str:
    return hashlib.sha256(_encode(value)).hexdigest()[:16]


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")


class TextStore:
    """Content-addressed texts in the run's checkpoint database, with a small cache."""

    CACHE_SIZE = 4096

    def __init__(self, saver: LeanSqliteSaver) -> None:
        self._saver = saver
        self._cache: OrderedDict[str, Any] = OrderedDict()

    @classmethod
    async def open(cls, saver: LeanSqliteSaver) -> TextStore:
        async with saver.lock:
            await saver.conn.execute(SCHEMA)
            await saver.conn.commit()
        return cls(saver)

    async def put(self, value: Any) -> str:
        """Store `value` (JSON-plain) once; its reference."""
        raw = _encode(value)
        ref = hashlib.sha256(raw).hexdigest()[:16]
        if ref not in self._cache:
            # Committed with the checkpoint that names it (see the module's note).
            self._saver.stage(ref, _INSERT, (ref, zlib.compress(raw, 6)))
        # Cached as read back, so a value is the same (keys sorted) whether it comes from
        # the cache or, after a restart, from the database: outputs replay byte for byte.
        self._remember(ref, json.loads(raw))
        return ref

    async def get(self, ref: str) -> Any:
        if ref in self._cache:
            self._cache.move_to_end(ref)
            return self._cache[ref]
        if (staged := self._saver.staged(ref)) is not None:
            body = staged[1]
        else:
            async with self._saver.conn.execute(
                "SELECT body FROM storyloom_texts WHERE ref = ?", (ref,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise MissingTextError(f"text {ref} named by a checkpoint is missing")
            body = row[0]
        value = json.loads(zlib.decompress(body))
        self._remember(ref, value)
        return value

    async def get_optional(self, ref: str | None) -> Any:
        return None if ref is None else await self.get(ref)

    def _remember(self, ref: str, value: Any) -> None:
        self._cache[ref] = value
        self._cache.move_to_end(ref)
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)


def read_text_sync(conn: Any, ref: str) -> Any:
    """A text by reference through a plain `sqlite3` connection (reports, `inspect`)."""
    row = conn.execute("SELECT body FROM storyloom_texts WHERE ref = ?", (ref,)).fetchone()
    if row is None:
        raise MissingTextError(f"text {ref} named by a checkpoint is missing")
    return json.loads(zlib.decompress(row[0]))
