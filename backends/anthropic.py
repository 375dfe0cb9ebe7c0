"""The Anthropic backend: the real `anthropic` SDK (`AsyncAnthropic`) behind the Backend seam.

Choices worth knowing:

- **No SDK retries** (`max_retries=0` by default). Every 429/529 must reach
  `ThrottledBackend` so it can shrink the number of calls in flight and honour
  `retry-after` for all of them; retries inside the SDK would hide those signals and
  multiply with the node's `RetryPolicy` (2 SDK retries x 3 node attempts = 9 calls per
  node under overload). Retrying is the node's job; pacing is the throttle's.
- **Structured output** uses the API's JSON outputs (`output_config.format`, the schema
  made API-ready by the SDK's `transform_schema`), or a forced tool call for models
  without it. The call goes through `messages.create` rather than `messages.parse`
  because `parse` raises on a reply that does not validate and loses the reply and its
  usage: we need both, for the one repair turn and for the usage ledger. The SDK moves
  constraints such as `maximum` out of the schema, so the reply is validated here with
  the pydantic model itself.
- **Prompt caching**: the shared prefix is the first system block, marked
  `cache_control: ephemeral`; the per-node instructions follow uncached.
- **Usage travels with errors**: when calls were billed before an error (a rejected
  structured reply, or a repair turn that failed), the error carries them as
  `error.usage`, so the ledger can still match the provider's bill to the token.
- **No sampling parameters**: the installed SDK's `messages.create` has no `temperature`
  (current models take none) and the API has no seed, so the backend declares both
  unsupported (`supports_temperature`, `supports_seed`): a request that sets one is
  refused before the call (`base.unsupported`), never silently sent without it.
- **A reply is checked before it is used**: a 200 whose body is not a Message (plain
  text, `{}`) or reports negative usage is malformed, hence transient like a 5xx: the
  ledger must never book what the provider did not bill.
- **Configuration is checked at start** (`check_configuration`): a base URL that is not
  an http(s) URL, a key with whitespace in it, or an address nothing answers at is one
  line naming the variable, before the first item rather than after minutes of retries.
- **HTTP over aiohttp** (`http_client="aiohttp"`, the SDK's `DefaultAioHttpClient`):
  the same SDK, errors and timeouts, at about a tenth less CPU per call than its
  default httpx stack (`bench/anthropic_throughput.py --http-client httpx|aiohttp`,
  three runs each: median 1.97 vs 2.21 ms); one event loop drives every call of a run,
  so this is throughput. `"httpx"` keeps the default,
  and so does a gateway URL with `user:password@` in it: httpx turns those into Basic
  auth, and aiohttp refuses a request whose URL still carries them beside that header.
- **Secrets**: the key lives only inside the SDK client. Error messages are built from
  status codes and the API's own message, then scrubbed of the key; SDK exceptions are
  never chained (they hold the request, headers included).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from typing import Any, ClassVar, Literal

import anthropic
from anthropic import AsyncAnthropic, transform_schema
from pydantic import BaseModel

from storyloom.backends.base import (
    BackendError,
    Completion,
    CompletionRequest,
    PermanentBackendError,
    StopReason,
    TransientBackendError,
    Usage,
)
from storyloom.backends.remote import (
    HttpClient,
    RemoteBackend,
    checked_http_client,
    over_aiohttp,
)
from storyloom.backends.secrets import check_api_key, check_base_url, url_password
from storyloom.backends.structured import Repair, complete_validated
from storyloom.backends.throttle import SYNC_MAX_CALLS, OverloadedError, retry_after_from

log = logging.getLogger(__name__)

#: A current Sonnet from the installed SDK's model list (a test checks it is still listed).
DEFAULT_MODEL = "claude-sonnet-5-5"

StructuredMode = Literal["native", "tool"]

#: Model families without JSON outputs (`output_config.format`): they get a forced tool.
_TOOL_ONLY_PREFIXES = (
    "claude-instant",
    "claude-2",
    "claude-3",
    "claude-sonnet-4-0",
    "claude-sonnet-4-2025",
    "claude-opus-4-0",
    "claude-opus-4-2025",
    "claude-opus-4-1",
)

_STOP_REASONS: dict[str | None, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "end_turn",  # the forced structured-output tool: a normal finish
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",  # truncated all the same
    "stop_sequence": "stop_sequence",
    "refusal": "refusal",
}


def structured_mode_for(model: str) -> StructuredMode:
    """JSON outputs where the model has them, a forced tool call where it does not."""
    return "tool" if model.startswith(_TOOL_ONLY_PREFIXES) else "native"


class AnthropicBackend(RemoteBackend):
    name: ClassVar[str] = "anthropic"
    supports_structured_output: ClassVar[bool] = True
    supports_prompt_caching: ClassVar[bool] = True
    supports_model_choice: ClassVar[bool] = True
    supports_temperature: ClassVar[bool] = False  # see "No sampling parameters" above
    supports_seed: ClassVar[bool] = False
    #: Calls in flight follow `--concurrency` (bounded by it); the throttle cuts below.
    max_parallel_calls: ClassVar[int] = SYNC_MAX_CALLS
    #: The shared prefix's cache marker (batch mode asks for a 1-hour TTL).
    _cache_control: ClassVar[dict[str, str]] = {"type": "ephemeral"}

    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = 120.0,
        structured_output: Literal["auto", "native", "tool"] = "auto",
        max_retries: int = 0,
        http_client: HttpClient = "aiohttp",
    ) -> None:
        if not api_key:
            raise PermanentBackendError(_MISSING_KEY, fatal=True)
        check_api_key(api_key, _KEY_VARIABLE)
        if base_url is not None:
            check_base_url(base_url, "the base URL")
        elif from_env := os.environ.get(_URL_VARIABLE):
            check_base_url(from_env, _URL_VARIABLE)
        if not model:
            raise ValueError("model must be a non-empty model name")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if structured_output not in ("auto", "native", "tool"):
            raise ValueError(
                f"structured_output must be auto, native or tool, got {structured_output!r}"
            )
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self._http = checked_http_client(http_client)
        self._model = model
        self._timeout = timeout
        self._auto_mode = structured_output == "auto"
        self._mode: StructuredMode = (
            structured_mode_for(model) if structured_output == "auto" else structured_output
        )
        self._secret = api_key
        self._secrets = (api_key, url_password(base_url or os.environ.get(_URL_VARIABLE)))
        # base_url=None lets the SDK read ANTHROPIC_BASE_URL (gateways, proxies).
        self._client = self._new_client(base_url, max_retries)

    @classmethod
    def from_environment(
        cls, *, model: str | None = None, timeout: float = 120.0
    ) -> AnthropicBackend:
        """Key from ANTHROPIC_API_KEY; base URL from ANTHROPIC_BASE_URL when set."""
        api_key = os.environ.get(_KEY_VARIABLE, "")
        if not api_key:
            raise PermanentBackendError(_MISSING_KEY, fatal=True)
        return cls(api_key=api_key, model=model or DEFAULT_MODEL, timeout=timeout)

    @property
    def structured_mode(self) -> StructuredMode:
        return self._mode

    async def check_configuration(self) -> None:
        """One free request (listing models) to see that something answers at the base
        URL and takes the key; the key's and URL's form were checked on construction.
        On a client of its own, so it may run on another event loop than the calls."""
        client = self._new_client(self._client.base_url, 0)
        try:
            await client.models.list(limit=1, timeout=min(self._timeout, 10.0))
        except anthropic.APIConnectionError as exc:  # a timeout is one too
            raise self._scrubbed(
                PermanentBackendError(
                    f"nothing answers at {self.base_url} ({exc.message}): check "
                    f"{_URL_VARIABLE}, or unset it to use the Anthropic API",
                    fatal=True,
                )
            ) from None
        except anthropic.APIStatusError as exc:
            if exc.status_code == 401:  # the one answer to this request that says "stop"
                raise self._scrubbed(self._status_error(exc)) from None
            # Anything else (a gateway without this route, say) proves the host answers.
        finally:
            await client.close()

    def _new_client(self, base_url: Any, max_retries: int) -> AsyncAnthropic:
        """The SDK's client over the chosen HTTP stack; a client is bound to the event
        loop of its first call, so each loop gets its own."""
        url = base_url if base_url is not None else os.environ.get(_URL_VARIABLE)
        http = (
            anthropic.DefaultAioHttpClient(timeout=self._timeout)
            if over_aiohttp(self._http, url)
            else None
        )
        return AsyncAnthropic(
            api_key=self._secret,
            base_url=base_url,
            timeout=self._timeout,
            max_retries=max_retries,
            http_client=http,
        )

    def __repr__(self) -> str:
        return f"AnthropicBackend(model={self._model!r}, base_url={self.base_url!r})"

    async def complete(self, request: CompletionRequest) -> Completion:
        params = self._base_params(request)
        if request.output_schema is None:
            message = await self._create(params)
            usage = _usage(message)
            return Completion(
                text=_text_of(message),
                model=message.model or self._model,
                usage=usage,
                stop_reason=_stop_reason(message),
                response_id=message.id or None,
            )
        return await self._complete_structured(request, request.output_schema, params)

    # ----- structured output -----
    async def _complete_structured(
        self, request: CompletionRequest, schema: type[BaseModel], params: dict[str, Any]
    ) -> Completion:
        messages: list[dict[str, Any]] = list(params["messages"])
        tool_use: dict[str, Any] | None = None  # the last reply's tool call (tool mode)

        async def attempt(repair: Repair | None) -> Completion:
            nonlocal tool_use
            if repair is not None:
                messages.extend(_repair_turns(repair, tool_use))
            message = await self._create_structured(params, messages, schema)
            raw, tool_use = _structured_reply(message, self._mode)  # mode after any switch
            return Completion(
                text=raw,
                model=message.model or self._model,
                usage=_usage(message),
                stop_reason=_stop_reason(message),
                response_id=message.id,
            )

        return await complete_validated(request, attempt)

    async def _create_structured(
        self, params: dict[str, Any], messages: list[dict[str, Any]], schema: type[BaseModel]
    ) -> anthropic.types.Message:
        try:
            return await self._create(
                {**params, "messages": messages, **_format_params(schema, self._mode)}
            )
        except PermanentBackendError as exc:
            if not (self._auto_mode and self._mode == "native" and _rejects_json_outputs(exc)):
                raise
        log.warning("%s rejected JSON outputs; using a forced tool call instead", self._model)
        self._mode = "tool"
        return await self._create(
            {**params, "messages": messages, **_format_params(schema, self._mode)}
        )

    # ----- one API call -----
    def _base_params(self, request: CompletionRequest) -> dict[str, Any]:
        system: list[dict[str, Any]] = []
        if request.shared_prefix:
            system.append(
                {
                    "type": "text",
                    "text": request.shared_prefix,
                    "cache_control": dict(self._cache_control),
                }
            )
        if request.instructions:
            system.append({"type": "text", "text": request.instructions})
        params: dict[str, Any] = {
            "model": request.model or self._model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if system:
            params["system"] = system
        return params

    async def _create(self, params: dict[str, Any]) -> anthropic.types.Message:
        try:
            return _checked(await self._client.messages.create(**params))
        except anthropic.APIStatusError as exc:
            error = self._status_error(exc)
        except anthropic.APITimeoutError:
            error = TransientBackendError(
                f"the Anthropic API did not answer within {self._timeout:g}s"
            )
        except anthropic.APIConnectionError as exc:
            error = TransientBackendError(
                f"could not reach the Anthropic API at {self.base_url}: {exc.message}"
            )
        except (anthropic.APIResponseValidationError, json.JSONDecodeError):
            error = TransientBackendError("the Anthropic API sent a malformed response")
        except MalformedReply as exc:
            error = TransientBackendError(f"the Anthropic API sent a malformed response: {exc}")
        raise self._scrubbed(error) from None

    def _status_error(self, exc: anthropic.APIStatusError) -> BackendError:
        status = exc.status_code
        detail = exc.api_message or exc.message
        where = f" (request id {exc.request_id})" if exc.request_id else ""
        if status == 429:
            return OverloadedError(
                f"rate limited by the Anthropic API (429): {detail}{where}",
                retry_after=retry_after_from(exc.response.headers),
            )
        if status == 529:
            return OverloadedError(
                f"the Anthropic API is overloaded (529){where}",
                retry_after=retry_after_from(exc.response.headers),
            )
        if status >= 500 or status in (408, 409):
            return TransientBackendError(
                f"the Anthropic API failed ({status}): {detail}{where}",
                retry_after=retry_after_from(exc.response.headers),
            )
        if status == 401:
            return PermanentBackendError(
                "the Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY "
                "(wrong, revoked, or for another organisation)",
                fatal=True,
            )
        if status == 403:
            return PermanentBackendError(
                f"the API key may not do this (403): {detail}. Check the key's workspace "
                f"and permissions for model {self._model!r}",
                fatal=True,
            )
        if status == 404:
            return PermanentBackendError(
                f"model {self._model!r} was not found (404): pass --model with a model "
                f"your key can use, e.g. {DEFAULT_MODEL!r}",
                fatal=True,
            )
        if status == 402:
            return PermanentBackendError(
                f"the Anthropic account cannot pay for this call (402): {detail}", fatal=True
            )
        return PermanentBackendError(f"the Anthropic API refused the request ({status}): {detail}")


_KEY_VARIABLE = "ANTHROPIC_API_KEY"
_URL_VARIABLE = "ANTHROPIC_BASE_URL"
_MISSING_KEY = (
    "ANTHROPIC_API_KEY is not set: export your Anthropic API key as ANTHROPIC_API_KEY "
    "to use the anthropic backend, or choose --backend llamacpp to run offline"
)


class MalformedReply(ValueError):
    """A 200 whose body is not a usable Message."""


def _checked(message: object) -> anthropic.types.Message:
    """`message` if it is a whole Message with truthful usage; `MalformedReply` if not
    (the SDK hands back plain text as a str, and `{}` as a Message of Nones)."""
    if not isinstance(message, anthropic.types.Message):
        raise MalformedReply(f"a {type(message).__name__} instead of a message")
    if not isinstance(message.content, list) or message.usage is None:
        raise MalformedReply("no content or no usage")
    u = message.usage
    counts = (
        u.input_tokens,
        u.output_tokens,
        u.cache_creation_input_tokens or 0,
        u.cache_read_input_tokens or 0,
    )
    if not all(isinstance(n, int) and n >= 0 for n in counts):
        raise MalformedReply(f"usage with impossible token counts {counts}")
    return message


@functools.lru_cache(maxsize=64)
def _api_schema(schema: type[BaseModel]) -> dict[str, Any]:
    return transform_schema(schema)


def _tool_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"record_{schema.__name__}")[:64]


def _format_params(schema: type[BaseModel], mode: StructuredMode) -> dict[str, Any]:
    if mode == "native":
        return {"output_config": {"format": {"type": "json_schema", "schema": _api_schema(schema)}}}
    name = _tool_name(schema)
    tool = {
        "name": name,
        "description": f"Record the answer as a {schema.__name__} object.",
        "input_schema": schema.model_json_schema(),
    }
    return {"tools": [tool], "tool_choice": {"type": "tool", "name": name}}


def _structured_reply(
    message: anthropic.types.Message, mode: StructuredMode
) -> tuple[str, dict[str, Any] | None]:
    """The reply as JSON text, and the tool_use block it came in (tool mode)."""
    if mode == "tool":
        for block in message.content:
            if block.type == "tool_use":
                use = {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                return json.dumps(block.input), use
    return _text_of(message), None


def _repair_turns(repair: Repair, tool_use: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The repair prompt as the next turn: a failed tool result in tool mode (the API
    wants every tool call answered), a plain user turn otherwise."""
    if tool_use is not None:
        result = {
            "type": "tool_result",
            "tool_use_id": tool_use["id"],
            "is_error": True,
            "content": repair.prompt,
        }
        return [
            {"role": "assistant", "content": [tool_use]},
            {"role": "user", "content": [result]},
        ]
    return [
        {"role": "assistant", "content": repair.reply.text or "(empty reply)"},
        {"role": "user", "content": repair.prompt},
    ]


def _rejects_json_outputs(exc: PermanentBackendError) -> bool:
    text = str(exc).lower()
    return "(400)" in text and any(
        word in text for word in ("output_config", "output_format", "structured output")
    )


def _text_of(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def _stop_reason(message: anthropic.types.Message) -> StopReason:
    return _STOP_REASONS.get(message.stop_reason, "other")


def _usage(message: anthropic.types.Message) -> Usage:
    u = message.usage
    creation = getattr(u, "cache_creation", None)
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_write_tokens=u.cache_creation_input_tokens or 0,
        cache_read_tokens=u.cache_read_input_tokens or 0,
        cache_write_1h_tokens=(creation.ephemeral_1h_input_tokens or 0) if creation else 0,
        batch=getattr(u, "service_tier", None) == "batch",
    )
