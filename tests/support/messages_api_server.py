"""A loopback HTTP server that speaks enough of the Anthropic Messages API for the real SDK.

No machine here reaches the API, so tests, the workflow and the benchmark drive the real
`anthropic` SDK against this server instead. It answers `POST /v1/messages` with
well-formed Message JSON, bills tokens roughly the way the API does (prompt caching
included), records what it was sent, and injects the faults a real run meets.

    with MessagesAPIServer(latency=0.2) as server:
        server.queue("a story", {"title": "x"})      # text reply, then a structured one
        server.inject(Fault.rate_limit(retry_after=2))  # the next call gets a 429 first
        client = AsyncAnthropic(api_key="k", base_url=server.base_url)
        ...
        server.requests[-1].body["system"], server.billed.cache_read_tokens

What is answered, in order: injected one-shot faults, then the random fault rate, then
queued replies, then the responder, then a default (a short text, or an object built
from the requested JSON schema). Structured requests are answered the way they were
asked: `output_config.format` (native JSON outputs) gets the object as JSON text; a
forced tool (`tool_choice: {"type": "tool"}`) gets a `tool_use` block.

Billing: tokens are counted as ceil(characters / 4). Tools, the output format
(`output_config.format`) and the system blocks up to the last one carrying
`cache_control` form the cacheable prefix, as the API renders them in that order: the
first request with a given prefix (so with given tools and format) pays it as
cache-write tokens, later ones as cache-read tokens; the rest of the prompt is input
tokens. Only successful (200) responses are billed.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

FaultKind = Literal[
    "rate_limit",
    "overloaded",
    "server_error",
    "timeout",
    "malformed",
    "http_error",
    "invalid_output",
    "max_tokens",
    "negative_usage",
]

_DEFAULT_TEXT = (
    "The archivist paused over the request, weighing what the user needed against what "
    "the rules allowed, and chose to explain its reasons plainly."
)


@dataclass(frozen=True)
class Fault:
    """One way a call can go wrong. Build them with the class methods."""

    kind: FaultKind
    status: int = 200
    error_type: str = ""
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    data: Any = None

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0) -> Fault:
        return cls(
            "rate_limit",
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            retry_after=retry_after,
        )

    @classmethod
    def overloaded(cls) -> Fault:
        return cls("overloaded", 529, "overloaded_error", "Overloaded")

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("server_error", status, "api_error", "Internal server error")

    @classmethod
    def timeout(cls, delay: float = 5.0) -> Fault:
        """Say nothing for `delay` seconds, then drop the connection (never billed)."""
        return cls("timeout", delay=delay)

    @classmethod
    def malformed(cls, body: bytes | None = None, content_type: str = "application/json") -> Fault:
        """A 200 whose body is not a message: by default JSON cut short; or `body` as
        given, e.g. `b"{}"`, or plain text with content_type "text/plain"."""
        return cls("malformed", data=(body or b'{"id": "msg_broken", "type": "mess', content_type))

    @classmethod
    def negative_usage(cls) -> Fault:
        """A well-formed reply whose usage is below zero (a gateway bug)."""
        return cls("negative_usage")

    @classmethod
    def http_error(cls, status: int, error_type: str, message: str) -> Fault:
        """Any error status, e.g. http_error(400, "invalid_request_error", "...")."""
        return cls("http_error", status, error_type, message)

    @classmethod
    def invalid_output(cls, data: Any = None) -> Fault:
        """A structured reply that breaks the schema (default: an object with no fields)."""
        return cls("invalid_output", data={"unexpected": True} if data is None else data)

    @classmethod
    def max_tokens(cls) -> Fault:
        """The reply stops at `max_tokens`: text cut in half, stop_reason max_tokens."""
        return cls("max_tokens")


Reply = str | dict[str, Any] | list[Any] | Fault
Responder = Callable[["RecordedRequest"], Reply]

_TRANSIENT_KINDS: tuple[Fault, ...] = (
    Fault.rate_limit(retry_after=0.0),
    Fault.overloaded(),
    Fault.server_error(),
)


@dataclass(frozen=True)
class Billed:
    """Tokens the server billed, in the API's own four categories."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Billed) -> Billed:
        return Billed(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.calls + other.calls,
        )


@dataclass
class RecordedRequest:
    """One request as received: headers without credentials, the JSON body, the outcome."""

    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    fault: FaultKind | None = None
    billed: Billed | None = None
    received_at: float = field(default_factory=time.monotonic)

    @property
    def structured_mode(self) -> Literal["native", "tool"] | None:
        return _structured_mode(self.body) if isinstance(self.body, dict) else None

    @property
    def schema(self) -> dict[str, Any] | None:
        return _requested_schema(self.body) if isinstance(self.body, dict) else None

    @property
    def system_text(self) -> str:
        return "\n\n".join(block["text"] for block in _system_blocks(self.body))


def count_tokens(text: str) -> int:
    """The server's token estimate: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


class MessagesAPIServer:
    """The server, running in a daemon thread while the context manager is open."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Responder | None = None,
        api_key: str | None = None,
        known_models: Collection[str] | None = None,
        min_cacheable_tokens: int = 0,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, got {latency}")
        if min_cacheable_tokens < 0:
            raise ValueError(f"min_cacheable_tokens must be >= 0, got {min_cacheable_tokens}")
        self.latency = latency
        self.responder = responder
        self.api_key = api_key
        self.known_models = frozenset(known_models) if known_models is not None else None
        self.min_cacheable_tokens = min_cacheable_tokens
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        #: Every message gets its own id, as on the real API (batch rows too).
        self.message_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._faults: deque[Fault] = deque()
        self._replies: deque[Reply] = deque()
        self._cached_prefixes: set[str] = set()
        self._fault_rate = 0.0
        self._rate_faults: tuple[Fault, ...] = _TRANSIENT_KINDS
        self._rng = random.Random(0)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Message Batches: every batch created, by id, with its rows' results.
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_results: dict[str, list[dict[str, Any]]] = {}
        #: Seconds a batch stays in_progress; seconds `create` waits before it answers
        #: (after the batch exists: the window a kill can orphan it in).
        self.batch_latency = 0.0
        self.create_delay = 0.0
        #: Result types for the next batch rows: "expired", "canceled" or an error type
        #: such as "rate_limit_error" / "invalid_request_error" (errored rows).
        self._row_faults: deque[str] = deque()
        self.batch_billed: list[Billed] = []
        #: False drops each batch's request bodies once answered (a lab-scale bench sends
        #: gigabytes of prompts); `batches[id]["requests"]` is then empty.
        self.keep_batch_bodies = True
        #: True answers `create` as soon as the body is read and checked, as the real API
        #: does, and works out the rows in one worker thread, in creation order (a
        #: lab-scale bench: otherwise the fake's own work on a body of thousands of
        #: rows, about a second, sits inside every upload).
        self.defer_batch_rows = False
        self._row_worker: concurrent.futures.ThreadPoolExecutor | None = None

    def row_worker(self) -> concurrent.futures.ThreadPoolExecutor:
        """The one thread that works out deferred batch rows, in creation order."""
        with self._lock:
            if self._row_worker is None:
                self._row_worker = concurrent.futures.ThreadPoolExecutor(1, "batch-rows")
            return self._row_worker

    # ----- scripting -----
    def queue(self, *replies: Reply) -> None:
        """Replies for the next successful calls, in order: text (str) or an object."""
        with self._lock:
            self._replies.extend(replies)

    def inject(self, *faults: Fault) -> None:
        """One-shot faults for the next calls, before any queued reply."""
        with self._lock:
            self._faults.extend(faults)

    def inject_rate(
        self, rate: float, faults: Iterable[Fault] = _TRANSIENT_KINDS, *, seed: int = 0
    ) -> None:
        """Fail this fraction of calls with a fault drawn from `faults` (seeded)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, got {rate}")
        chosen = tuple(faults)
        if rate and not chosen:
            raise ValueError("a fault rate needs at least one fault to draw")
        with self._lock:
            self._fault_rate = rate
            self._rate_faults = chosen
            self._rng = random.Random(seed)

    def inject_rows(self, *kinds: str) -> None:
        """Result types for the next batch rows, before succeeded ones."""
        with self._lock:
            self._row_faults.extend(kinds)

    # ----- what happened -----
    @property
    def billed(self) -> Billed:
        with self._lock:
            return sum((r.billed for r in self.requests if r.billed), Billed())

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # ----- lifecycle -----
    def start(self) -> MessagesAPIServer:
        handler = type("BoundHandler", (_Handler,), {"api": self})
        httpd = _Server(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._row_worker is not None:
            self._row_worker.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> MessagesAPIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- answering (called from handler threads) -----
    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self._fault_rate and self._rng.random() < self._fault_rate:
                return self._rng.choice(self._rate_faults)
        return None

    def _next_reply(self, record: RecordedRequest) -> Reply | None:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return self.responder(record) if self.responder is not None else None

    def _bill(self, body: dict[str, Any], output: str) -> Billed:
        prefix, rest = _split_cacheable(body)
        prefix_tokens = count_tokens(prefix) if prefix else 0
        write = read = 0
        if prefix and prefix_tokens >= self.min_cacheable_tokens:
            key = hashlib.sha256(f"{body.get('model')}\0{prefix}".encode()).hexdigest()
            with self._lock:
                hit = key in self._cached_prefixes
                self._cached_prefixes.add(key)
            read, write = (prefix_tokens, 0) if hit else (0, prefix_tokens)
        else:
            rest = prefix + rest
        return Billed(count_tokens(rest), count_tokens(output), write, read, calls=1)


class _Server(ThreadingHTTPServer):
    # The default backlog (5) drops connections when a client opens dozens at once;
    # the dropped ones come back a second later (SYN retry) or fail outright.
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    api: MessagesAPIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

    def do_POST(self) -> None:
        api = self.api
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {
            k.lower(): v
            for k, v in self.headers.items()
            if k.lower() not in {"x-api-key", "authorization"}
        }
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = None
        record = RecordedRequest(self.path.split("?")[0], headers, body)
        with api._lock:
            api.requests.append(record)

        if record.path.startswith("/v1/messages/batches"):
            return self._batches_post(record, body)
        if record.path != "/v1/messages":
            return self._error(record, 404, "not_found_error", f"no route {record.path}")
        if api.api_key is not None and _presented_key(self.headers) != api.api_key:
            return self._error(record, 401, "authentication_error", "invalid x-api-key")
        if not isinstance(body, dict) or not body.get("messages") or "max_tokens" not in body:
            return self._error(record, 400, "invalid_request_error", "messages: field required")
        if api.known_models is not None and body.get("model") not in api.known_models:
            return self._error(record, 404, "not_found_error", f"model: {body.get('model')}")

        api._pause(api.latency)
        fault = api._next_fault()
        reply: Reply | None = None
        if fault is None:
            reply = api._next_reply(record)
            if isinstance(reply, Fault):  # a fault queued among the replies
                fault, reply = reply, None
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "timeout":
                api._pause(fault.delay)
                self.close_connection = True
                return None
            if fault.kind == "malformed":
                broken, content_type = fault.data
                self._send(record, 200, broken, content_type=content_type)
                return None
            if fault.kind == "negative_usage":
                message, _ = self._message(body, api._next_reply(record), False)  # type: ignore[arg-type]
                message["usage"]["input_tokens"] = -1000
                self._send(record, 200, json.dumps(message).encode())
                return None
            if fault.status >= 400:
                self._error(
                    record, fault.status, fault.error_type, fault.message, fault.retry_after
                )
                return None
            if fault.kind == "invalid_output":
                reply = fault.data
            else:  # max_tokens truncates whatever would have been answered
                reply = api._next_reply(record)
                if isinstance(reply, Fault):
                    raise TypeError("a max_tokens fault needs a reply to truncate, not a fault")
        truncated = fault is not None and fault.kind == "max_tokens"
        self._answer(record, body, reply, truncated)
        return None

    def _answer(
        self, record: RecordedRequest, body: dict[str, Any], reply: Reply | None, truncated: bool
    ) -> None:
        message, billed = self._message(body, reply, truncated)
        if self._send(record, 200, json.dumps(message).encode()):
            record.billed = billed

    # ----- Message Batches -----
    def do_GET(self) -> None:
        api = self.api
        path = self.path.split("?")[0]
        record = RecordedRequest(path, {}, None)
        with api._lock:
            api.requests.append(record)
        parts = path.strip("/").split("/")  # v1 messages batches [id [results]]
        if path == "/v1/models":  # what a start-up check lists: free, but needs the key
            if api.api_key is not None and _presented_key(self.headers) != api.api_key:
                return self._error(record, 401, "authentication_error", "invalid x-api-key")
            models = sorted(api.known_models or {"claude-sonnet-5-5"})
            page = {"data": [{"type": "model", "id": m, "display_name": m,
                              "created_at": _iso(0)} for m in models],
                    "has_more": False, "first_id": models[0], "last_id": models[-1]}  # fmt: skip
            self._send(record, 200, json.dumps(page).encode())
            return None
        if path == "/v1/messages/batches":
            with api._lock:
                batches = list(api.batches.values())
            # Outside the lock: a view waits for its rows, which take the lock.
            data = [self._batch_view(b) for b in reversed(batches)]
            page = {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
            self._send(record, 200, json.dumps(page).encode())
            return None
        if len(parts) >= 4 and parts[3] in api.batches:
            batch = api.batches[parts[3]]
            if len(parts) == 4:
                self._send(record, 200, json.dumps(self._batch_view(batch)).encode())
                return None
            if len(parts) == 5 and parts[4] == "results":
                if self._batch_view(batch)["processing_status"] != "ended":
                    return self._error(record, 400, "invalid_request_error", "not ended")
                rows = list(api.batch_results[batch["id"]])
                if batch.get("canceled"):
                    rows = [  # canceled before it ended: nothing had been processed
                        {"custom_id": r["custom_id"], "result": {"type": "canceled"}}
                        if r["result"]["type"] == "succeeded"
                        else r
                        for r in rows
                    ]
                random.Random(batch["id"]).shuffle(rows)
                lines = "".join(
                    json.dumps({"custom_id": r["custom_id"], "result": r["result"]}) + "\n"
                    for r in rows
                )
                self._send(record, 200, lines.encode())
                return None
        return self._error(record, 404, "not_found_error", f"no route {path}")

    def _batches_post(self, record: RecordedRequest, body: Any) -> None:
        api = self.api
        parts = record.path.strip("/").split("/")
        if len(parts) == 5 and parts[4] == "cancel" and parts[3] in api.batches:
            batch = api.batches[parts[3]]
            if self._batch_view(batch)["processing_status"] != "ended":
                batch["canceled"] = time.time()
                batch["ends_at"] = time.time()
            self._send(record, 200, json.dumps(self._batch_view(batch)).encode())
            return None
        if record.path != "/v1/messages/batches" or not isinstance(body, dict):
            return self._error(record, 404, "not_found_error", f"no route {record.path}")
        requests = body.get("requests") or []
        ids = [r.get("custom_id", "") for r in requests]
        if not requests or len(set(ids)) != len(ids):
            return self._error(record, 400, "invalid_request_error", "custom_id must be unique")
        if not all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids):
            return self._error(record, 400, "invalid_request_error", "custom_id: bad format")
        now = time.time()
        with api._lock:
            batch_id = f"msgbatch_{len(api.batches) + 1:06d}"
            batch = {
                "id": batch_id,
                "created": now,
                "ends_at": now + api.batch_latency,
                "requests": requests if api.keep_batch_bodies else [],
                "count": len(requests),
                "ready": threading.Event(),
            }
            api.batches[batch_id] = batch
        if not api.keep_batch_bodies:
            record.body = None
        if api.defer_batch_rows:
            api.row_worker().submit(self._batch_rows, batch, requests)
        else:
            self._batch_rows(batch, requests)
        api._pause(api.create_delay)
        self._send(record, 200, json.dumps(self._batch_view(batch)).encode())
        return None

    def _batch_rows(self, batch: dict[str, Any], requests: list[dict[str, Any]]) -> None:
        """Every row's result, billed as the batch is worked through."""
        api = self.api
        rows: list[dict[str, Any]] = []
        for request in requests:
            with api._lock:
                fault = api._row_faults.popleft() if api._row_faults else None
            if fault in ("expired", "canceled"):
                result: dict[str, Any] = {"type": fault}
            elif fault is not None:
                error = {"type": fault, "message": f"{fault} (injected)"}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            else:
                params = request["params"]
                reply = api._next_reply(RecordedRequest("/v1/messages", {}, params))
                message, billed = self._message(params, reply, False)
                message["usage"]["service_tier"] = "batch"
                with api._lock:
                    api.batch_billed.append(billed)
                result = {"type": "succeeded", "message": message}
            rows.append({"custom_id": request["custom_id"], "result": result})
        with api._lock:
            api.batch_results[batch["id"]] = rows
        batch["ready"].set()

    def _batch_view(self, batch: dict[str, Any]) -> dict[str, Any]:
        ended = time.time() >= batch["ends_at"]
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if not ended:
            counts["processing"] = batch["count"]
        else:
            batch["ready"].wait()
            for row in self.api.batch_results[batch["id"]]:
                kind = row["result"]["type"]
                if batch.get("canceled") and kind == "succeeded":
                    kind = "canceled"
                counts[kind] += 1
        created = _iso(batch["created"])
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": created,
            "expires_at": _iso(batch["created"] + 86400),
            "ended_at": _iso(batch["ends_at"]) if ended else None,
            "cancel_initiated_at": _iso(batch["canceled"]) if batch.get("canceled") else None,
            "archived_at": None,
            "results_url": f"{self.api.base_url}/v1/messages/batches/{batch['id']}/results"
            if ended
            else None,
        }

    def _message(
        self, body: dict[str, Any], reply: Reply | None, truncated: bool
    ) -> tuple[dict[str, Any], Billed]:
        mode = _structured_mode(body)
        schema = _requested_schema(body)
        if reply is None:
            reply = _DEFAULT_TEXT if mode is None else _example(schema or {}, schema or {})
        stop_reason = "max_tokens" if truncated else "end_turn"
        content: list[dict[str, Any]]
        if mode == "tool" and not isinstance(reply, str):
            tool_name = body["tool_choice"]["name"]
            data = {} if truncated else reply
            output = json.dumps(data)
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{len(self.api.requests):06d}",
                    "name": tool_name,
                    "input": data,
                }
            ]
            stop_reason = "max_tokens" if truncated else "tool_use"
        else:
            output = reply if isinstance(reply, str) else json.dumps(reply)
            if truncated:
                output = output[: max(1, len(output) // 2)]
            content = [{"type": "text", "text": output}]
        billed = self.api._bill(body, output)
        one_hour = any(
            (b.get("cache_control") or {}).get("ttl") == "1h" for b in _system_blocks(body)
        )
        if truncated:
            billed = Billed(
                billed.input_tokens,
                int(body["max_tokens"]),
                billed.cache_write_tokens,
                billed.cache_read_tokens,
                1,
            )
        message = {
            "id": f"msg_{next(self.api.message_ids):08d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": billed.input_tokens,
                "output_tokens": billed.output_tokens,
                "cache_creation_input_tokens": billed.cache_write_tokens,
                "cache_read_input_tokens": billed.cache_read_tokens,
                "cache_creation": {
                    "ephemeral_1h_input_tokens": billed.cache_write_tokens if one_hour else 0,
                    "ephemeral_5m_input_tokens": 0 if one_hour else billed.cache_write_tokens,
                },
            },
        }
        return message, billed

    def _error(
        self,
        record: RecordedRequest,
        status: int,
        error_type: str,
        message: str,
        retry_after: float | None = None,
    ) -> None:
        payload = {"type": "error", "error": {"type": error_type, "message": message}}
        extra = {"retry-after": _format_seconds(retry_after)} if retry_after is not None else {}
        # The SDK obeys x-should-retry; say false so only the caller's policy retries.
        extra["x-should-retry"] = "false"
        self._send(record, status, json.dumps(payload).encode(), extra)

    def _send(
        self,
        record: RecordedRequest,
        status: int,
        data: bytes,
        extra: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> bool:
        record.status = status
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", f"req_{len(self.api.requests):08d}")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout) and closed the socket
            self.close_connection = True
            return False
        return True


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def _presented_key(headers: Any) -> str | None:
    """The key a client sent: `x-api-key`, or `Authorization: Bearer` (newer SDKs)."""
    bearer = headers.get("authorization") or ""
    return headers.get("x-api-key") or (bearer[7:] if bearer.startswith("Bearer ") else None)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _system_blocks(body: Any) -> list[dict[str, Any]]:
    system = body.get("system") if isinstance(body, dict) else None
    if isinstance(system, str):
        return [{"type": "text", "text": system}]
    return list(system or [])


def _structured_mode(body: dict[str, Any]) -> Literal["native", "tool"] | None:
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return "native"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return "tool"
    return None


def _requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    mode = _structured_mode(body)
    if mode == "native":
        fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
        return fmt.get("schema")
    if mode == "tool":
        name = body["tool_choice"]["name"]
        for tool in body.get("tools") or []:
            if tool.get("name") == name:
                return tool.get("input_schema")
    return None


def _split_cacheable(body: dict[str, Any]) -> tuple[str, str]:
    """(cacheable prefix, the rest) as the text the server counts tokens of.

    As on the API, the prompt is rendered tools first, then the output format (the API
    writes `output_config.format` into the system prompt), then the system blocks: a
    cache breakpoint on a system block caches all of that, so the tools and the format
    are part of the prefix's cache key, and a changed format is a cache write.
    """
    tools = json.dumps(body.get("tools") or [], sort_keys=True) if body.get("tools") else ""
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    output_format = json.dumps(fmt, sort_keys=True) if fmt else ""
    blocks = _system_blocks(body)
    last_breakpoint = max(
        (i for i, block in enumerate(blocks) if block.get("cache_control")), default=-1
    )
    cached = [b.get("text", "") for b in blocks[: last_breakpoint + 1]]
    uncached = [b.get("text", "") for b in blocks[last_breakpoint + 1 :]]
    messages = json.dumps(body.get("messages") or [], sort_keys=True)
    if last_breakpoint < 0:
        return "", tools + output_format + "".join(uncached) + messages
    return tools + output_format + "".join(cached), "".join(uncached) + messages


_HINT = re.compile(
    r"(minimum|maximum|exclusiveMinimum|exclusiveMaximum|minLength|minItems)"
    r"\s*:\s*(-?\d+(?:\.\d+)?)"
)


def _example(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """A value that satisfies `schema`, including constraints the SDK moved into descriptions."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(root.get("$defs", {}).get(name, {}), root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _example(options[0], root)
    if "allOf" in schema:
        return _example(schema["allOf"][0], root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    hints = {k: float(v) for k, v in _HINT.findall(schema.get("description", ""))}
    hints.update({k: float(schema[k]) for k in _HINT_KEYS if k in schema})
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _example(sub, root) for name, sub in props.items()}
    if kind == "array":
        count = max(1, int(hints.get("minItems", 1)))
        return [_example(schema.get("items", {}), root) for _ in range(count)]
    if kind in ("integer", "number"):
        step = 1 if kind == "integer" else 0.5
        low = hints.get("minimum", hints.get("exclusiveMinimum", -math.inf) + step)
        high = hints.get("maximum", hints.get("exclusiveMaximum", math.inf) - step)
        value = min(max(1.0, low), high)
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "example " * max(1, math.ceil(hints.get("minLength", 1) / 8))


_HINT_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "minItems")
