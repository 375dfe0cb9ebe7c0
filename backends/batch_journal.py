"""The durable journal of a `--batch` run: its own SQLite file (`batches.sqlite`).

Message Batches have no idempotency key, so paying once is this file's job. The order of
writes is the guarantee: a submission's intent (its requests and custom ids) is committed
before `batches.create`, the batch id right after it returns, and every result before the
waiting call is resolved. A restart then takes answered requests from here, polls the
batches already recorded, and matches an intent without a batch id against
`batches.list()` before anything is submitted again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOURNAL_NAME = "batches.sqlite"


def batch_journal_path(run: Any) -> Path:
    """The journal of a run directory (a `RunDir` or a path)."""
    return Path(getattr(run, "path", run)) / JOURNAL_NAME


_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    size INTEGER NOT NULL,
    batch_id TEXT,
    status TEXT NOT NULL  -- intent, submitted, ended, abandoned
);
CREATE TABLE IF NOT EXISTS members (
    submission TEXT NOT NULL,
    custom_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (submission, custom_id)
);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,       -- succeeded, errored (final errors only)
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS canaries (purpose TEXT PRIMARY KEY);
"""


def request_key(params: dict[str, Any]) -> str:
    """Deterministic key of one request: its whole content. A replayed node (same item,
    same node, same attempt) builds the same params, so it finds its own request again;
    a repair turn has different messages and so a key of its own."""
    return keyed_size(params)[0]


def keyed_size(params: dict[str, Any]) -> tuple[str, int]:
    """The request's key and its size in bytes as JSON, from one encoding: a batch body
    is sized by what is sent, never by `str(params)` (a second copy of every prompt)."""
    data = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest(), len(data)


def key_tag(key: str) -> int:
    """The first 64 bits of a request key: what `answered_tags` holds per answer."""
    return int(key[:16], 16)


@dataclass(frozen=True)
class Submission:
    id: str
    created_at: float
    size: int
    batch_id: str | None
    status: str


class BatchJournal:
    """One writer at a time; every write is committed at once. `BatchBackend` calls it
    from one worker thread only (never the event loop), so it may be opened elsewhere."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # intent must survive a power cut too
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ----- submissions -----
    def write_intent(self, keys: list[str]) -> tuple[str, dict[str, str]]:
        """A new submission for `keys`; returns its id and custom_id -> key. Custom ids
        are `<submission>-<n>`: valid (`^[a-zA-Z0-9_-]{1,64}$`), unique in the batch, and
        their prefix names the submission when matching against `batches.list()`."""
        submission = uuid.uuid4().hex[:16]
        members = {f"{submission}-{n}": key for n, key in enumerate(keys)}
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, NULL, 'intent')",
                (submission, time.time(), len(keys)),
            )
            conn.executemany(
                "INSERT INTO members VALUES (?, ?, ?)",
                [(submission, cid, key) for cid, key in members.items()],
            )
        return submission, members

    def record_batch(self, submission: str, batch_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE submissions SET batch_id = ?, status = 'submitted' WHERE id = ?",
                (batch_id, submission),
            )

    def set_status(self, submission: str, status: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (status, submission))

    def submissions(self, *statuses: str) -> list[Submission]:
        query = "SELECT id, created_at, size, batch_id, status FROM submissions"
        rows = (
            self._conn.execute(
                query + f" WHERE status IN ({','.join('?' * len(statuses))}) ORDER BY created_at",
                statuses,
            )
            if statuses
            else self._conn.execute(query + " ORDER BY created_at")
        )
        return [Submission(*row) for row in rows]

    def members(self, submission: str) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT custom_id, key FROM members WHERE submission = ?", (submission,)
        )
        return dict(rows.fetchall())

    def claimed_batch_ids(self) -> set[str]:
        rows = self._conn.execute("SELECT batch_id FROM submissions WHERE batch_id IS NOT NULL")
        return {row[0] for row in rows}

    def pending_keys(self) -> set[str]:
        """Keys in a submission still running (or not yet reconciled), without a result."""
        rows = self._conn.execute(
            "SELECT m.key FROM members m JOIN submissions s ON s.id = m.submission "
            "WHERE s.status IN ('intent', 'submitted') "
            "AND m.key NOT IN (SELECT key FROM results)"
        )
        return {row[0] for row in rows}

    # ----- results -----
    def record_results(self, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        """(key, kind, body) rows, all in one commit; a key answered once stays answered."""
        with self._tx() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?)",
                [(key, kind, json.dumps(body)) for key, kind, body in rows],
            )

    def answered_tags(self) -> set[int]:
        """A small integer per answered key (`key_tag`): held in memory, it spares a
        journal lookup for every call that was never answered (nearly all of them)."""
        return {key_tag(row[0]) for row in self._conn.execute("SELECT key FROM results")}

    def result(self, key: str) -> tuple[str, str] | None:
        """(kind, body as JSON text) of an answered key."""
        row = self._conn.execute("SELECT kind, body FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], row[1])

    # ----- canaries -----
    def canary_done(self, purpose: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM canaries WHERE purpose = ?", (purpose,))
        return row.fetchone() is not None

    def canaries(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT purpose FROM canaries")}

    def record_canary(self, purpose: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO canaries VALUES (?)", (purpose,))
