"""The backend contract every backend shares: capability flags and `unsupported`, the one
validate-and-repair, and the throttle's signals (latency, capped waits, a stop).
Deterministic: recorded latencies and a fake clock, no timing asserts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

import pytest
from backend_calls import FakeClock
from pydantic import BaseModel, Field, ValidationInfo, model_validator

from storyloom.backends.anthropic import AnthropicBackend
from storyloom.backends.base import (
    Backend,
    Completion,
    CompletionRequest,
    InvalidOutputError,
    Message,
    TransientBackendError,
    Usage,
    unsupported,
)
from storyloom.backends.faults import FaultPlan, FaultyBackend
from storyloom.backends.scripted import ScriptedBackend
from storyloom.backends.structured import Repair, ReplyDoesNotFit, complete_validated, parse_reply
from storyloom.backends.throttle import (
    CallTimeoutError,
    LatencySignal,
    OutageError,
    OverloadedError,
    ThrottledBackend,
)

T = TypeVar("T")


class Verdict(BaseModel):
    title: str
    score: int = Field(ge=1, le=10)


def request(**overrides: Any) -> CompletionRequest:
    fields: dict[str, Any] = {"messages": (Message("user", "hi"),), "max_tokens": 50}
    return CompletionRequest(**{**fields, **overrides})


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


# ----- capability flags -----


def test_temperature_and_seed_are_optional_and_checked_only_when_set() -> None:
    assert request().temperature is None and request().seed is None
    with pytest.raises(ValueError, match="temperature"):
        request(temperature=2.5)


def test_unsupported_names_each_parameter_the_backend_cannot_honour() -> None:
    anthropic = AnthropicBackend(api_key="k", base_url="http://127.0.0.1:9")
    assert unsupported(anthropic, request(output_schema=Verdict, model="claude-x")) is None
    problem = unsupported(anthropic, request(temperature=0.7, seed=3, purpose="write"))
    assert problem is not None and problem.startswith("write asks for a temperature (0.7)")
    assert "a sampling seed (3)" in problem and "anthropic backend" in problem


class PlainBackend(Backend):
    """A backend with no capability at all."""

    name: ClassVar[str] = "plain"

    @property
    def model(self) -> str:
        return "plain-1"

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="ok", model=self.model)


def test_unsupported_structured_output_and_model_choice() -> None:
    plain = PlainBackend()
    assert unsupported(plain, request(model="plain-1")) is None  # its own model is fine
    problem = unsupported(plain, request(output_schema=Verdict, model="other"))
    assert problem is not None
    assert "structured output (Verdict)" in problem and "another model" in problem


@pytest.mark.parametrize("wrap", ["throttle", "faults", "both"])
def test_wrappers_answer_for_the_backend_they_wrap(wrap: str) -> None:
    inner: Backend = AnthropicBackend(api_key="k", base_url="http://127.0.0.1:9")
    wrapped: Backend = inner
    if wrap in ("throttle", "both"):
        wrapped = ThrottledBackend(wrapped)
    if wrap in ("faults", "both"):
        wrapped = FaultyBackend(wrapped, FaultPlan())
    for flag in ("supports_temperature", "supports_seed", "supports_structured_output"):
        assert getattr(wrapped, flag) == getattr(inner, flag)
    asked = request(temperature=0.5, purpose="plan")
    assert unsupported(wrapped, asked) == unsupported(inner, asked) is not None
    assert unsupported(ThrottledBackend(ScriptedBackend()), asked) is None


# ----- validate and repair, once for all -----


@pytest.mark.parametrize(
    "text",
    [
        '{"title": "T", "score": 3}',
        '```json\n{"title": "T", "score": 3}\n```',
        'Here it is: {"title": "T", "score": 3} Hope that helps.',
        '{"title": "T\nwith a raw newline", "score": 3}',
    ],
    ids=["plain", "fenced", "prose-around", "raw-newline"],
)
def test_parse_reply_accepts_the_usual_wrappings(text: str) -> None:
    assert parse_reply(Verdict, text).score == 3


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("no json", "not valid JSON"),
        ('{"title": "T", "score": 11}', "score: Input should be less than or equal to 10"),
        ('{"score": 2}', "title: Field required"),
    ],
)
def test_parse_reply_says_what_is_wrong_in_one_line(text: str, problem: str) -> None:
    with pytest.raises(ReplyDoesNotFit, match=problem):
        parse_reply(Verdict, text)


class Attempts:
    """Replies in order; records the repair each attempt was given."""

    def __init__(self, *replies: Completion) -> None:
        self.replies = list(replies)
        self.repairs: list[Repair | None] = []

    async def __call__(self, repair: Repair | None) -> Completion:
        self.repairs.append(repair)
        return self.replies.pop(0)


def reply(text: str, output: int = 5, **fields: Any) -> Completion:
    return Completion(text=text, model="m", usage=Usage(output_tokens=output), **fields)


def test_one_repair_with_the_problem_and_the_usage_of_both_attempts() -> None:
    attempts = Attempts(reply('{"title": "T", "score": 0}', 4), reply('{"title": "T", "score": 2}'))
    done = run(complete_validated(request(output_schema=Verdict, purpose="judge"), attempts))

    assert done.parsed == Verdict(title="T", score=2) and done.usage.output_tokens == 9
    assert done.requests == 2  # the ledger and `inspect` count the repair turn
    first, second = attempts.repairs
    assert first is None and second is not None
    assert "score: Input should be greater than or equal to 1" in second.prompt
    assert second.reply.text == '{"title": "T", "score": 0}'


class Titled(BaseModel):
    """A fixed schema whose per-item requirement (the title asked for) is checked from
    the validation context, as the kinds check the criteria in play."""

    title: str

    @model_validator(mode="after")
    def _asked_title(self, info: ValidationInfo) -> Titled:
        wanted = (info.context or {}).get("title")
        if wanted and self.title != wanted:
            raise ValueError(f"the title must be {wanted!r}")
        return self


def test_a_per_item_requirement_gets_the_repair_turn_and_the_schema_stays_one() -> None:
    attempts = Attempts(reply('{"title": "T"}'), reply('{"title": "U"}'))
    asked = request(output_schema=Titled, output_context={"title": "U"})
    done = run(complete_validated(asked, attempts))

    assert done.parsed == Titled(title="U")
    repair = attempts.repairs[1]
    assert repair is not None and "the title must be 'U'" in repair.prompt
    # Without the context the first reply is fine: the requirement is the item's, not
    # the schema's.
    first_only = Attempts(reply('{"title": "T"}'))
    plain = run(complete_validated(request(output_schema=Titled), first_only))
    assert plain.parsed == Titled(title="T")


def test_still_invalid_after_the_repair_is_invalid_output_carrying_the_usage() -> None:
    attempts = Attempts(reply("nope", 4), reply("still nope", 6))
    with pytest.raises(InvalidOutputError, match="judge: the reply did not fit Verdict") as e:
        run(complete_validated(request(output_schema=Verdict, purpose="judge"), attempts))
    assert e.value.usage == Usage(output_tokens=10) and e.value.requests == 2


def test_a_truncated_reply_gets_a_repair_turn_asking_for_the_whole_object_in_budget() -> None:
    attempts = Attempts(
        reply('{"title": "T", "sc', 50, stop_reason="max_tokens"),
        reply('{"title": "T", "score": 3}', 20),
    )
    done = run(complete_validated(request(output_schema=Verdict), attempts))

    assert done.parsed == Verdict(title="T", score=3) and done.usage.output_tokens == 70
    first, second = attempts.repairs
    assert first is None and second is not None
    assert "cut off at the length limit of 50 tokens" in second.prompt
    assert second.reply.text == '{"title": "T", "sc'


def test_a_truncated_reply_that_parses_is_kept_without_a_repair() -> None:
    attempts = Attempts(reply('{"title": "T", "score": 3}', stop_reason="max_tokens"))
    done = run(complete_validated(request(output_schema=Verdict), attempts))
    assert done.parsed == Verdict(title="T", score=3) and attempts.repairs == [None]
    assert done.requests == 1


def test_a_reply_cut_again_after_its_repair_is_returned_unparsed_as_truncated() -> None:
    cut = reply('{"title": "T", "sc', 50, stop_reason="max_tokens")
    attempts = Attempts(cut, cut)
    done = run(complete_validated(request(output_schema=Verdict), attempts))
    assert done.truncated and done.parsed is None and done.usage.output_tokens == 100


def test_a_backend_error_during_the_repair_carries_what_was_billed_before() -> None:
    async def attempt(repair: Repair | None) -> Completion:
        if repair is None:
            return reply("bad", 7)
        raise TransientBackendError("500")

    with pytest.raises(TransientBackendError) as caught:
        run(complete_validated(request(output_schema=Verdict), attempt))
    assert caught.value.usage == Usage(output_tokens=7) and caught.value.requests == 2


# ----- the throttle's latency signal -----


def test_latency_signal_from_recorded_latencies() -> None:
    signal = LatencySignal(factor=3.0, window=8, min_samples=4)
    # A cold start says nothing, however slow.
    assert [signal.observe("write", s) for s in (2.0, 9.0, 2.1)] == [False] * 3
    assert signal.observe("write", 1.9) is False
    assert signal.floor("write") == 1.9
    assert signal.observe("write", 5.6) is False  # under 3x the floor
    assert signal.observe("write", 5.8) is True  # the server is queueing
    # Kinds keep their own floors: a plan call is short, not fast because idle.
    assert [signal.observe("plan", s) for s in (0.4, 0.5, 0.4, 0.45, 1.0)] == [False] * 5
    assert signal.observe("plan", 1.3) is True
    # The floor is recent: once the fast calls leave the window, slow is the new normal.
    for _ in range(8):
        signal.observe("write", 6.0)
    assert signal.floor("write") == 6.0 and signal.observe("write", 6.5) is False


class RecordedLatency(Backend):
    """Answers after the next recorded latency, on a fake clock."""

    name: ClassVar[str] = "recorded"

    def __init__(self, clock: FakeClock, latencies: list[float]) -> None:
        self.clock = clock
        self.latencies = latencies

    @property
    def model(self) -> str:
        return "recorded-1"

    async def complete(self, request: CompletionRequest) -> Completion:
        await self.clock.sleep(self.latencies.pop(0))
        return Completion(text="ok", model=self.model)


def test_the_throttle_cuts_concurrency_when_replies_slow_far_past_their_floor() -> None:
    clock = FakeClock()
    latencies = [1.0] * 6 + [5.0, 5.0] + [1.0] * 16
    inner = RecordedLatency(clock, latencies)
    throttled = ThrottledBackend(
        inner, initial_limit=40, max_limit=40, latency_signal=LatencySignal(), clock=clock
    )
    limits = []
    for _ in range(24):
        run(throttled.complete(request(purpose="write")))
        limits.append(throttled.limit)

    assert limits[:6] == [40] * 6  # fast replies: no change (already at the max)
    # A slow reply with one call in flight: the cap falls to what was really in flight
    # (x0.8, floored at 1), not 0.8 of a cap far above it that would take 15 cuts to bite.
    assert limits[6:8] == [1, 1]
    assert limits[-1] > 1  # recovers additively once replies are fast again
    assert throttled.stats().slow_cuts == 2 and throttled.state == "closed"


def test_one_queue_build_up_cuts_once_however_many_calls_it_slowed() -> None:
    async def go() -> tuple[int, int]:
        clock = FakeClock()
        signal = LatencySignal()
        for _ in range(5):
            signal.observe("write", 1.0)
        gate = asyncio.Event()

        class Slow(RecordedLatency):
            async def complete(self, request: CompletionRequest) -> Completion:
                await gate.wait()
                return await super().complete(request)

        inner = Slow(clock, [10.0] * 8)
        throttled = ThrottledBackend(
            inner, initial_limit=40, max_limit=40, latency_signal=signal, clock=clock
        )
        tasks = [
            asyncio.create_task(throttled.complete(request(purpose="write"))) for _ in "12345678"
        ]
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*tasks)
        return throttled.limit, throttled.stats().slow_cuts

    assert run(go()) == (6, 1)  # 8 in flight x 0.8, once


def test_without_a_latency_signal_slow_replies_change_nothing() -> None:
    clock = FakeClock()
    throttled = ThrottledBackend(
        RecordedLatency(clock, [1.0] * 6 + [50.0]), initial_limit=8, max_limit=8, clock=clock
    )
    for _ in range(7):
        run(throttled.complete(request()))
    assert throttled.limit == 8


# ----- capped waits and the stop -----


def test_a_retry_after_past_the_cap_fails_calls_at_once_until_it_expires() -> None:
    async def go() -> tuple[int, float, float]:
        clock = FakeClock()
        inner = ScriptedBackend([TransientBackendError("503", retry_after=3600), "ok"])
        throttled = clock.throttle(inner, max_wait=300)
        for _ in range(3):  # the refused call, then two that are never sent
            with pytest.raises(OutageError, match="3600s"):
                await throttled.complete(request())
        waited = clock.now
        clock.now += 3600
        await throttled.complete(request())  # the server's time is up: calls go out again
        return len(inner.requests), waited, throttled.stats().outage_until

    sent, waited, outage_until = run(go())
    assert sent == 2 and waited == 0.0 and outage_until == 3600


def test_a_retry_after_within_the_cap_is_waited_for() -> None:
    async def go() -> float:
        clock = FakeClock()
        inner = ScriptedBackend([OverloadedError("429", retry_after=200), "ok"])
        throttled = clock.throttle(inner, max_wait=300)
        with pytest.raises(OverloadedError):
            await throttled.complete(request())
        await throttled.complete(request())
        return clock.now

    assert run(go()) >= 200


def test_a_stop_releases_calls_waiting_for_a_free_slot() -> None:
    async def go() -> tuple[list[BaseException | Completion], int]:
        gate = asyncio.Event()

        class Held(ScriptedBackend):
            async def complete(self, request: CompletionRequest) -> Completion:
                await gate.wait()
                return await super().complete(request)

        inner = Held(responder=lambda r: "ok")
        throttled = ThrottledBackend(inner, initial_limit=1, max_limit=1)
        tasks = [asyncio.create_task(throttled.complete(request())) for _ in range(3)]
        await asyncio.sleep(0.01)
        throttled.stop_waiting()
        results = await asyncio.gather(*tasks[1:], return_exceptions=True)
        gate.set()
        results.insert(0, await tasks[0])  # the call in flight finishes
        return results, len(inner.requests)

    results, sent = run(go())
    assert isinstance(results[0], Completion) and sent == 1
    assert all(isinstance(r, TransientBackendError) and "stopped" in str(r) for r in results[1:])


def test_faulty_wrapper_forwards_the_stop() -> None:
    throttled = ThrottledBackend(ScriptedBackend(["ok"]))
    FaultyBackend(throttled, FaultPlan()).stop_waiting()
    with pytest.raises(TransientBackendError, match="stopped"):
        run(throttled.complete(request()))


def test_a_server_imposed_wait_is_visible_while_it_lasts() -> None:
    async def go() -> tuple[float, float, float]:
        clock = FakeClock()
        throttled = ThrottledBackend(
            ScriptedBackend([OverloadedError("429", retry_after=200)]), clock=clock
        )
        shown = FaultyBackend(throttled, FaultPlan())  # what the progress display asks
        before = shown.held_for()
        with pytest.raises(OverloadedError):
            await throttled.complete(request())
        during = shown.held_for()
        clock.now += 150
        return before, during, shown.held_for()

    assert run(go()) == (0.0, 200.0, 50.0)


def test_timeouts_cut_the_calls_in_flight_by_half_once_per_burst() -> None:
    async def go() -> tuple[int, int, int]:
        gate = asyncio.Event()

        class Queueing(ScriptedBackend):
            async def complete(self, request: CompletionRequest) -> Completion:
                await gate.wait()
                raise CallTimeoutError("no answer within 120s")

        throttled = ThrottledBackend(Queueing(), latency_signal=LatencySignal())
        plain = ThrottledBackend(Queueing())  # without the signal: timeouts are just errors
        tasks = [asyncio.create_task(b.complete(request())) for b in [throttled, plain] * 4]
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return throttled.limit, throttled.stats().slow_cuts, plain.limit

    assert run(go()) == (2, 1, 64)
