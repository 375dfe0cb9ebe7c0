"""The `openai` backend: any OpenAI-compatible chat-completions server (vLLM, llama.cpp's
server, Ollama, gateways) through the `openai` SDK's `AsyncOpenAI`.

Choices worth knowing:

- **Where and what**: the address is `--base-url` or `OPENAI_BASE_URL` (required: a
  default to a paid API would be priced at 0); the key is `OPENAI_API_KEY`, optional
  since local servers take none, held only by the SDK client and scrubbed from every
  message, as is any `user:password` in the URL. With no `--model`, a server that
  lists exactly one model serves that one. The configured name is what is recorded:
  llama.cpp's server echoes the GGUF path unless the request names an alias.
- **Structured output** is found by a probe at start (`check_configuration`, or the first
  structured call): one small call per mode with a tiny schema no unconstrained model
  would meet by chance, kept only if the *reply fits* (a server may answer 200 and
  ignore a field it does not know: llama.cpp ignores vLLM's `structured_outputs`).
  Modes in order: `json_schema` (strict; OpenAI, vLLM, Ollama), `structured_outputs`
  (vLLM's guided decoding, in the body), `json_object` with a `schema` (llama.cpp's
  server, with the schema rewritten for its grammar), then prompted JSON (the schema in
  the instructions). Whatever the mode, every reply is validated with the pydantic model
  itself and repaired once (`structured.complete_validated`).
- **Errors**: timeouts, lost connections, 408, 409, 429 and 5xx are transient (429 as
  `OverloadedError`, honouring `retry-after`, so the throttle slows down); 401, 403 and
  404 stop the run with the variable or option to fix; any other 4xx fails the item
  with the server's own message. A 200 that is not a chat completion, or reports
  negative usage, is malformed: transient.
- **Context size**: a prompt and reply that do not fit the server's context is the
  run's configuration, not the item's fault (llama.cpp's server starts at 4,096 tokens,
  which the rich prompts exceed). The size is read at start where the server reports it
  (llama.cpp's `/props` `n_ctx`, vLLM's `max_model_len` in `/v1/models`); on vLLM, which
  counts the reply's budget against it, a call whose budget alone exceeds it is refused
  before it is sent; the first overflow a server reports stops the run, saying what to
  change (`--prompt-profile compact`, a larger context), instead of rejecting every item
  of the run one by one.
- **HTTP over aiohttp** (`http_client="aiohttp"`, the SDK's `DefaultAioHttpClient`), as
  in `anthropic.py`: about a fifth less CPU per call than the SDK's default httpx stack
  (`bench/openai_throughput.py --server loopback --http-client both`: median 1.48 vs
  1.83 ms, 0.81x), and one event loop drives every call of a run. `"httpx"` keeps the
  default, and so does a URL with `user:password@` (`remote.over_aiohttp`). The SDK's
  aiohttp transport files a connection the server closed before replying under a
  connect timeout; `_timed_out` reads the aiohttp error beneath, so a dropped
  connection is a lost call on either stack, never a timeout the throttle would cut.
- **No SDK retries** (`max_retries=0`), for the reason given in `anthropic.py`: retrying is
  the node's job and pacing the throttle's; servers that queue rather than refuse are
  paced by the throttle's latency signal (see `registry.py`).
- **Usage**: `prompt_tokens` less the cached part (`prompt_tokens_details.cached_tokens`,
  where reported) is input; the cached part is a cache read. A price comes only from
  `--price-in/--price-out` (`pricing.set_price`); otherwise local servers cost nothing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
from typing import Any, ClassVar, Literal

import aiohttp
import openai
from openai import AsyncOpenAI
from pydantic import BaseModel

from storyloom.backends.base import (
    BackendError,
    Completion,
    CompletionRequest,
    Message,
    PermanentBackendError,
    StopReason,
    TransientBackendError,
    Usage,
)
from storyloom.backends.llamacpp import grammar_schema
from storyloom.backends.remote import (
    HttpClient,
    RemoteBackend,
    checked_http_client,
    over_aiohttp,
)
from storyloom.backends.secrets import check_api_key, check_base_url, url_password
from storyloom.backends.structured import Repair, ReplyDoesNotFit, complete_validated, parse_reply
from storyloom.backends.throttle import (
    SYNC_MAX_CALLS,
    CallTimeoutError,
    OverloadedError,
    retry_after_from,
)

log = logging.getLogger(__name__)

StructuredMode = Literal["json_schema", "structured_outputs", "json_object", "prompted"]
#: Probe order: the strongest guarantee first.
STRUCTURED_MODES: tuple[StructuredMode, ...] = (
    "json_schema",
    "structured_outputs",
    "json_object",
    "prompted",
)

KEY_VARIABLE = "OPENAI_API_KEY"
URL_VARIABLE = "OPENAI_BASE_URL"
#: Sent when no key is set: the SDK needs one and local servers ignore it.
_NO_KEY = "not-needed"

_FINISH: dict[str | None, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
}


class ProbeAnswer(BaseModel):
    """The probe's schema: a value no model picks unless its decoding is constrained."""

    storyloom_probe: Literal["ultramarine-7", "vermilion-3"]


_PROBE_PROMPT = "Name one colour you like, in JSON."


class OpenAIBackend(RemoteBackend):
    name: ClassVar[str] = "openai"
    supports_structured_output: ClassVar[bool] = True
    supports_model_choice: ClassVar[bool] = True
    supports_temperature: ClassVar[bool] = True
    supports_seed: ClassVar[bool] = True
    #: Servers batch continuously: calls in flight follow --concurrency (a hidden cap
    #: made larger values do nothing), and the throttle trims them when servers slow down.
    max_parallel_calls: ClassVar[int] = SYNC_MAX_CALLS

    def __init__(
        self,
        *,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        structured_output: StructuredMode | Literal["auto"] = "auto",
        url_source: str = "--base-url",
        http_client: HttpClient = "aiohttp",
    ) -> None:
        check_base_url(base_url, url_source)
        if api_key:
            check_api_key(api_key, KEY_VARIABLE)
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if structured_output != "auto" and structured_output not in STRUCTURED_MODES:
            raise ValueError(f"structured_output must be auto or one of {STRUCTURED_MODES}")
        self._http = checked_http_client(http_client)
        self._model = model or ""
        self._timeout = timeout
        self._url_source = url_source
        self._mode: StructuredMode | None = (
            None if structured_output == "auto" else structured_output
        )
        self._probe_lock = asyncio.Lock()
        #: Tokens of context the server serves, when it reports them (read at start).
        self.context_size: int | None = None
        #: Whether the server refuses a request whose prompt and `max_tokens` together
        #: exceed `context_size` (vLLM, like OpenAI); llama.cpp instead cuts the reply
        #: short and refuses only a prompt that does not fit.
        self._reply_counts = False
        self._secrets = (api_key or "", url_password(base_url))
        self._client = self._new_client(api_key or _NO_KEY, base_url)

    def _new_client(self, api_key: str, base_url: str) -> AsyncOpenAI:
        """The SDK's client over the chosen HTTP stack; a client is bound to the event
        loop of its first call, so each loop gets its own."""
        http = (
            openai.DefaultAioHttpClient(timeout=self._timeout)
            if over_aiohttp(self._http, base_url)
            else None
        )
        return AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=self._timeout,
            max_retries=0,
            http_client=http,
        )

    @classmethod
    def from_environment(
        cls, *, base_url: str | None = None, model: str | None = None, timeout: float = 120.0
    ) -> OpenAIBackend:
        """`base_url` (the option) or OPENAI_BASE_URL; the key from OPENAI_API_KEY."""
        source = "--base-url"
        if not base_url:
            base_url, source = os.environ.get(URL_VARIABLE, ""), URL_VARIABLE
        if not base_url:
            raise PermanentBackendError(
                f"the openai backend needs the server's address: pass --base-url "
                f"(e.g. http://127.0.0.1:8000/v1) or set {URL_VARIABLE}",
                fatal=True,
            )
        return cls(
            base_url=base_url,
            model=model,
            api_key=os.environ.get(KEY_VARIABLE) or None,
            timeout=timeout,
            url_source=source,
        )

    @property
    def structured_mode(self) -> StructuredMode | None:
        """How structured output is asked for (None until the probe ran)."""
        return self._mode

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self._model!r}, base_url={self.base_url!r})"

    # ----- start-up -----
    async def check_configuration(self) -> None:
        """Something answers at the address, the model is known, and the structured
        mode is found; any failure is one fatal line naming what to fix.

        Runs on a client of its own, closed before it returns, so it may run on another
        event loop than the calls (the CLI checks before the run's loop starts)."""
        client = self._new_client(self._client.api_key, str(self._client.base_url))
        try:
            if not self._model:
                self._model = await self._only_model(client)
            self.context_size, self._reply_counts = await self._served_context(client)
            if self._mode is None:  # before any call: no lock (it would bind this loop)
                self._mode = await self._probe(client)
        except UnreachableError as error:
            raise self._scrubbed(
                PermanentBackendError(
                    f"{error}: check {self._url_source} and that the server is running",
                    fatal=True,
                )
            ) from None
        finally:
            await client.close()

    async def _only_model(self, client: AsyncOpenAI) -> str:
        try:
            listed = [m.id async for m in client.models.list()]
        except openai.APIStatusError as exc:
            raise self._scrubbed(self._status_error(exc)) from None
        except openai.APIError as exc:
            raise self._scrubbed(self._transport_error(exc)) from None
        if len(listed) != 1:
            served = ", ".join(listed[:10]) or "none listed"
            raise PermanentBackendError(
                f"pass --model with the model to use (the server at {self.base_url} "
                f"serves: {served})",
                fatal=True,
            )
        return listed[0]

    async def _served_context(self, client: AsyncOpenAI) -> tuple[int | None, bool]:
        """The server's context size in tokens where it says, and whether a reply's
        budget counts against it: vLLM's `max_model_len` on the model in `/v1/models`
        (it does), llama.cpp's `n_ctx` in `/props` beside `/v1` (it does not: the reply
        is cut short). A server that reports neither (llama-cpp-python, gateways) gives
        None: its overflow error is recognised instead."""
        try:
            async for model in client.models.list():
                size = getattr(model, "max_model_len", None)
                if model.id == self._model and isinstance(size, int) and size > 0:
                    return size, True
        except (openai.APIError, json.JSONDecodeError):
            pass
        root = str(client.base_url).rstrip("/").removesuffix("/v1")
        try:
            props = await client.get(f"{root}/props", cast_to=object)
        except (openai.APIError, json.JSONDecodeError):
            return None, False
        if not isinstance(props, dict):
            return None, False
        settings = props.get("default_generation_settings")
        size = (settings if isinstance(settings, dict) else {}).get("n_ctx", props.get("n_ctx"))
        return (size if isinstance(size, int) and size > 0 else None), False

    def _refuse_what_cannot_fit(self, params: dict[str, Any]) -> None:
        """On a server that counts the reply's budget against its context, a budget the
        whole context cannot hold fails for every item: refuse it before sending, as the
        configuration error it is."""
        wanted = int(params.get("max_tokens") or 0)
        if self._reply_counts and self.context_size is not None and wanted >= self.context_size:
            raise PermanentBackendError(
                f"the server's context is {self.context_size} tokens, less than the "
                f"{wanted} tokens this run allows one reply, before any prompt: "
                f"{_CONTEXT_ADVICE}",
                fatal=True,
            )

    async def _ensure_mode(self) -> StructuredMode:
        async with self._probe_lock:
            if self._mode is None:
                self._mode = await self._probe(self._client)
                log.info("structured output from %s: %s", self.base_url, self._mode)
            return self._mode

    async def _probe(self, client: AsyncOpenAI) -> StructuredMode:
        """The first mode whose reply to the probe fits the probe's schema. A mode the
        server refuses (400, 422, or the 500 llama.cpp's server gives an unknown format)
        is passed over; a bad key, an unknown model or a dead address is not."""
        request = CompletionRequest(
            messages=(Message("user", _PROBE_PROMPT),),
            max_tokens=40,
            purpose="probe",
            temperature=0.0,
        )
        for mode in STRUCTURED_MODES[:-1]:
            params = {**self._params(request), **_format_params(ProbeAnswer, mode)}
            try:
                reply = await client.chat.completions.create(**params)
            except openai.APIStatusError as exc:
                error = self._scrubbed(self._status_error(exc))
                if exc.status_code in (401, 403, 404, 408, 429):
                    raise error from None
                log.info("%s refused %s: %s", self.base_url, mode, error)
                continue
            except openai.APIError as exc:
                raise self._scrubbed(self._transport_error(exc)) from None
            except json.JSONDecodeError:
                continue
            try:
                parse_reply(ProbeAnswer, _text(_checked(reply)))
            except (ReplyDoesNotFit, MalformedReply):
                log.info("%s accepted %s but did not follow it", self.base_url, mode)
                continue
            return mode
        return "prompted"

    # ----- calls -----
    async def complete(self, request: CompletionRequest) -> Completion:
        params = self._params(request)
        schema = request.output_schema
        if schema is None:
            return self._completion(await self._create(params), request)
        mode = await self._ensure_mode()
        params.update(_format_params(schema, mode))
        if mode == "prompted":
            _add_to_system(params["messages"], _schema_instructions(schema))
        messages: list[dict[str, Any]] = params["messages"]

        async def attempt(repair: Repair | None) -> Completion:
            if repair is not None:
                messages.append({"role": "assistant", "content": repair.reply.text})
                messages.append({"role": "user", "content": repair.prompt})
            return self._completion(await self._create(params), request)

        return await complete_validated(request, attempt)

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        params: dict[str, Any] = {
            "model": request.model or self._model,
            "messages": messages,
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.seed is not None:
            params["seed"] = request.seed
        return params

    def _completion(self, reply: Any, request: CompletionRequest) -> Completion:
        choice = reply.choices[0]
        return Completion(
            text=_text(reply),
            model=request.model or self._model,
            usage=_usage(reply.usage),
            stop_reason=_FINISH.get(choice.finish_reason, "other"),
            response_id=reply.id or None,
        )

    async def _create(self, params: dict[str, Any]) -> Any:
        self._refuse_what_cannot_fit(params)
        try:
            return _checked(await self._client.chat.completions.create(**params))
        except openai.APIStatusError as exc:
            error = self._status_error(exc)
        except openai.APIError as exc:
            error = self._transport_error(exc)
        except MalformedReply as exc:
            error = TransientBackendError(f"the server at {self.base_url} sent {exc}")
        except json.JSONDecodeError:  # the SDK lets a body that is not JSON through
            error = TransientBackendError(f"the server at {self.base_url} sent a body not JSON")
        raise self._scrubbed(error) from None

    def _transport_error(self, exc: openai.APIError) -> BackendError:
        if _timed_out(exc):
            return TimedOutError(
                f"the server at {self.base_url} did not answer within {self._timeout:g}s"
            )
        if isinstance(exc, openai.APIConnectionError):
            return UnreachableError(f"could not reach the server at {self.base_url}")
        return TransientBackendError(f"the server at {self.base_url} sent a malformed response")

    def _status_error(self, exc: openai.APIStatusError) -> BackendError:
        status = exc.status_code
        detail = _server_message(exc)
        retry_after = retry_after_from(exc.response.headers)
        if status == 429:
            return OverloadedError(
                f"rate limited by the server (429): {detail}", retry_after=retry_after
            )
        if status >= 500 or status in (408, 409):
            return TransientBackendError(
                f"the server failed ({status}): {detail}", retry_after=retry_after
            )
        if _context_overflow(exc):
            size = f" ({self.context_size} tokens)" if self.context_size else ""
            return PermanentBackendError(
                f"the prompt and reply do not fit the server's context{size}; the server "
                f"said: {detail.rstrip('.')}. {_CONTEXT_ADVICE}",
                fatal=True,
            )
        if status == 401:
            return PermanentBackendError(
                f"the server rejected the API key (401): check {KEY_VARIABLE} "
                "(unset it for a server that takes none)",
                fatal=True,
            )
        if status == 403:
            return PermanentBackendError(
                f"the API key may not do this (403): {detail}. Check {KEY_VARIABLE}",
                fatal=True,
            )
        if status == 404:
            return PermanentBackendError(
                f"not found at {self.base_url} (404): {detail}. Check --model "
                f"({self._model!r}) and {self._url_source} (it usually ends in /v1)",
                fatal=True,
            )
        return PermanentBackendError(f"the server refused the request ({status}): {detail}")


#: What to do when a run's prompts do not fit the server's context.
_CONTEXT_ADVICE = (
    "Every item would fail the same way, so the run stops: use --prompt-profile compact "
    "(shorter prompts), or serve the model with a larger context (llama.cpp: -c 16384; "
    "vLLM: --max-model-len)"
)
#: How servers word a context overflow: OpenAI, vLLM and llama-cpp-python ("maximum
#: context length is 4096 tokens. However, you requested 6283 tokens"), llama.cpp's
#: server ("exceeds the available context size"), others ("context window").
_OVERFLOW_WORDS = re.compile(
    r"maximum context length|context (?:length|window|size)|exceeds? the available context",
    re.IGNORECASE,
)


def _context_overflow(exc: openai.APIStatusError) -> bool:
    """A 4xx saying the request does not fit the model's context."""
    if not 400 <= exc.status_code < 500 or exc.status_code == 429:
        return False
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    inner = inner if isinstance(inner, dict) else {}
    codes = {str(inner.get("code")), str(inner.get("type"))}
    if codes & {"context_length_exceeded", "exceed_context_size_error"}:
        return True
    return bool(_OVERFLOW_WORDS.search(_server_message(exc)))


def _timed_out(exc: openai.APIError) -> bool:
    """Whether a call that got no answer timed out, rather than lost its connection.
    The SDK's aiohttp transport files a connection the server closed (refused, reset,
    hung up before the reply) under a connect timeout; the aiohttp error it wraps tells
    which it was, as httpx's own errors do."""
    if not isinstance(exc, openai.APITimeoutError):
        return False
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectionError):
            return isinstance(cause, TimeoutError)  # aiohttp's timeouts are TimeoutErrors
        cause = cause.__cause__
    return True


class UnreachableError(TransientBackendError):
    """Nothing answered (refused, reset, timed out): during a run a lost call to retry,
    at start a wrong address."""


class TimedOutError(UnreachableError, CallTimeoutError):
    """No answer in time: at start a wrong address, during a run a sign of a queue (the
    throttle cuts the calls in flight)."""


class MalformedReply(ValueError):
    """A 200 whose body is not a usable chat completion."""


def _checked(reply: object) -> Any:
    """`reply` if it is a chat completion with a choice and truthful usage."""
    choices = getattr(reply, "choices", None)
    if not isinstance(choices, list) or not choices or getattr(choices[0], "message", None) is None:
        raise MalformedReply(f"a malformed response ({type(reply).__name__} without choices)")
    usage = getattr(reply, "usage", None)
    if usage is not None:
        counts = (usage.prompt_tokens, usage.completion_tokens, _cached(usage))
        if not all(isinstance(n, int) and n >= 0 for n in counts):
            raise MalformedReply(f"a malformed response (usage with token counts {counts})")
    return reply


def _text(reply: Any) -> str:
    return reply.choices[0].message.content or ""


def _cached(usage: Any) -> int:
    details = getattr(usage, "prompt_tokens_details", None)
    return int(getattr(details, "cached_tokens", 0) or 0)


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    cached = _cached(usage)
    return Usage(
        input_tokens=max(0, usage.prompt_tokens - cached),
        output_tokens=usage.completion_tokens,
        cache_read_tokens=cached,
    )


def _format_params(schema: type[BaseModel], mode: StructuredMode) -> dict[str, Any]:
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": schema.__name__[:64],
                    "schema": strict_schema(schema),
                    "strict": True,
                },
            }
        }
    if mode == "structured_outputs":
        return {"extra_body": {"structured_outputs": {"json": schema.model_json_schema()}}}
    if mode == "json_object":
        return {
            "response_format": {
                "type": "json_object",
                "schema": grammar_schema(schema.model_json_schema()),
            }
        }
    return {}


@functools.lru_cache(maxsize=64)
def strict_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as strict mode wants it: every object closed and every
    property required (constraints strict mode cannot enforce are checked by pydantic)."""
    return _closed(schema.model_json_schema())


def _closed(node: Any) -> Any:
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _closed(value) for key, value in node.items()}
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out["properties"])
    out.pop("default", None)
    return out


def _schema_instructions(schema: type[BaseModel]) -> str:
    return (
        "Reply with only one JSON object, no prose and no code fence, that fits this "
        f"JSON schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    )


def _add_to_system(messages: list[dict[str, Any]], text: str) -> None:
    if messages and messages[0]["role"] == "system":
        messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{text}"}
    else:
        messages.insert(0, {"role": "system", "content": text})


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own words, first line only (llama.cpp appends a traceback)."""
    body = exc.body
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
    text = str(message or exc.message or "").strip()
    return (text.splitlines()[0] if text else "no detail")[:300]
