"""One writer per run directory.

The lock is `fcntl.flock` on `<run>/run.lock`: the kernel drops it the moment the holding
process dies, however it dies (SIGKILL, OOM, power cut of a local disk), so a lock left
by a killed run is stale by construction and the next start simply takes it. The file's
content (pid, hostname, start time) is only there to tell a user *who* holds a live lock,
and to say that the previous holder did not exit cleanly when its note is still there.

flock is advisory and local: it does not protect a run directory shared over NFS between
machines (use one writer machine per run there).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "run.lock"


class RunLockedError(RuntimeError):
    """Another live process is writing this run directory."""


@dataclass(frozen=True)
class LockOwner:
    pid: int
    hostname: str
    started: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid} on {self.hostname}, started {when}"

    @classmethod
    def current(cls) -> LockOwner:
        return cls(pid=os.getpid(), hostname=socket.gethostname(), started=time.time())

    @classmethod
    def parse(cls, text: str) -> LockOwner | None:
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["hostname"]), float(data["started"]))
        except (ValueError, KeyError, TypeError):
            return None


class RunLock:
    """Hold the run directory's lock for the life of a `with` block.

    `stale_owner` is set when the previous holder died without releasing its note: the
    lock itself was free (the kernel released it), so the run is taken over safely.
    """

    def __init__(self, run_path: Path) -> None:
        self.path = run_path / LOCK_NAME
        self.stale_owner: LockOwner | None = None
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self._acquire()
        except OSError as exc:
            if exc.filename is not None:
                raise
            # os.pwrite and friends name no file: a full disk would read "run: No space
            # left on device" with nothing to say which file or why.
            raise OSError(
                exc.errno, f"cannot write the run's lock file ({exc.strerror})", str(self.path)
            ) from exc

    def _acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            owner = LockOwner.parse(_read(self.path))
            who = owner.describe() if owner else "another process"
            raise RunLockedError(
                f"{self.path.parent}: run directory is in use by {who}; wait for it to "
                "finish or stop it (Ctrl-C) before starting another generate here"
            ) from None
        self.stale_owner = LockOwner.parse(_read(self.path))
        note = json.dumps(LockOwner.current().__dict__).encode()
        try:
            os.ftruncate(fd, 0)
            written = 0
            while written < len(note):  # pwrite may write less than asked near a limit
                written += os.pwrite(fd, note[written:], written)
            os.fsync(fd)
        except OSError:
            os.close(fd)  # closing drops the lock too
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Clear the note first: a note found under a free lock means an unclean exit.
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
