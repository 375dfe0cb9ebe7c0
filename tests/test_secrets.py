"""The API key never reaches anything a run writes or prints.

`storyloom generate --backend anthropic` runs as a real subprocess against the loopback
Messages API server, with a distinctive fake key, faults injected (so error paths write
their messages too) and `--debug` on (so debug logging is scanned as well). Then every
byte of every file in the run directory (SQLite checkpoints and WAL included) and all
captured output are searched for the key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from demo_http import demo_over_http
from messages_api_server import Fault, MessagesAPIServer

SECRET = "sk-ant-api03-LEAKCANARY-7Qx9Zr2Lw8Pd5Vn3Kt6Hb1Jm4Fy0Gs"
#: A fragment too: a key cut or masked half-way must not appear either.
FRAGMENTS = (SECRET, "LEAKCANARY-7Qx9Zr2Lw8Pd5Vn3")


def run_generate(
    run_dir: Path, server: MessagesAPIServer, key: str
) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": key,
        "ANTHROPIC_BASE_URL": server.base_url,
        "COLUMNS": "200",
    }
    command = [
        sys.executable,
        "-m",
        "storyloom.cli",
        "generate",
        "-n",
        "6",
        "--backend",
        "anthropic",
        "--run-dir",
        str(run_dir),
        "--concurrency",
        "3",
        "--timeout",
        "5",
        "--debug",
    ]
    return subprocess.run(command, capture_output=True, env=env, timeout=300, check=False)


def leaks(run_dir: Path, *outputs: bytes) -> list[str]:
    found = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.name}: {f}" for f in FRAGMENTS if f.encode() in data]
    for number, output in enumerate(outputs):
        found += [f"output {number}: {f}" for f in FRAGMENTS if f.encode() in output]
    return found


@pytest.fixture
def server() -> Any:
    with MessagesAPIServer(responder=demo_over_http, api_key=SECRET) as running:
        yield running


def test_key_is_nowhere_in_the_run_directory_or_output(tmp_path: Path, server: Any) -> None:
    server.inject(
        Fault.server_error(500),
        Fault.malformed(),
        Fault.invalid_output({"title": "half a premise"}),
        Fault.invalid_output({"title": "still half"}),
        Fault.http_error(400, "invalid_request_error", f"echoing the key back: {SECRET}"),
    )
    run_dir = tmp_path / "secret-run"
    result = run_generate(run_dir, server, SECRET)

    assert len(server.requests) > 12, result.stderr.decode()
    assert (run_dir / "corpus.jsonl").exists() and (run_dir / "checkpoints.sqlite").exists()
    assert (run_dir / "usage.jsonl").read_text().strip(), "the run did bill calls"
    assert "[redacted]" in (run_dir / "rejected.jsonl").read_text(), "the echo was recorded"
    assert leaks(run_dir, result.stdout, result.stderr) == []


def test_rejected_key_is_not_echoed_anywhere(tmp_path: Path, server: Any) -> None:
    wrong = SECRET.replace("LEAKCANARY", "LEAKCANARX")
    run_dir = tmp_path / "wrong-key"
    result = run_generate(run_dir, server, wrong)

    output = result.stderr.decode()
    assert result.returncode == 1
    assert "rejected the API key (401)" in output
    found = leaks(run_dir, result.stdout, result.stderr)
    found += [f"output: {wrong}" for out in (result.stdout, result.stderr) if wrong.encode() in out]
    assert found == []
