"""Whole-line appends to a log file: a failed append leaves the file as it was.

A write that fails half-way (ENOSPC) would otherwise leave a fragment that the next append
glues onto, making a damaged line in the middle of the file that no torn-tail cut can find.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def append_whole(path: Path, data: bytes) -> None:
    """Append `data` and fsync it, or cut the file back to its old size and re-raise.

    Callers must not append to `path` concurrently (the cut could drop another's line).
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            # Should even this fail, the fragment is a torn tail or a damaged line, which
            # the journal's opener cuts or its owner rebuilds.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise
    finally:
        os.close(fd)
