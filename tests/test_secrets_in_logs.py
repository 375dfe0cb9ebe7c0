"""No log line carries a secret (issue 11): with `--debug`, and with the SDK's own
`ANTHROPIC_LOG=debug` set-up, the anthropic SDK and httpx log every request's URL,
which printed a gateway's `user:password` from ANTHROPIC_BASE_URL. A real
`storyloom generate --backend anthropic` against the loopback Messages API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from demo_http import demo_over_http
from messages_api_server import Fault, MessagesAPIServer

from storyloom.core.secrets import scrub

SECRET = "sk-ant-api03-LEAKCANARY-7Qx9Zr2Lw8Pd5Vn3Kt6Hb1Jm4Fy0Gs"
PASSWORD = "hunter2-GATEWAY-pw"


@pytest.fixture
def server() -> Any:
    with MessagesAPIServer(responder=demo_over_http, api_key=SECRET) as running:
        yield running


def _generate(run: Path, server: MessagesAPIServer, *flags: str, **env: str) -> str:
    url = server.base_url.replace("http://", f"http://gateway-user:{PASSWORD}@")
    result = subprocess.run(
        [sys.executable, "-m", "storyloom.cli", "generate", "-n", "2", "--backend",
         "anthropic", "--run-dir", str(run), "--timeout", "5", *flags],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": url,
             "COLUMNS": "200", **env},
    )  # fmt: skip
    return result.stdout + result.stderr


def _leaks(run: Path, output: str) -> list[str]:
    secrets = (PASSWORD, SECRET, "LEAKCANARY-7Qx9Zr2Lw8Pd5Vn3")
    found = [f"output: {s}" for s in secrets if s in output]
    for path in (p for p in run.rglob("*") if p.is_file()):
        found += [f"{path.name}: {s}" for s in secrets if s.encode() in path.read_bytes()]
    return found


@pytest.mark.parametrize(
    ("flags", "env"),
    [(("--debug",), {}), ((), {"ANTHROPIC_LOG": "debug"})],
    ids=["--debug", "ANTHROPIC_LOG=debug"],
)
def test_no_log_line_carries_the_gateway_password_or_the_key(
    tmp_path: Path, server: MessagesAPIServer, flags: tuple[str, ...], env: dict[str, str]
) -> None:
    server.inject(
        Fault.server_error(500),
        Fault.http_error(400, "invalid_request_error", f"you sent {SECRET} via {PASSWORD}"),
    )
    output = _generate(tmp_path / "run", server, *flags, **env)
    request_lines = [line for line in output.splitlines() if "HTTP Request: " in line]
    assert request_lines, output[-2000:]  # the SDK and httpx did log every request
    assert all("[redacted]@127.0.0.1" in line for line in request_lines), request_lines[:3]
    assert _leaks(tmp_path / "run", output) == []


def test_scrub_removes_url_credentials_and_key_shapes() -> None:
    text = "POST https://bob:s3cr3t@gw.example/v1 with sk-ant-api03-abcdefghijklmnopqrstu"
    assert scrub(text) == "POST https://[redacted]@gw.example/v1 with [redacted]"
    assert scrub("plain https://gw.example/v1 and sk-short") == (
        "plain https://gw.example/v1 and sk-short"
    )


def test_scrub_takes_a_password_holding_an_at_sign_whole() -> None:
    text = "cannot reach redis://:pa@ss-TAIL@db.example:6379/0 (refused)"
    assert scrub(text) == "cannot reach redis://[redacted]@db.example:6379/0 (refused)"


REDIS_PASSWORD = "s3cr@t-REDISTAIL"


@pytest.mark.parametrize("flags", [(), ("--debug",)], ids=["plain", "--debug"])
def test_a_redis_password_with_an_at_sign_reaches_no_output(
    tmp_path: Path, flags: tuple[str, ...]
) -> None:
    """The URL was split at the password's own `@`, and its tail was printed."""
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"  # nothing listens on port 1
    result = subprocess.run(
        [sys.executable, "-m", "storyloom.cli", "generate", "-n", "2", "--backend", "scripted",
         "--run-dir", str(tmp_path / "run"), "--shard", "0/2", "--redis", url, *flags],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "cannot reach redis://127.0.0.1:1/0" in output
    assert "REDISTAIL" not in output and "s3cr" not in output
    for path in (p for p in (tmp_path / "run").rglob("*") if p.is_file()):
        assert b"REDISTAIL" not in path.read_bytes(), path
