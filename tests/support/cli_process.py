"""Running `storyloom generate` as a real process, for the kill, signal and lock tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def generate_argv(run_dir: Path, count: int, concurrency: int = 4) -> list[str]:
    """`storyloom generate` on the scripted backend, as a subprocess argv."""
    return [
        sys.executable, "-m", "storyloom.cli", "generate",
        "-n", str(count), "--backend", "scripted", "--run-dir", str(run_dir),
        "--concurrency", str(concurrency),
    ]  # fmt: skip


def scripted_env(delay: float, columns: int = 120) -> dict[str, str]:
    """The environment with every scripted call slowed by `delay` seconds (a window to
    kill or signal the process in) and a terminal wide enough for the summary."""
    return {**os.environ, "STORYLOOM_SCRIPTED_DELAY": str(delay), "COLUMNS": str(columns)}


def run_to_end(
    argv: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`argv` (such as `generate_argv`'s) as a real process waited for, its output
    captured as text; scripted calls undelayed unless `env` says otherwise."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env or scripted_env(0)
    )


def start_logged(
    argv: list[str], stderr_path: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`argv` started in the background with its stderr written to `stderr_path` (for
    the run's header and summary) and its stdout discarded."""
    with stderr_path.open("wb") as stderr:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env)


def wait_for_header(stderr_path: Path, process: subprocess.Popen[bytes], limit: float = 60) -> None:
    """Until the run writing its stderr to `stderr_path` has printed its header (inputs
    loaded, lock taken, config frozen), it has ended, or `limit` seconds have passed."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if b"storyloom run" in stderr_path.read_bytes():
            return
        time.sleep(0.02)


def one_error_line(stderr: str) -> str:
    """The one `Error:` line of `stderr` (a run's header may stand before it); no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to show nothing was touched."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def still_there(before: dict[str, bytes], folder: Path) -> bool:
    """Every file of `before` (from `files_of`) is still in `folder` with the same bytes
    (new files, such as SQLite's read-side `-shm`, are allowed)."""
    return all((folder / name).is_file() and (folder / name).read_bytes() == data
               for name, data in before.items())  # fmt: skip
