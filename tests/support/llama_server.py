"""A real `llama_cpp.server` on loopback serving the bundled SmolLM2 GGUF, and a
recording proxy in front of it, for the openai backend's end-to-end tests.

    with LlamaServer() as server, RecordingProxy(server.base_url) as proxy:
        ... point --base-url at proxy.base_url ...
        proxy.usage()  # what the server reported, summed over every chat completion

The proxy forwards bytes unchanged and only reads the `usage` of each 200 chat reply:
the server keeps no tally of its own, and the ledger must match what it reported.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loopback import serve, stop

from storyloom.backends.llamacpp import bundled_model_path

ALIAS = "smollm2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_argv(gguf: Path, port: int, *, context: int = 8192) -> list[str]:
    """The README's command line, as an argv."""
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context),
        "--model_alias", ALIAS, "--verbose", "False",
    ]  # fmt: skip


class LlamaServer:
    """Started on enter (waits until /v1/models answers), killed on exit."""

    def __init__(self, gguf: Path | None = None, *, start_timeout: float = 120.0) -> None:
        self.gguf = gguf or bundled_model_path()
        self.port = free_port()
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LlamaServer:
        self.process = subprocess.Popen(
            server_argv(self.gguf, self.port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"llama_cpp.server exited at start: {error[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"llama_cpp.server did not answer within {self.start_timeout}s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


class RecordingProxy:
    """Forwards every request to `upstream` and records the usage of chat replies."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        #: (request body, the reply's usage) for every 200 chat completion.
        self.calls: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def usage(self, *, skip_prompt: str | None = None) -> dict[str, int]:
        """Usage summed over the chat replies, leaving out calls whose last message is
        `skip_prompt` (the backend's start-up probe, which no story pays for)."""
        keys = ("prompt_tokens", "completion_tokens")
        kept = [u for body, u in self.calls if body["messages"][-1]["content"] != skip_prompt]
        return {key: sum(int(u.get(key, 0)) for u in kept) for key in keys}

    def __enter__(self) -> RecordingProxy:
        self._httpd = serve(_Proxy, proxy=self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        stop(self._httpd)


class _Proxy(BaseHTTPRequestHandler):
    proxy: RecordingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def _forward(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        upstream = http.client.HTTPConnection(
            self.proxy.upstream_host, self.proxy.upstream_port, timeout=600
        )
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        upstream.request(method, self.path, body=body or None, headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        upstream.close()
        if reply.status == 200 and self.path.endswith("/chat/completions"):
            usage = json.loads(data).get("usage") or {}
            self.proxy.calls.append((json.loads(body), usage))
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
