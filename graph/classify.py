"""How a failed item ends, as one pure table: what the runner does with an exception.

- `fatal`: no item can get past it (a bad key or unknown model, an output or checkpoint
  write failing): the run stops, items in flight pause, and the message says what to fix;
- `transient`: a backend outage that outlasted the retries: the item is interrupted at its
  last checkpoint (not rejected: an outage says nothing about the item) and resumes on the
  next start;
- `error`: anything else, a bug or a backend's unmapped error: interrupted the same way,
  with the traceback under `--debug`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from storyloom.backends.base import PermanentBackendError, TransientBackendError
from storyloom.graph.sinks import SinkError

Action = Literal["fatal", "transient", "error"]


@dataclass(frozen=True)
class Classified:
    action: Action
    message: str


def classify(error: BaseException, checkpoints: Path) -> Classified:
    """What the runner does with `error`, raised while an item advanced."""
    if isinstance(error, PermanentBackendError):
        return Classified("fatal" if error.fatal else "error", str(error))
    if isinstance(error, TransientBackendError):
        return Classified("transient", f"still failing after retries: {error}")
    if isinstance(error, SinkError):
        return Classified("fatal", str(error))
    if isinstance(error, sqlite3.Error):
        return Classified(
            "fatal",
            f"{checkpoints}: checkpoint database failed ({error}); if it is damaged, move it "
            "aside: finished items are kept, the rest start over",
        )
    if isinstance(error, TimeoutError | ConnectionError):  # a backend's unmapped error
        return Classified("error", f"{type(error).__name__}: {error}")
    if isinstance(error, OSError):  # the ledger or a journal: disk full, I/O error
        return Classified("fatal", f"cannot write the run's files ({error})")
    return Classified("error", f"{type(error).__name__}: {error}")
