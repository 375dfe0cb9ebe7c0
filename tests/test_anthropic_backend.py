"""The Anthropic backend through the real `anthropic` SDK against a loopback Messages API,
and the throttle that paces it. Nothing here mocks the SDK."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import typing
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anthropic
import pytest
from backend_calls import FakeClock, as_usage, call_once, failure_of, using
from click.testing import CliRunner
from messages_api_server import Fault, MessagesAPIServer
from pydantic import BaseModel, Field

from storyloom.backends.anthropic import DEFAULT_MODEL, AnthropicBackend
from storyloom.backends.base import (
    Backend,
    BackendError,
    Completion,
    CompletionRequest,
    InvalidOutputError,
    Message,
    PermanentBackendError,
    TransientBackendError,
    Usage,
)
from storyloom.backends.pricing import cost_usd, project_item_cost
from storyloom.backends.scripted import ScriptedBackend
from storyloom.backends.throttle import OutageError, OverloadedError, ThrottledBackend
from storyloom.cli.main import cli

KEY = "sk-ant-test-SECRET-123"
PREFIX = "## Constitution\nBe honest, be kind, explain your reasons. " * 20
T = TypeVar("T")


class Verdict(BaseModel):
    title: str
    score: int = Field(ge=1, le=10)
    notes: list[str] = Field(min_length=1)


def request(schema: type[BaseModel] | None = None, **overrides: Any) -> CompletionRequest:
    fields: dict[str, Any] = {
        "messages": (Message("user", "Judge the story."),),
        "max_tokens": 300,
        "shared_prefix": PREFIX,
        "instructions": "You are the judge.",
        "purpose": "judge",
        "output_schema": schema,
    }
    fields.update(overrides)
    return CompletionRequest(**fields)


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def backend_at(url: str, **options: Any) -> Callable[[], AnthropicBackend]:
    """Makes the backend for `url` (on the event loop that will use it)."""
    return lambda: AnthropicBackend(api_key=KEY, base_url=url, **options)


def throttled_at(url: str, **options: Any) -> Callable[[], ThrottledBackend]:
    """Makes the throttle, with `options`, around the backend for `url`."""
    return lambda: ThrottledBackend(AnthropicBackend(api_key=KEY, base_url=url), **options)


def complete(server: MessagesAPIServer, req: CompletionRequest, **options: Any) -> Completion:
    return call_once(backend_at(server.base_url, **options), req)


def failure(server: MessagesAPIServer, req: CompletionRequest, **options: Any) -> BackendError:
    return failure_of(backend_at(server.base_url, **options), req)


@pytest.fixture
def server() -> typing.Iterator[MessagesAPIServer]:
    with MessagesAPIServer(api_key=KEY) as running:
        yield running


# ----- text completions, prompt caching, usage -----


def test_text_completion_sends_cacheable_prefix_and_maps_usage(
    server: MessagesAPIServer,
) -> None:
    server.queue("Wren paused. *Why does this matter to them?*")
    done = complete(server, request(), model="claude-haiku-5-5")

    assert done.text == "Wren paused. *Why does this matter to them?*"
    assert done.stop_reason == "end_turn"
    assert done.model == "claude-haiku-5-5"
    sent = server.requests[0].body
    assert sent["model"] == "claude-haiku-5-5"
    assert sent["system"] == [
        {"type": "text", "text": PREFIX, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "You are the judge."},
    ]
    assert sent["messages"] == [{"role": "user", "content": "Judge the story."}]
    assert "temperature" not in sent  # current models reject sampling parameters
    assert done.usage == as_usage(server.requests[0].billed)
    assert done.usage.cache_write_tokens > 0


def test_shared_prefix_is_written_once_then_read_and_usage_matches_the_bill(
    server: MessagesAPIServer,
) -> None:
    async def three_calls(backend: AnthropicBackend) -> list[Completion]:
        return [await backend.complete(request(purpose=f"call{i}")) for i in range(3)]

    first, second, third = using(backend_at(server.base_url), three_calls)

    assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.usage.cache_write_tokens == 0 == third.usage.cache_write_tokens
    total = first.usage + second.usage + third.usage
    assert total == as_usage(server.billed)


def test_no_shared_prefix_sends_no_cache_control(server: MessagesAPIServer) -> None:
    complete(server, request(shared_prefix=""))
    assert server.requests[0].body["system"] == [{"type": "text", "text": "You are the judge."}]
    assert server.requests[0].billed is not None
    assert server.requests[0].billed.cache_write_tokens == 0


def test_default_model_is_a_sonnet_the_installed_sdk_lists() -> None:
    listed = [arg for arg in typing.get_args(anthropic.types.Model) if isinstance(arg, str)]
    listed += [
        name
        for arg in typing.get_args(anthropic.types.Model)
        for name in typing.get_args(arg)
        if isinstance(name, str)
    ]
    assert DEFAULT_MODEL in listed
    assert "sonnet" in DEFAULT_MODEL


# ----- structured output -----


def test_structured_output_uses_json_outputs_and_validates_with_pydantic(
    server: MessagesAPIServer,
) -> None:
    server.queue({"title": "The Quiet Ledger", "score": 8, "notes": ["good"]})
    done = complete(server, request(Verdict))

    assert done.parsed == Verdict(title="The Quiet Ledger", score=8, notes=["good"])
    sent = server.requests[0]
    assert sent.structured_mode == "native"
    assert "tools" not in sent.body
    # The SDK moves `maximum` out of the schema: only our own validation enforces it.
    assert "maximum" not in sent.schema["properties"]["score"]  # type: ignore[index]


def test_structured_output_falls_back_to_a_forced_tool_for_older_models(
    server: MessagesAPIServer,
) -> None:
    server.queue({"title": "Harbour", "score": 3, "notes": ["tighten the ending"]})
    done = complete(server, request(Verdict), model="claude-3-5-haiku-20241022")

    assert done.parsed == Verdict(title="Harbour", score=3, notes=["tighten the ending"])
    assert done.stop_reason == "end_turn"
    sent = server.requests[0].body
    assert sent["tool_choice"] == {"type": "tool", "name": "record_Verdict"}
    assert sent["tools"][0]["input_schema"]["properties"]["score"]["maximum"] == 10
    assert "output_config" not in sent


def test_a_model_that_rejects_json_outputs_switches_to_the_tool(
    server: MessagesAPIServer,
) -> None:
    server.inject(
        Fault.http_error(400, "invalid_request_error", "output_config.format: not supported")
    )

    async def twice(backend: AnthropicBackend) -> tuple[Completion, Completion, str]:
        first = await backend.complete(request(Verdict))
        second = await backend.complete(request(Verdict))
        return first, second, backend.structured_mode

    first, second, mode = using(backend_at(server.base_url), twice)

    assert isinstance(first.parsed, Verdict) and isinstance(second.parsed, Verdict)
    assert mode == "tool"
    assert [r.structured_mode for r in server.requests] == ["native", "tool", "tool"]


@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-3-haiku-20240307"])
def test_one_repair_attempt_sends_the_validation_error_back(
    server: MessagesAPIServer, model: str
) -> None:
    server.inject(Fault.invalid_output({"title": "T", "score": 11, "notes": ["x"]}))
    server.queue({"title": "T", "score": 9, "notes": ["x"]})
    done = complete(server, request(Verdict), model=model)

    assert done.parsed == Verdict(title="T", score=9, notes=["x"])
    assert len(server.requests) == 2
    repair = json.dumps(server.requests[1].body["messages"][-2:])
    assert "score" in repair and "less than or equal to 10" in repair
    assert done.usage == as_usage(server.billed)  # both calls are on the bill


def test_tool_repair_turn_is_an_error_tool_result(server: MessagesAPIServer) -> None:
    server.inject(Fault.invalid_output({"title": "T"}))
    complete(server, request(Verdict), structured_output="tool")

    assistant, user = server.requests[1].body["messages"][-2:]
    assert assistant["content"][0]["type"] == "tool_use"
    result = user["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] is True
    assert result["tool_use_id"] == assistant["content"][0]["id"]


def test_output_still_invalid_after_the_repair_is_rejected_not_retried(
    server: MessagesAPIServer,
) -> None:
    server.inject(Fault.invalid_output({"title": "T"}), Fault.invalid_output("not json"))
    error = failure(server, request(Verdict))

    assert isinstance(error, InvalidOutputError) and not error.fatal
    assert "Verdict" in str(error) and "judge" in str(error)
    assert len(server.requests) == 2
    assert error.usage == as_usage(server.billed)  # type: ignore[attr-defined]


def test_max_tokens_stop_is_reported_as_truncation(server: MessagesAPIServer) -> None:
    server.inject(Fault.max_tokens())
    story = "A long story that will be cut off somewhere in the middle of it."
    server.queue(story)
    done = complete(server, request())

    assert done.stop_reason == "max_tokens" and done.truncated
    assert done.text == story[: len(story) // 2]
    assert done.usage.output_tokens == 300


def test_truncated_structured_output_is_asked_again_within_the_budget(
    server: MessagesAPIServer,
) -> None:
    server.inject(Fault.max_tokens())
    done = complete(server, request(Verdict))

    assert done.parsed is not None and not done.truncated
    assert len(server.requests) == 2
    repair_turn = json.dumps(server.requests[1].body["messages"][-1])
    assert "cut off at the length limit of 300 tokens" in repair_turn
    assert done.usage == as_usage(server.billed)  # type: ignore[attr-defined]


def test_structured_output_cut_twice_is_returned_unparsed_as_truncated(
    server: MessagesAPIServer,
) -> None:
    server.inject(Fault.max_tokens(), Fault.max_tokens())
    done = complete(server, request(Verdict))

    assert done.truncated and done.parsed is None
    assert len(server.requests) == 2


# ----- errors -----


@pytest.mark.parametrize(
    ("fault", "kind", "retry_after"),
    [
        (Fault.rate_limit(retry_after=7), OverloadedError, 7.0),
        (Fault.rate_limit(retry_after=0.25), OverloadedError, 0.25),
        (Fault.overloaded(), OverloadedError, None),
        (Fault.server_error(500), TransientBackendError, None),
        (Fault.server_error(503), TransientBackendError, None),
        (Fault.malformed(), TransientBackendError, None),
        (Fault.timeout(delay=3.0), TransientBackendError, None),
    ],
    ids=["429", "429-ms", "529", "500", "503", "malformed", "timeout"],
)
def test_transient_faults_become_transient_errors(
    server: MessagesAPIServer, fault: Fault, kind: type[Exception], retry_after: float | None
) -> None:
    server.inject(fault)
    error = failure(server, request(), timeout=0.5)

    assert type(error) is kind
    assert isinstance(error, TransientBackendError)
    assert error.retry_after == retry_after
    assert server.billed.calls == 0


def test_timeout_message_names_the_limit(server: MessagesAPIServer) -> None:
    server.inject(Fault.timeout(delay=3.0))
    error = failure(server, request(), timeout=0.5)
    assert "0.5s" in str(error)


def test_connection_refused_is_transient() -> None:
    with MessagesAPIServer() as gone:
        url = gone.base_url

    error = failure_of(backend_at(url, timeout=2), request())
    assert isinstance(error, TransientBackendError) and "could not reach" in str(error)


@pytest.mark.parametrize(
    ("status", "error_type", "fatal"),
    [(400, "invalid_request_error", False), (403, "permission_error", True)],
)
def test_client_errors_are_permanent(
    server: MessagesAPIServer, status: int, error_type: str, fatal: bool
) -> None:
    server.inject(Fault.http_error(status, error_type, "prompt is too long"))
    error = failure(server, request())

    assert isinstance(error, PermanentBackendError)
    assert error.fatal is fatal
    assert f"({status})" in str(error) and "prompt is too long" in str(error)


def test_wrong_key_is_fatal_and_says_which_variable_to_fix() -> None:
    with MessagesAPIServer(api_key="sk-ant-the-right-one") as strict:
        error = failure(strict, request())

    assert isinstance(error, PermanentBackendError) and error.fatal
    assert "401" in str(error) and "ANTHROPIC_API_KEY" in str(error)


def test_unknown_model_is_fatal_and_named() -> None:
    with MessagesAPIServer(api_key=KEY, known_models={DEFAULT_MODEL}) as known:
        error = failure(known, request(), model="claude-nonexistent-9")

    assert isinstance(error, PermanentBackendError) and error.fatal
    assert "claude-nonexistent-9" in str(error) and "404" in str(error)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.rate_limit(),
        Fault.overloaded(),
        Fault.server_error(),
        Fault.malformed(),
        Fault.timeout(delay=3.0),
        Fault.http_error(400, "invalid_request_error", f"header x-api-key={KEY} is malformed"),
        Fault.http_error(401, "authentication_error", f"invalid x-api-key {KEY}"),
        Fault.http_error(404, "not_found_error", "model: x"),
    ],
    ids=["429", "529", "500", "malformed", "timeout", "400-echo", "401-echo", "404"],
)
def test_the_key_never_appears_in_an_error(server: MessagesAPIServer, fault: Fault) -> None:
    server.inject(fault)
    error = failure(server, request(), timeout=0.5)

    assert KEY not in str(error) and KEY not in repr(error)
    assert all(KEY not in str(arg) for arg in error.args)
    # SDK exceptions hold the request, headers and all: they are never chained.
    assert error.__cause__ is None and error.__suppress_context__


def test_backend_repr_hides_the_key(server: MessagesAPIServer) -> None:
    backend = AnthropicBackend(api_key=KEY, base_url=server.base_url)
    assert KEY not in repr(backend) and "claude" in repr(backend)


def test_missing_key_is_fatal_and_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(PermanentBackendError, match="ANTHROPIC_API_KEY") as caught:
        AnthropicBackend.from_environment(model=None, timeout=30)
    assert caught.value.fatal


def test_from_environment_honours_key_and_base_url(
    server: MessagesAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)

    done = call_once(lambda: AnthropicBackend.from_environment(model=None, timeout=30), request())
    assert done.model == DEFAULT_MODEL
    assert server.requests[0].status == 200  # reached the server, and the key matched


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(PermanentBackendError, match="ANTHROPIC_API_KEY"):
        AnthropicBackend(api_key="")
    with pytest.raises(ValueError, match="timeout"):
        AnthropicBackend(api_key=KEY, timeout=0)
    with pytest.raises(ValueError, match="structured_output"):
        AnthropicBackend(api_key=KEY, structured_output="json")  # type: ignore[arg-type]


# ----- under a fault rate: every call accounted for -----


def test_usage_matches_the_bill_to_the_token_under_transient_faults(
    server: MessagesAPIServer,
) -> None:
    server.inject_rate(0.2, seed=3)

    async def calls(backend: ThrottledBackend) -> tuple[Usage, int]:
        total, failures = Usage(), 0
        for i in range(40):
            schema = Verdict if i % 2 else None
            while True:  # what the node's RetryPolicy does
                try:
                    done = await backend.complete(request(schema, purpose=f"c{i}"))
                except TransientBackendError:
                    failures += 1
                    continue
                total += done.usage
                break
        return total, failures

    def throttled() -> ThrottledBackend:
        inner = AnthropicBackend(api_key=KEY, base_url=server.base_url, timeout=5)
        return ThrottledBackend(inner, breaker_cooldown=0.05, max_cooldown=0.1)

    total, failures = using(throttled, calls)
    assert failures > 0
    assert total == as_usage(server.billed)
    assert server.billed.calls == 40


# ----- pricing -----


def test_cost_uses_the_four_token_prices() -> None:
    usage = Usage(1_000_000, 1_000_000, 1_000_000, 1_000_000)
    assert cost_usd("claude-sonnet-4-5-20250929", usage) == pytest.approx(3 + 15 + 3.75 + 0.30)
    assert cost_usd("claude-sonnet-5-5", Usage(cache_read_tokens=1_000_000)) == pytest.approx(0.1)


def test_local_models_cost_nothing_and_unknown_claude_models_cost_the_most() -> None:
    usage = Usage(1000, 1000)
    assert cost_usd("scripted-demo", usage) == 0.0
    assert cost_usd("SmolLM2-135M-Instruct", usage) == 0.0
    dearest = max(cost_usd(m, usage) for m in ("claude-opus-4-1", "claude-fable-5-1"))
    assert cost_usd("claude-future-9", usage) == dearest


def test_story_projection_reads_the_prefix_from_cache() -> None:
    cost = project_item_cost(
        "claude-sonnet-4-5",
        calls=4,
        prompt_tokens_per_call=1000,
        max_output_tokens_per_call=2000,
        cached_prefix_tokens=5000,
    )
    assert cost == pytest.approx(4 * (1000 * 3 + 2000 * 15 + 5000 * 0.30) / 1e6)


# ----- throttle -----


class GatedBackend(Backend):
    """Holds every call until released, then answers with `outcome()`; counts concurrency."""

    name: ClassVar[str] = "gated"

    def __init__(self, outcome: Callable[[], BackendError | None]) -> None:
        self.outcome = outcome
        self.release = asyncio.Event()
        self.in_flight = self.peak = self.calls = 0

    @property
    def model(self) -> str:
        return "gated-1"

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        error = self.outcome()
        if error is not None:
            raise error
        return Completion(text="ok", model=self.model)


async def settle(tasks: list[asyncio.Task[Completion]]) -> list[BaseException | Completion]:
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_throttle_caps_calls_in_flight() -> None:
    async def go() -> int:
        inner = GatedBackend(lambda: None)
        throttled = ThrottledBackend(inner, initial_limit=3, max_limit=8)
        tasks = [asyncio.create_task(throttled.complete(request())) for _ in range(10)]
        await asyncio.sleep(0.01)
        inner.release.set()
        await settle(tasks)
        return inner.peak

    assert run(go()) == 3


def test_one_burst_of_overloads_halves_the_limit_once() -> None:
    async def go() -> tuple[int, list[BaseException | Completion]]:
        inner = GatedBackend(lambda: OverloadedError("429", retry_after=None))
        throttled = ThrottledBackend(inner, initial_limit=8, max_limit=8)
        tasks = [asyncio.create_task(throttled.complete(request())) for _ in range(8)]
        await asyncio.sleep(0.01)
        inner.release.set()
        results = await settle(tasks)
        return throttled.limit, results

    limit, results = run(go())
    assert limit == 4
    assert all(isinstance(r, OverloadedError) for r in results)  # errors still reach the node


def test_limit_shrinks_on_each_fresh_overload_and_grows_back_slowly() -> None:
    async def go() -> list[int]:
        clock = FakeClock()
        inner = ScriptedBackend([OverloadedError("529"), OverloadedError("529"), *["ok"] * 12])
        throttled = clock.throttle(inner, initial_limit=16, max_limit=16)
        seen = []
        for _ in range(14):
            with contextlib.suppress(OverloadedError):
                await throttled.complete(request())
            seen.append(throttled.limit)
        return seen

    seen = run(go())
    assert seen[:2] == [8, 4]
    assert seen[-1] > 4  # recovered some
    assert seen[-1] < 16  # but additively, not at once
    assert all(b - a <= 1 for a, b in itertools.pairwise(seen))


def test_retry_after_holds_back_the_next_call() -> None:
    async def go() -> tuple[float, float]:
        clock = FakeClock()
        started: list[float] = []

        def outcome() -> BackendError | None:
            started.append(clock.now)
            return OverloadedError("429", retry_after=5.0) if len(started) == 1 else None

        inner = GatedBackend(outcome)
        inner.release.set()
        throttled = clock.throttle(inner)
        with pytest.raises(OverloadedError):
            await throttled.complete(request())
        await throttled.complete(request())
        return started[0], started[1]

    first, second = run(go())
    assert second - first >= 5.0


def test_breaker_opens_under_sustained_overload_pauses_then_closes() -> None:
    async def go() -> tuple[list[str], list[float], int]:
        clock = FakeClock()
        inner = ScriptedBackend([OverloadedError("529"), OverloadedError("529"), "ok", "ok"])
        throttled = clock.throttle(inner, initial_limit=1, max_limit=4, breaker_cooldown=10.0)
        states, times = [], []
        for _ in range(4):
            with contextlib.suppress(OverloadedError):
                await throttled.complete(request())
            states.append(throttled.state)
            times.append(clock.now)
        return states, times, throttled.stats().trips

    states, times, trips = run(go())
    # At the floor already, an overload opens the breaker; the probe after the pause
    # fails too, so it reopens for twice as long; the next probe succeeds and closes it.
    assert states == ["open", "open", "closed", "closed"]
    assert times[:3] == [0.0, 10.0, 30.0]
    assert trips == 2


def test_breaker_opens_after_repeated_overloads_within_the_window() -> None:
    async def go() -> tuple[str, int]:
        clock = FakeClock()
        inner = ScriptedBackend([OverloadedError("429")] * 3)
        throttled = clock.throttle(inner, initial_limit=64, max_limit=64, breaker_threshold=3)
        for _ in range(3):
            with pytest.raises(OverloadedError):
                await throttled.complete(request())
        return throttled.state, throttled.limit

    assert run(go()) == ("open", 8)


def test_scattered_overloads_trim_the_limit_but_never_open_the_breaker() -> None:
    async def go() -> tuple[str, int, int]:
        clock = FakeClock()
        replies = [OverloadedError("429") if i % 8 == 7 else "ok" for i in range(400)]
        throttled = clock.throttle(ScriptedBackend(replies), initial_limit=32, max_limit=64)
        lowest = 32
        for _ in range(400):
            with contextlib.suppress(OverloadedError):
                await throttled.complete(request())
            lowest = min(lowest, throttled.limit)
        return throttled.state, throttled.stats().trips, lowest

    state, trips, lowest = run(go())
    assert state == "closed" and trips == 0
    # 1 call in 8 refused: trimmed each time (plain halving would settle near 3).
    assert lowest >= 5


def test_throttle_passes_other_errors_through_without_slowing_down() -> None:
    async def go() -> tuple[int, BaseException]:
        inner = ScriptedBackend([PermanentBackendError("400 bad", fatal=False)])
        throttled = ThrottledBackend(inner, initial_limit=8, max_limit=8)
        try:
            await throttled.complete(request())
        except PermanentBackendError as exc:
            return throttled.limit, exc
        raise AssertionError("expected an error")

    limit, error = run(go())
    assert limit == 8 and str(error) == "400 bad"


def test_throttle_over_the_real_backend_reacts_to_a_429(server: MessagesAPIServer) -> None:
    server.inject(Fault.rate_limit(retry_after=0.1))

    async def go(throttled: ThrottledBackend) -> tuple[int, Completion]:
        with pytest.raises(OverloadedError):
            await throttled.complete(request())
        return throttled.limit, await throttled.complete(request())

    limit, done = using(throttled_at(server.base_url, initial_limit=32), go)
    assert limit == 16
    assert done.stop_reason == "end_turn"
    assert server.requests[1].received_at - server.requests[0].received_at >= 0.1


def test_throttle_rejects_bad_settings() -> None:
    inner = ScriptedBackend()
    with pytest.raises(ValueError, match="initial_limit"):
        ThrottledBackend(inner, initial_limit=100, max_limit=10)
    with pytest.raises(ValueError, match="decrease_factor"):
        ThrottledBackend(inner, decrease_factor=1.5)


def test_gateway_credentials_in_the_base_url_never_reach_messages() -> None:
    backend = AnthropicBackend(api_key=KEY, base_url="https://user:gw-token-77@gw.example/v1/")
    assert "gw-token-77" not in backend.base_url
    assert "gw-token-77" not in repr(backend)
    assert backend.base_url.startswith("https://gw.example")


@pytest.mark.parametrize("credentials", ["", "gw-user:gw-pass-77@"])
def test_calls_go_over_aiohttp_unless_the_url_carries_credentials(credentials: str) -> None:
    """aiohttp is cheaper per call, but refuses a URL with user:password beside the
    Authorization header the SDK sends: such a gateway URL stays on httpx, and reaches
    the gateway either way."""
    with MessagesAPIServer(api_key=KEY) as server:
        url = server.base_url.replace("http://", f"http://{credentials}")

        def make() -> AnthropicBackend:
            return AnthropicBackend(api_key=KEY, base_url=url)

        over_aiohttp = isinstance(make()._client._client, anthropic.DefaultAioHttpClient)
        assert over_aiohttp == (not credentials)
        try:
            call_once(make, request())
        except BackendError as error:
            assert "could not reach" not in str(error)  # sent, whatever the gateway says
        assert len(server.requests) == 1


# ----- API behaviour (#11): malformed replies, configuration at start, long waits, stop -----


@pytest.mark.parametrize(
    "fault",
    [
        Fault.malformed(b"{}"),
        Fault.malformed(b"Service temporarily unavailable", "text/plain"),
        Fault.malformed(b'"just a string"'),
        Fault.negative_usage(),
    ],
    ids=["empty-object", "plain-text", "json-string", "negative-usage"],
)
@pytest.mark.parametrize("schema", [None, Verdict], ids=["text", "structured"])
def test_a_malformed_200_is_transient_and_nothing_is_booked(
    server: MessagesAPIServer, fault: Fault, schema: type[BaseModel] | None
) -> None:
    server.inject(fault)
    error = failure(server, request(schema))

    assert isinstance(error, TransientBackendError), error
    assert "malformed" in str(error)
    assert error.usage in (None, Usage())  # a reply we could not read books nothing


def test_negative_usage_is_never_booked_as_negative_spend(server: MessagesAPIServer) -> None:
    server.inject(Fault.negative_usage())
    error = failure(server, request())
    done = complete(server, request())  # the retry: a truthful reply

    assert "impossible token counts" in str(error)
    assert done.usage.input_tokens > 0 and cost_usd(DEFAULT_MODEL, done.usage) > 0


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ANTHROPIC_BASE_URL", "not a url", "ANTHROPIC_BASE_URL is not an http(s) URL"),
        ("ANTHROPIC_BASE_URL", "localhost:8080", "ANTHROPIC_BASE_URL is not an http(s) URL"),
        ("ANTHROPIC_API_KEY", KEY + "\n", "ANTHROPIC_API_KEY contains whitespace"),
        ("ANTHROPIC_API_KEY", f" {KEY}", "ANTHROPIC_API_KEY contains whitespace"),
    ],
    ids=["not-a-url", "no-scheme", "key-newline", "key-space"],
)
def test_a_configuration_that_cannot_work_is_refused_at_once_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(PermanentBackendError) as caught:
        AnthropicBackend.from_environment()

    assert caught.value.fatal and named in str(caught.value)
    assert KEY not in str(caught.value) and "\n" not in str(caught.value)


def check(backend: AnthropicBackend) -> None:
    using(lambda: backend, lambda made: made.check_configuration())


def test_check_configuration_names_the_url_nothing_answers_at() -> None:
    with MessagesAPIServer() as gone:
        url = gone.base_url
    with pytest.raises(PermanentBackendError) as caught:
        check(AnthropicBackend(api_key=KEY, base_url=url))
    assert caught.value.fatal and "ANTHROPIC_BASE_URL" in str(caught.value)
    assert url in str(caught.value)


def test_check_configuration_refuses_a_wrong_key_before_any_story() -> None:
    with MessagesAPIServer(api_key="sk-ant-the-right-one") as strict:
        with pytest.raises(PermanentBackendError, match="ANTHROPIC_API_KEY") as caught:
            check(AnthropicBackend(api_key=KEY, base_url=strict.base_url))
        check(AnthropicBackend(api_key="sk-ant-the-right-one", base_url=strict.base_url))
        sent = [r.path for r in strict.requests]
    assert caught.value.fatal and "401" in str(caught.value)
    assert sent == ["/v1/models", "/v1/models"]  # free requests only, no message


def test_the_cli_refuses_a_bad_base_url_in_one_line_before_touching_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "not a url")
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["generate", "--backend", "anthropic", "--run-dir", str(tmp_path / "r")]
    )

    assert result.exit_code == 1 and time.monotonic() - started < 10
    assert result.output.strip().splitlines() == [
        "Error: ANTHROPIC_BASE_URL is not an http(s) URL ('not a url'): give the server's "
        "address, e.g. https://host:port/v1"
    ]
    assert not (tmp_path / "r" / "run.json").exists()


def test_a_retry_after_past_the_cap_is_an_outage_not_a_silent_freeze(
    server: MessagesAPIServer,
) -> None:
    server.inject(Fault.rate_limit(retry_after=86400))

    async def go(throttled: ThrottledBackend) -> tuple[BaseException, BaseException, float]:
        started = time.monotonic()
        with pytest.raises(OutageError) as first:
            await throttled.complete(request())
        with pytest.raises(OutageError) as second:  # fails at once, never sent
            await throttled.complete(request())
        return first.value, second.value, time.monotonic() - started

    first, second, took = using(throttled_at(server.base_url), go)
    assert took < 5 and len(server.requests) == 1
    assert "86400s" in str(first) and "outage" in str(first) and "run again later" in str(first)
    assert str(second) == str(first)


def test_a_stop_ends_a_retry_after_wait_at_once_and_no_call_starts_after_it(
    server: MessagesAPIServer,
) -> None:
    server.inject(Fault.rate_limit(retry_after=120))

    async def go(throttled: ThrottledBackend) -> tuple[BaseException, BaseException, float]:
        with pytest.raises(OverloadedError):
            await throttled.complete(request())
        waiting = asyncio.create_task(throttled.complete(request()))  # held for 120 s
        await asyncio.sleep(0.2)
        assert not waiting.done()
        started = time.monotonic()
        throttled.stop_waiting()
        with pytest.raises(TransientBackendError) as held:
            await waiting
        took = time.monotonic() - started
        with pytest.raises(TransientBackendError) as later:
            await throttled.complete(request())
        return held.value, later.value, took

    held, later, took = using(throttled_at(server.base_url), go)
    assert took < 1.0
    assert "stopped before the call was sent" in str(held)
    assert "stopped before the call was sent" in str(later)
    assert len(server.requests) == 1  # neither the held call nor the later one went out
