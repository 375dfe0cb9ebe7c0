"""The openai backend through the real `openai` SDK against a loopback chat-completions
stub: the structured-output probe and its fallbacks, errors, usage, secrets. The real
llama.cpp server is in test_openai_llama_server.py (slow)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import openai
import pytest
from backend_calls import call_once, failure_of, using
from chat_api_server import ChatAPIServer, ChatFault
from pydantic import BaseModel, Field

from storyloom.backends.base import (
    BackendError,
    Completion,
    CompletionRequest,
    InvalidOutputError,
    Message,
    PermanentBackendError,
    TransientBackendError,
    Usage,
    unsupported,
)
from storyloom.backends.faults import FaultPlan, FaultyBackend
from storyloom.backends.openai import OpenAIBackend, UnreachableError
from storyloom.backends.pricing import cost_usd, set_price
from storyloom.backends.registry import backend_spec, create_backend
from storyloom.backends.remote import HttpClient
from storyloom.backends.throttle import CallTimeoutError, OverloadedError, ThrottledBackend

T = TypeVar("T")
KEY = "sk-local-SECRET-4242"


class Verdict(BaseModel):
    title: str
    score: int = Field(ge=1, le=10)
    notes: list[str] = Field(min_length=1)


GOOD = {"title": "T", "score": 7, "notes": ["fine"]}


def request(schema: type[BaseModel] | None = None, **overrides: Any) -> CompletionRequest:
    fields: dict[str, Any] = {
        "messages": (Message("user", "Judge the story."),),
        "max_tokens": 200,
        "shared_prefix": "Be honest.",
        "instructions": "You are the judge.",
        "purpose": "judge",
        "output_schema": schema,
    }
    return CompletionRequest(**{**fields, **overrides})


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def backend_for(server: ChatAPIServer, **options: Any) -> Callable[[], OpenAIBackend]:
    """Makes the backend for `server` (on the event loop that will use it)."""
    settings = {"base_url": server.base_url, "model": "stub-model", **options}
    return lambda: OpenAIBackend(**settings)


def complete(server: ChatAPIServer, req: CompletionRequest, **options: Any) -> Completion:
    return call_once(backend_for(server, **options), req)


def failure(server: ChatAPIServer, req: CompletionRequest, **options: Any) -> BackendError:
    return failure_of(backend_for(server, **options), req)


async def probe(backend: OpenAIBackend) -> str | None:
    """The structured mode the start-up check found."""
    await backend.check_configuration()
    return backend.structured_mode


def probed_mode(server: ChatAPIServer) -> str | None:
    return using(backend_for(server), probe)


# ----- the structured-output probe -----


def test_a_server_that_honours_json_schema_gets_strict_json_schema() -> None:
    with ChatAPIServer() as server:
        done = complete(server, request(Verdict))
        sent = server.chat_requests()[-1].body["response_format"]

    assert done.parsed == Verdict.model_validate(done.text and json.loads(done.text))
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    schema = sent["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"title", "score", "notes"}


@pytest.mark.parametrize("status", [500, 400])
def test_refused_json_schema_falls_back_to_vllm_structured_outputs(status: int) -> None:
    with ChatAPIServer(refuse={"json_schema": status}) as server:
        assert probed_mode(server) == "structured_outputs"


def test_structured_outputs_accepted_but_ignored_is_detected_by_the_reply() -> None:
    # llama.cpp's server: 500 for json_schema, 200 with free text for structured_outputs.
    with ChatAPIServer(refuse={"json_schema": 500}, ignore={"structured_outputs"}) as server:
        mode = probed_mode(server)
        statuses = [(r.mode, r.status) for r in server.chat_requests()]

    assert mode == "json_object"
    assert statuses == [
        ("json_schema", 500),
        ("structured_outputs", 200),
        ("json_object", 200),
    ]


def test_json_object_mode_sends_the_schema_rewritten_for_the_grammar() -> None:
    with ChatAPIServer(refuse={"json_schema": 500}, ignore={"structured_outputs"}) as server:
        done = complete(server, request(Verdict))
        sent = server.chat_requests()[-1].body["response_format"]

    assert isinstance(done.parsed, Verdict)
    assert sent["type"] == "json_object"
    assert sent["schema"]["properties"]["score"]["enum"] == list(range(1, 11))


def prompted_server() -> ChatAPIServer:
    return ChatAPIServer(
        refuse={"json_schema": 400, "json_object": 500}, ignore={"structured_outputs"}
    )


def test_prompted_json_puts_the_schema_in_the_system_prompt_and_repairs_once() -> None:
    with prompted_server() as server:

        async def go(backend: OpenAIBackend) -> tuple[Completion, str | None]:
            await backend.check_configuration()
            server.queue('```json\n{"title": "T", "score": 11}\n```', GOOD)
            return await backend.complete(request(Verdict)), backend.structured_mode

        done, mode = using(backend_for(server), go)
        first, repair = server.chat_requests()[-2:]
        billed = first.usage["completion_tokens"] + repair.usage["completion_tokens"]

    assert mode == "prompted" and done.parsed == Verdict(**GOOD)
    assert "JSON schema" in first.body["messages"][0]["content"]
    assert "response_format" not in first.body
    last = repair.body["messages"][-1]["content"]
    assert "score" in last and "less than or equal to 10" in last and "notes" in last
    assert done.usage.output_tokens == billed  # both attempts are on the bill


def test_a_reply_still_invalid_after_the_repair_is_invalid_output_with_its_usage() -> None:
    with prompted_server() as server:
        server.queue("no json here", '{"title": 3}')
        error = failure(server, request(Verdict), structured_output="prompted")
        spent = sum(r.usage.get("completion_tokens", 0) for r in server.chat_requests())

    assert isinstance(error, InvalidOutputError) and not error.fatal
    assert "Verdict" in str(error) and "judge" in str(error)
    assert error.usage is not None and error.usage.output_tokens == spent


# ----- errors -----


@pytest.mark.parametrize(
    ("fault", "kind", "retry_after"),
    [
        (ChatFault(429, retry_after=7), OverloadedError, 7.0),
        (ChatFault(500), TransientBackendError, None),
        (ChatFault(503, retry_after=2), TransientBackendError, 2.0),
        (ChatFault(408), TransientBackendError, None),
        (ChatFault(200, body=b"{}"), TransientBackendError, None),
        (ChatFault(200, body=b"plain text, not json"), TransientBackendError, None),
    ],
    ids=["429", "500", "503", "408", "empty-object", "plain-text"],
)
def test_transient_faults(
    fault: ChatFault, kind: type[Exception], retry_after: float | None
) -> None:
    with ChatAPIServer() as server:
        server.inject(fault)
        error = failure(server, request())

    assert type(error) is kind and isinstance(error, TransientBackendError)
    assert error.retry_after == retry_after


def test_negative_usage_is_malformed_not_booked() -> None:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "stub-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": -400, "completion_tokens": 2, "total_tokens": -398},
    }  # fmt: skip
    with ChatAPIServer() as server:
        server.inject(ChatFault(200, body=json.dumps(body).encode()))
        error = failure(server, request())

    assert isinstance(error, TransientBackendError) and "usage" in str(error)


def test_other_client_errors_fail_the_story_with_the_servers_message() -> None:
    with ChatAPIServer() as server:
        server.inject(ChatFault(400, "'logit_bias' is not supported by this model"))
        error = failure(server, request())

    assert isinstance(error, PermanentBackendError) and not error.fatal
    assert "(400)" in str(error) and "'logit_bias' is not supported" in str(error)


def test_a_context_overflow_is_fatal_whatever_the_servers_wording() -> None:
    """A context overflow is the run's configuration, not the story's (issue 27)."""
    for message in (
        "This model's maximum context length is 2048 tokens",  # OpenAI, vLLM
        "the request exceeds the available context size, try increasing it",  # llama.cpp
    ):
        with ChatAPIServer() as server:
            server.inject(ChatFault(400, message))
            error = failure(server, request())
        assert isinstance(error, PermanentBackendError) and error.fatal, message
        assert message in str(error) and "--prompt-profile compact" in str(error)


def test_a_wrong_key_stops_the_run_naming_the_variable() -> None:
    with ChatAPIServer(api_key="the-right-key") as server:
        error = failure(server, request(), api_key=KEY)

    assert isinstance(error, PermanentBackendError) and error.fatal
    assert "401" in str(error) and "OPENAI_API_KEY" in str(error)
    assert KEY not in str(error)


def test_an_unknown_model_stops_the_run_naming_the_option() -> None:
    with ChatAPIServer() as server:
        error = failure(server, request(), model="no-such-model")

    assert isinstance(error, PermanentBackendError) and error.fatal
    assert "404" in str(error) and "--model" in str(error) and "no-such-model" in str(error)


def test_a_dead_endpoint_at_start_is_one_fatal_line_naming_the_option() -> None:
    with ChatAPIServer() as gone:
        url = gone.base_url

    with pytest.raises(PermanentBackendError) as caught:
        using(lambda: OpenAIBackend(base_url=url, model="m", timeout=2), probe)
    message = str(caught.value)
    assert caught.value.fatal and "\n" not in message
    assert "--base-url" in message and url in message


HTTP_CLIENTS: tuple[HttpClient, ...] = ("aiohttp", "httpx")


@pytest.mark.parametrize("http_client", HTTP_CLIENTS)
def test_a_lost_connection_during_a_run_is_transient(http_client: HttpClient) -> None:
    with ChatAPIServer() as gone:
        url = gone.base_url

    error = failure_of(
        lambda: OpenAIBackend(base_url=url, model="m", timeout=2, http_client=http_client),
        request(),
    )
    assert isinstance(error, TransientBackendError) and "could not reach" in str(error)
    assert not isinstance(error, CallTimeoutError)  # refused at once: no sign of a queue


@pytest.mark.parametrize("http_client", HTTP_CLIENTS)
@pytest.mark.parametrize(
    "after_bytes", [0, 20, 90], ids=["before-the-status", "in-the-headers", "in-the-body"]
)
def test_a_connection_the_server_drops_mid_reply_is_a_lost_call_with_a_plain_message(
    http_client: HttpClient, after_bytes: int
) -> None:
    """aiohttp's transport in the SDK calls a hang-up before the reply a connect timeout;
    it must read as a lost call, as over httpx, not as a queue the throttle would cut."""
    with ChatAPIServer() as server:
        server.inject(ChatFault.dropped(after_bytes))
        error = failure(server, request(), http_client=http_client)
        url = server.base_url

    assert type(error) is UnreachableError, error
    assert str(error) == f"could not reach the server at {url}/"


@pytest.mark.parametrize("http_client", HTTP_CLIENTS)
def test_a_server_that_never_answers_times_out_on_either_stack(http_client: HttpClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects, never replies
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        error = failure_of(
            lambda: OpenAIBackend(base_url=url, model="m", timeout=0.5, http_client=http_client),
            request(),
        )

    assert isinstance(error, CallTimeoutError) and isinstance(error, TransientBackendError)
    assert str(error) == f"the server at {url}/ did not answer within 0.5s"


@pytest.mark.parametrize("credentials", ["", "gw-user:gw-pass-77@"])
def test_calls_go_over_aiohttp_unless_the_url_carries_credentials(credentials: str) -> None:
    """aiohttp is cheaper per call, but refuses a URL with user:password beside the
    Authorization header the SDK sends: such a gateway URL stays on httpx, which sends
    the credentials as Basic auth; either way the call reaches the server."""
    with ChatAPIServer() as server:
        url = server.base_url.replace("http://", f"http://{credentials}")
        backend = OpenAIBackend(base_url=url, model="stub-model", api_key=KEY)
        over_aiohttp = isinstance(backend._client._client, openai.DefaultAioHttpClient)
        done = complete(server, request(), base_url=url, api_key=KEY)
        run(backend.aclose())

    assert over_aiohttp == (not credentials)
    assert done.text and len(server.chat_requests()) == 1
    sent = server.chat_requests()[0].authorization
    assert sent.startswith("Basic ") if credentials else sent == f"Bearer {KEY}"


def test_the_http_client_is_checked_by_name() -> None:
    with pytest.raises(ValueError, match="http_client must be aiohttp or httpx"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m", http_client="urllib3")  # type: ignore[arg-type]


def test_credentials_never_reach_a_message() -> None:
    with ChatAPIServer() as server:  # a gateway's Basic auth replaces the bearer key
        gateway = server.base_url.replace("http://", "http://gw-user:gw-pass-77@")
        server.inject(ChatFault(400, f"echo: key {KEY} and gw-pass-77"))
        error = failure(server, request(), api_key=KEY, base_url=gateway)
        backend = OpenAIBackend(base_url=gateway, model="m", api_key=KEY)

    assert "(400)" in str(error) and "[redacted]" in str(error)
    for secret in (KEY, "gw-pass-77"):
        assert secret not in str(error) and secret not in repr(backend)
    assert secret not in backend.base_url


def test_a_url_that_is_not_a_url_or_a_key_with_a_newline_is_refused_by_name() -> None:
    with pytest.raises(PermanentBackendError, match="--base-url is not an http"):
        OpenAIBackend(base_url="not a url", model="m")
    with pytest.raises(PermanentBackendError, match="OPENAI_API_KEY contains whitespace"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m", api_key=KEY + "\n")


def test_from_environment_reads_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(PermanentBackendError, match="--base-url"):
        OpenAIBackend.from_environment(model="m")
    with ChatAPIServer(api_key=KEY) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)

        done = call_once(lambda: OpenAIBackend.from_environment(model="stub-model"), request())
    assert done.model == "stub-model" and server.requests[-1].status == 200


# ----- what is sent, and what is booked -----


def test_temperature_and_seed_are_sent_only_when_set() -> None:
    with ChatAPIServer() as server:
        complete(server, request())
        complete(server, request(temperature=0.7, seed=11))
        unset, set_ = (r.body for r in server.chat_requests())

    assert "temperature" not in unset and "seed" not in unset
    assert set_["temperature"] == 0.7 and set_["seed"] == 11


def test_usage_splits_cached_prompt_tokens_into_cache_reads() -> None:
    with ChatAPIServer(cached_tokens=10) as server:
        done = complete(server, request())
        billed = server.billed()

    assert done.usage == Usage(
        input_tokens=billed["prompt_tokens"] - 10,
        output_tokens=billed["completion_tokens"],
        cache_read_tokens=10,
    )


def test_without_a_model_the_servers_only_model_is_used() -> None:
    with ChatAPIServer(models=("only-one",)) as server:
        assert _configured_model(server) == "only-one"
    with (
        ChatAPIServer(models=("a", "b")) as server,
        pytest.raises(PermanentBackendError, match=r"pass --model .*serves: a, b"),
    ):
        _configured_model(server)


def _configured_model(server: ChatAPIServer) -> str:
    async def check(backend: OpenAIBackend) -> str:
        await backend.check_configuration()
        return backend.model

    return using(lambda: OpenAIBackend(base_url=server.base_url), check)


def test_a_price_given_for_a_model_reaches_the_cost() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cache_read_tokens=1_000_000)
    assert cost_usd("open-model-priced", usage) == 0.0
    set_price("open-model-priced", input=0.2, output=0.6)
    assert cost_usd("open-model-priced", usage) == pytest.approx(0.2 + 0.3 + 0.2)


def test_the_cli_backend_is_throttled_with_the_flags_of_the_real_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = create_backend(
        backend_spec("openai", {"model": "m", "base_url": "http://127.0.0.1:9/v1", "price_in": 1.0})
    )
    assert isinstance(backend, ThrottledBackend)
    assert backend.supports_temperature and backend.supports_seed and backend.name == "openai"
    assert unsupported(backend, request(Verdict, temperature=0.3, seed=4, model="x")) is None
    assert cost_usd("m", Usage(input_tokens=1_000_000)) == pytest.approx(1.0)
    run(backend.aclose())


def test_the_probed_mode_is_readable_through_every_wrapper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ChatAPIServer(refuse={"json_schema": 500}) as server:
        backend = FaultyBackend(
            create_backend(backend_spec("openai", {"base_url": server.base_url})), FaultPlan()
        )
        assert backend.structured_mode is None  # not probed yet
        run(backend.check_configuration())
        run(backend.aclose())
    assert backend.structured_mode == "structured_outputs" and backend.model == "stub-model"
