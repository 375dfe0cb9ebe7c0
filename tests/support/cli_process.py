"""Running `storyloom generate` as a real process, for the kill, signal and lock tests."""

from __future__ import annotations

import os
import sys
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
