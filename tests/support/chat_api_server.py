"""A loopback stub of an OpenAI-compatible chat-completions server, for the real `openai`
SDK in tests: the structured-output modes a server may refuse or ignore, faults, usage.

    with ChatAPIServer(refuse={"json_schema": 500}, ignore={"structured_outputs"}) as server:
        server.queue("not json", {"title": "x"})   # replies for the next calls
        server.inject(ChatFault(429, retry_after=2))
        backend = OpenAIBackend(base_url=server.base_url, model="stub")

A request's mode is read from its body: `response_format.type` json_schema or
json_object, or vLLM's `structured_outputs`. A refused mode gets the configured status
(llama.cpp's server answers an unknown format with 500); an ignored one is answered as
if it were not there (a chatty text reply, as a model with free decoding gives). An
honoured mode is answered with an object built from the schema, unless a reply is
queued. Usage is ceil(characters / 4) per side, like `messages_api_server`.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loopback import serve, stop
from messages_api_server import _example as example_for

CHATTY = "Sure! I like blue, the colour of a calm sea on a summer morning."


@dataclass(frozen=True)
class ChatFault:
    """A status with the server's message, or (status 200) a broken body; `hang_up`
    closes the socket after that many bytes of the answer (0: before the status line)."""

    status: int
    message: str = "injected fault"
    retry_after: float | None = None
    body: bytes | None = None
    hang_up: int | None = None

    @classmethod
    def dropped(cls, after_bytes: int = 0) -> ChatFault:
        """The connection lost mid-reply: a 200 cut off after `after_bytes` bytes."""
        return cls(200, hang_up=after_bytes)


@dataclass
class ChatRequest:
    path: str
    body: Any
    authorization: str = ""
    status: int = 0
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def mode(self) -> str | None:
        return request_mode(self.body) if isinstance(self.body, dict) else None


def request_mode(body: Mapping[str, Any]) -> str | None:
    if "structured_outputs" in body:
        return "structured_outputs"
    kind = (body.get("response_format") or {}).get("type")
    return kind if kind in ("json_schema", "json_object") else None


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


class ChatAPIServer:
    def __init__(
        self,
        *,
        refuse: Mapping[str, int] | None = None,
        ignore: Collection[str] = (),
        models: Collection[str] = ("stub-model",),
        api_key: str | None = None,
        cached_tokens: int = 0,
        context_size: int | None = None,
        reports_context: str | None = None,
    ) -> None:
        """`context_size`: a request over it gets the OpenAI-worded 400 that vLLM and
        llama-cpp-python send. `reports_context` says where the server tells its size, and
        so which server it plays: "models" (vLLM's `max_model_len`; the prompt and
        `max_tokens` together must fit), "props" (llama.cpp's `/props` `n_ctx`) or None
        (llama-cpp-python): only the prompt must fit, the reply is cut short."""
        self.refuse = dict(refuse or {})
        self.ignore = set(ignore)
        self.models = list(models)
        self.api_key = api_key
        self.cached_tokens = cached_tokens
        self.context_size = context_size
        self.reports_context = reports_context
        self.requests: list[ChatRequest] = []
        self._replies: deque[str | dict[str, Any] | ChatFault] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def queue(self, *replies: str | dict[str, Any] | ChatFault) -> None:
        with self._lock:
            self._replies.extend(replies)

    inject = queue

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "use the server as a context manager"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def chat_requests(self) -> list[ChatRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def billed(self) -> dict[str, int]:
        """Usage summed over every 200 answer, as the server reported it."""
        total = {"prompt_tokens": 0, "completion_tokens": 0}
        for r in self.requests:
            for key in total:
                total[key] += r.usage.get(key, 0)
        return total

    def __enter__(self) -> ChatAPIServer:
        self._httpd = serve(_Handler, api=self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        stop(self._httpd)

    def _next(self) -> str | dict[str, Any] | ChatFault | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None


class _Handler(BaseHTTPRequestHandler):
    api: ChatAPIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _authorized(self, record: ChatRequest) -> bool:
        if self.api.api_key is None or record.authorization == f"Bearer {self.api.api_key}":
            return True
        self._send(record, 401, {"error": {"message": "Incorrect API key provided"}})
        return False

    def do_GET(self) -> None:
        record = ChatRequest(self.path, None, self.headers.get("authorization", ""))
        self.api.requests.append(record)
        if not self._authorized(record):
            return
        size, reports = self.api.context_size, self.api.reports_context
        if self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "stub"} for m in self.api.models]
            if reports == "models":
                data = [{**entry, "max_model_len": size} for entry in data]
            self._send(record, 200, {"object": "list", "data": data})
        elif self.path.rstrip("/") == "/props" and reports == "props":
            self._send(record, 200, {"default_generation_settings": {"n_ctx": size}})
        else:
            self._send(record, 404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        api = self.api
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw or b"null")
        record = ChatRequest(self.path, body, self.headers.get("authorization", ""))
        api.requests.append(record)
        if not self._authorized(record):
            return
        if body.get("model") not in api.models:
            self._send(record, 404, {"error": {"message": f"model {body.get('model')} not found"}})
            return
        mode = record.mode
        if mode in api.refuse:
            message = f"Input should be 'text' or 'json_object' (got {mode})\n  File app.py"
            self._send(record, api.refuse[mode], {"error": {"message": message}})
            return
        prompt = tokens(json.dumps(body["messages"]))
        counted = prompt + (body["max_tokens"] if api.reports_context == "models" else 0)
        if api.context_size is not None and counted > api.context_size:
            self._send(record, 400, _overflow(api.context_size, prompt, body))
            return
        reply = api._next()
        if isinstance(reply, ChatFault):
            return self._fault(record, reply)
        if reply is None:
            honoured = mode is not None and mode not in api.ignore
            reply = example_for(_schema(body), _schema(body)) if honoured else CHATTY
        text = reply if isinstance(reply, str) else json.dumps(reply)
        self._answer(record, body, text)

    def _fault(self, record: ChatRequest, fault: ChatFault) -> None:
        if fault.hang_up is not None:
            self._hang_up(record, fault.hang_up)
            return
        if fault.body is not None:
            self._send(record, fault.status, fault.body)
            return
        headers = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after else {}
        self._send(record, fault.status, {"error": {"message": fault.message}}, headers)

    def _answer(self, record: ChatRequest, body: dict[str, Any], text: str) -> None:
        prompt = tokens(json.dumps(body["messages"]))
        completion = min(tokens(text), int(body.get("max_tokens") or 10**6))
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if self.api.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(prompt, self.api.cached_tokens)}
        reply = {
            "id": f"chatcmpl-{len(self.api.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        if self._send(record, 200, reply):
            record.usage = {"prompt_tokens": prompt, "completion_tokens": completion}

    def _hang_up(self, record: ChatRequest, after_bytes: int) -> None:
        """Start a 200 that promises a body, then close the socket `after_bytes` in."""
        record.status = 200
        answer = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n"
            b'\r\n{"id": "chatcmpl-cut", "choices": ['
        )
        try:
            self.wfile.write(answer[:after_bytes])
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def _send(
        self,
        record: ChatRequest,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
    ) -> bool:
        record.status = status
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            return False
        return True


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    if "structured_outputs" in body:
        return body["structured_outputs"]["json"]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["schema"]
    return fmt.get("schema") or {}


def _overflow(size: int, prompt: int, body: dict[str, Any]) -> dict[str, Any]:
    """llama-cpp-python's answer to a request over its context (`llama_cpp.server`)."""
    message = (
        f"This model's maximum context length is {size} tokens. However, you requested "
        f"{prompt + body['max_tokens']} tokens ({prompt} in the messages, "
        f"{body['max_tokens']} in the completion). Please reduce the length of the "
        "messages or completion."
    )
    error = {"message": message, "type": "invalid_request_error", "param": "messages"}
    return {"error": {**error, "code": "context_length_exceeded"}}
