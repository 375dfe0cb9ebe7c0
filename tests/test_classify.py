"""The runner's one table of how a failed item ends."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from storyloom.backends.base import (
    InvalidOutputError,
    PermanentBackendError,
    TransientBackendError,
)
from storyloom.graph.classify import classify
from storyloom.graph.sinks import SinkError, SinkWriteError
from storyloom.graph.texts import MissingTextError

DB = Path("run/checkpoints.sqlite")


@pytest.mark.parametrize(
    ("error", "action", "says"),
    [
        (PermanentBackendError("401: bad key", fatal=True), "fatal", "401: bad key"),
        (PermanentBackendError("400: prompt too long"), "error", "400: prompt too long"),
        (InvalidOutputError("no valid Premise"), "error", "no valid Premise"),
        (TransientBackendError("529 overloaded"), "transient", "still failing after retries"),
        (SinkError("corpus.jsonl: line 3 is damaged"), "fatal", "line 3 is damaged"),
        (SinkWriteError("corpus.jsonl: cannot write", errno.ENOSPC), "fatal", "cannot write"),
        (sqlite3.DatabaseError("malformed"), "fatal", "checkpoint database failed"),
        (TimeoutError("read timed out"), "error", "TimeoutError: read timed out"),
        (ConnectionResetError("reset"), "error", "ConnectionResetError"),
        (OSError(errno.ENOSPC, "No space left on device"), "fatal", "cannot write the run's"),
        (MissingTextError("text abc missing"), "error", "MissingTextError"),
        (KeyError("bug"), "error", "KeyError"),
    ],
)
def test_classify(error: BaseException, action: str, says: str) -> None:
    classified = classify(error, DB)
    assert classified.action == action
    assert says in classified.message
