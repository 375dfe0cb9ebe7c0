"""A full disk, simulated with RLIMIT_FSIZE (every write to a file past the limit fails,
as it does with ENOSPC; Python ignores SIGXFSZ, so the write raises instead of killing
the process). Each case runs the real CLI: one line naming the file, a non-zero exit,
and nothing left behind or lost."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cli_process import files_of, one_error_line, scripted_env


def _limited(limit: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _storyloom_on_a_full_disk(limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storyloom.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=scripted_env(0),
        preexec_fn=_limited(limit),
    )


def test_a_full_disk_before_a_start_names_the_lock_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _storyloom_on_a_full_disk(
        0, "generate", "-n", "1", "--backend", "scripted", "--run-dir", str(run)
    )
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith(f"Error: {run / 'run.lock'}: "), line
    assert "File too large" in line


def test_dedupe_on_a_full_disk_leaves_no_partial_file(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = (json.dumps({"id": i, "text": f"document {i} " + "word " * 400}) for i in range(3000))
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    before = files_of(tmp_path)
    result = _storyloom_on_a_full_disk(
        1 << 20, "dedupe", str(source), str(out / "clean.jsonl"), "--clusters",
        str(out / "removed.jsonl"), "--quiet",
    )  # fmt: skip
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "clean.jsonl" in line and "File too large" in line, line
    assert list(out.iterdir()) == []
    assert files_of(tmp_path) == before
