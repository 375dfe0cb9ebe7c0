"""Durable writes: a whole file replaced atomically, or one whole line appended.

Both fsync before they return, so what they wrote survives a power cut, and neither ever
leaves a fragment behind: an atomic write removes its temporary file on any failure, and a
failed append cuts the file back to its old size (a fragment would glue onto the next line
and make a damaged line in the middle of the file that no torn-tail cut can find).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def fsync_directory(path: Path) -> None:
    """Make a rename or a new file inside `path` durable across a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: str = "wb", buffering: int = -1) -> Iterator[IO[bytes]]:
    """A handle on a hidden temporary file beside `path` that replaces `path` when the block
    ends without error; on any error (or interrupt, or a full disk while the last buffer
    is flushed) the temporary file is removed and `path` is left as it was. `mode` is
    "wb" or "w" (text, UTF-8). The file gets the permissions a new file would (umask)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', not {mode!r}")
    directory = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(descriptor, 0o666 & ~_umask())  # mkstemp makes 0600
        encoding = "utf-8" if mode == "w" else None
        with os.fdopen(descriptor, mode, buffering, encoding=encoding) as handle:
            yield handle  # type: ignore[misc]
            handle.flush()
            os.fsync(handle.fileno())  # a rename of unsynced data can leave it empty
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_directory(directory)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomically(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` (str is written as UTF-8) so that a reader sees the old
    file or the new one, never half of one."""
    with atomic_writer(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


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
            # Should even this fail, the fragment is a torn tail, which the file's opener
            # cuts (see `storyloom.core.jsonl.cut_torn_tail`).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise
    finally:
        os.close(fd)
