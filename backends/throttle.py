"""Adaptive concurrency and a circuit breaker in front of any backend.

A provider that answers 429 (rate limited) or 529 (overloaded) is telling us to send
less. `ThrottledBackend` listens: it caps the calls in flight, cuts the cap
multiplicatively on an overload signal and lets it grow back by about one call per
window of successes (AIMD, as TCP does). The cut is proportional to how much of the
recent traffic was refused (as in DCTCP): when most calls are refused the cap halves,
when an odd call out of many is refused it shrinks a little, so scattered transient
faults do not collapse throughput the way real rate limiting should. One burst of
failures counts once: only a call that started after the last cut can cut again.
A `retry-after` from the provider holds back every new call, not only the one retried.

When overload is sustained (most recent calls refused, and either the cap is at its
floor or cuts kept coming within a window) the breaker opens and *pauses* all new
calls for a cooldown instead of letting node retries burn out against a wall; then one
probe call decides whether to close it or to pause again, twice as long.

Tuning (measured with bench/anthropic_throughput.py, 20% scattered 429/529/500 faults):
the cap grows by `additive_increase` calls per window of successes. Real calls last tens
of seconds, so +1 per window recovers from a halving over many minutes; the default 2
halves that, and under scattered faults keeps about 0.33 of fault-free throughput
against 0.20 with +1 (0.69 with no throttle at all, which is what a real rate limit
would punish). `decrease_factor` is the cut when at least half the recent calls were
refused.

A server that queues instead of refusing (vLLM under load answers every call, later and
later) sends no 429: with a `LatencySignal` the throttle also cuts the cap, gently and
once per burst, when a call takes far longer than the recent floor for its kind of call.

A wait a server imposes is capped (`max_wait`, 5 minutes): a longer `retry-after` is an
outage, not pacing, so the call fails at once with an `OutageError` that says so, and so
does every call until the server's time is up (the items are interrupted, to resume
later; nothing waits for a day in silence). `stop_waiting()` (a graceful stop) ends every
wait at once and no call starts after it.

Errors are never swallowed: the caller (the node's RetryPolicy) still sees them.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from storyloom.backends.base import (
    Backend,
    Completion,
    CompletionRequest,
    TransientBackendError,
    copy_capabilities,
)

log = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]


class OverloadedError(TransientBackendError):
    """The provider asked us to slow down (HTTP 429 or 529). The throttle reacts to it."""


class CallTimeoutError(TransientBackendError):
    """The call outlived the client's timeout. On a server that queues rather than
    refuses (vLLM, llama.cpp's server), the loudest sign of load there is: with a
    `LatencySignal` the throttle cuts hard on it."""


class OutageError(TransientBackendError):
    """The provider asked for a wait longer than a run waits: the item is interrupted
    (resumable), not rejected, and the message says when to try again."""


#: The longest `retry-after` honoured by waiting; anything longer is an outage.
MAX_WAIT = 300.0

#: Calls in flight a synchronous API backend allows (and so `--concurrency` without
#: `--batch`): each holds a connection and a share of the provider's rate limit, so more
#: only queue behind the limit while their timeouts run.
SYNC_MAX_CALLS = 512

#: Items in flight with `--batch`: a waiting item costs memory (a few KiB), not a
#: connection, and a run's batch rounds fall as more items advance together.
BATCH_MAX_CALLS = 1_000_000

#: What a call waiting in the throttle hears after a graceful stop. It is transient so
#: the node's retry goes through the workflow's own stop check and pauses the story.
STOPPED = "stopped before the call was sent"


class LatencySignal:
    """Congestion from latency alone, for servers that queue instead of answering 429.

    Keeps the recent latencies of each kind of call (its purpose: a plan call and a
    write call differ by their output length, not by load); a call is *slow* when it
    took more than `factor` times the lowest of them (the floor: the server unloaded).
    Needs `min_samples` of a kind before it says anything, so a cold start is no signal.
    Pure bookkeeping with no clock, so it is tested with recorded latencies.
    """

    def __init__(self, *, factor: float = 3.0, window: int = 64, min_samples: int = 3) -> None:
        if factor <= 1.0:
            raise ValueError(f"factor must be > 1, got {factor}")
        if window < min_samples or min_samples < 1:
            raise ValueError("need 1 <= min_samples <= window")
        self.factor = factor
        self._window = window
        self._min_samples = min_samples
        self._recent: dict[str, deque[float]] = {}

    def floor(self, kind: str) -> float | None:
        recent = self._recent.get(kind)
        return min(recent) if recent and len(recent) >= self._min_samples else None

    def observe(self, kind: str, seconds: float) -> bool:
        """Record one answered call; True when it was slow against the floor before it."""
        floor = self.floor(kind)
        self._recent.setdefault(kind, deque(maxlen=self._window)).append(seconds)
        return floor is not None and seconds > self.factor * floor


@dataclass(frozen=True)
class ThrottleStats:
    limit: int
    in_flight: int
    state: BreakerState
    successes: int
    overloads: int
    decreases: int
    trips: int
    paused_until: float
    slow_cuts: int = 0
    #: Set while calls fail at once because the server asked for a wait past `max_wait`.
    outage_until: float = 0.0


class ThrottledBackend(Backend):
    """Wraps `inner`; same model and capabilities, calls paced as described above."""

    name: ClassVar[str] = "throttled"

    def __init__(
        self,
        inner: Backend,
        *,
        initial_limit: int | None = None,
        min_limit: int = 1,
        max_limit: int | None = None,
        decrease_factor: float = 0.5,
        additive_increase: float = 2.0,
        breaker_threshold: int = 6,
        breaker_window: float = 30.0,
        breaker_ratio: float = 0.5,
        recent_calls: int = 32,
        breaker_cooldown: float = 10.0,
        max_cooldown: float = 120.0,
        latency_signal: LatencySignal | None = None,
        slow_decrease: float = 0.8,
        max_wait: float = MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        max_limit = inner.max_parallel_calls if max_limit is None else max_limit
        initial_limit = max_limit if initial_limit is None else initial_limit
        if min_limit < 1:
            raise ValueError(f"min_limit must be at least 1, got {min_limit}")
        if not min_limit <= initial_limit <= max_limit:
            raise ValueError(
                f"need min_limit <= initial_limit <= max_limit, got "
                f"{min_limit} <= {initial_limit} <= {max_limit}"
            )
        if not 0.0 < decrease_factor < 1.0:
            raise ValueError(f"decrease_factor must be within (0, 1), got {decrease_factor}")
        if additive_increase <= 0:
            raise ValueError(f"additive_increase must be > 0, got {additive_increase}")
        if not 0.0 < breaker_ratio <= 1.0:
            raise ValueError(f"breaker_ratio must be within (0, 1], got {breaker_ratio}")
        if recent_calls < 1:
            raise ValueError(f"recent_calls must be at least 1, got {recent_calls}")
        if breaker_threshold < 1:
            raise ValueError(f"breaker_threshold must be at least 1, got {breaker_threshold}")
        if not 0.0 < slow_decrease < 1.0:
            raise ValueError(f"slow_decrease must be within (0, 1), got {slow_decrease}")
        if max_wait <= 0:
            raise ValueError(f"max_wait must be > 0 seconds, got {max_wait}")
        if breaker_window <= 0 or breaker_cooldown <= 0 or max_cooldown < breaker_cooldown:
            raise ValueError(
                "breaker_window and breaker_cooldown must be > 0, "
                "and max_cooldown at least breaker_cooldown"
            )
        self.inner = inner
        # Capabilities are the inner backend's (instance attributes shadow the ClassVars).
        self.name = inner.name  # type: ignore[misc]
        copy_capabilities(self, inner)
        self.max_parallel_calls = max_limit  # type: ignore[misc]
        self._min, self._max = min_limit, max_limit
        self._limit = float(initial_limit)
        self._decrease_factor = decrease_factor
        self._additive_increase = additive_increase
        self._threshold = breaker_threshold
        self._ratio = breaker_ratio
        self._recent: deque[bool] = deque(maxlen=recent_calls)  # True: refused (overload)
        self._window = breaker_window
        self._base_cooldown = breaker_cooldown
        self._max_cooldown = max_cooldown
        self._cooldown = breaker_cooldown
        self._latency = latency_signal
        self._slow_decrease = slow_decrease
        self._max_wait = max_wait
        self._outage_until = 0.0
        self._outage_message = ""
        self._stopped = asyncio.Event()
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._epoch = 0  # bumped on every decrease; older calls cannot decrease again
        self._strikes: deque[float] = deque()
        self._state: BreakerState = "closed"
        self._probe_in_flight = False
        self._not_before = 0.0  # retry-after: no call starts earlier
        self._open_until = 0.0
        self._waiters: list[asyncio.Future[None]] = []
        self._successes = self._overloads = self._decreases = self._trips = 0
        self._slow_cuts = 0

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def limit(self) -> int:
        """Calls allowed in flight right now."""
        return max(self._min, math.floor(self._limit))

    @property
    def state(self) -> BreakerState:
        return self._state

    def stats(self) -> ThrottleStats:
        return ThrottleStats(
            limit=self.limit,
            in_flight=self._in_flight,
            state=self._state,
            successes=self._successes,
            overloads=self._overloads,
            decreases=self._decreases,
            trips=self._trips,
            paused_until=max(self._not_before, self._open_until),
            slow_cuts=self._slow_cuts,
            outage_until=self._outage_until,
        )

    def held_for(self) -> float:
        """Seconds until a call may start (retry-after or an open breaker)."""
        until = max(self._not_before, self._open_until if self._state == "open" else 0.0)
        return max(0.0, until - self._clock())

    def stop_waiting(self) -> None:
        """A graceful stop: every call waiting here fails at once (transient, so its node
        reaches the workflow's stop check) and no call starts from now on."""
        self._stopped.set()
        self._notify()
        self.inner.stop_waiting()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def check_configuration(self) -> None:
        await self.inner.check_configuration()

    @property
    def structured_mode(self) -> str | None:
        """The wrapped backend's way of getting structured output, where it has one."""
        return getattr(self.inner, "structured_mode", None)

    async def complete(self, request: CompletionRequest) -> Completion:
        epoch, probe = await self._acquire()
        started = self._clock()
        try:
            completion = await self.inner.complete(request)
        except OverloadedError as exc:
            self._refuse_outage(exc)
            self._on_overload(epoch, probe, exc.retry_after)
            raise
        except CallTimeoutError:
            if self._latency is not None:
                self._on_slow(epoch, self._decrease_factor, self._clock() - started)
            self._on_answered(probe)
            raise
        except TransientBackendError as exc:
            self._refuse_outage(exc)
            self._hold_back(exc.retry_after)
            self._on_answered(probe)
            raise
        except Exception:
            self._on_answered(probe)
            raise
        else:
            self._on_success(epoch, probe, request.purpose, self._clock() - started)
            return completion
        finally:
            self._in_flight -= 1
            if probe:
                self._probe_in_flight = False
            self._notify()

    # ----- admission -----
    async def _acquire(self) -> tuple[int, bool]:
        while True:
            if self._stopped.is_set():
                raise TransientBackendError(STOPPED)
            now = self._clock()
            if now < self._outage_until:
                raise OutageError(self._outage_message)
            if self._state == "open" and now >= self._open_until:
                self._state = "half_open"
            wait = max(self._not_before, self._open_until if self._state == "open" else 0.0) - now
            if wait > 0:
                await self._pause(wait)
                continue
            if self._state == "half_open":
                if not self._probe_in_flight:
                    self._probe_in_flight = True
                    self._in_flight += 1
                    return self._epoch, True
            elif self._in_flight < self.limit:
                self._in_flight += 1
                return self._epoch, False
            await self._wait_for_change()

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless a stop comes first."""
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait((sleeping, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeping, stopping):
                task.cancel()

    async def _wait_for_change(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if not waiter.done():
                waiter.cancel()

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ----- feedback -----
    def _on_success(self, epoch: int, probe: bool, purpose: str, seconds: float) -> None:
        self._successes += 1
        slow = self._latency is not None and self._latency.observe(purpose or "call", seconds)
        if not slow:
            self._limit = min(float(self._max), self._limit + self._additive_increase / self._limit)
        else:
            self._on_slow(epoch, self._slow_decrease, seconds)
        self._on_answered(probe)

    def _on_slow(self, epoch: int, factor: float, seconds: float) -> None:
        """A server queueing our calls: cut from what is really in flight (the cap may
        be far above it), once per build-up, like one burst of 429s."""
        if epoch != self._epoch:
            return
        self._limit = max(float(self._min), min(self._limit, float(self._in_flight)) * factor)
        self._epoch += 1
        self._slow_cuts += 1
        log.info("a reply took %.1fs: %d calls in flight at most", seconds, self.limit)

    def _on_answered(self, probe: bool) -> None:
        """Any answer that is not an overload: recorded, and it closes a half-open breaker."""
        self._recent.append(False)
        if probe and self._state == "half_open":
            self._state = "closed"
            self._cooldown = self._base_cooldown
            self._strikes.clear()
            log.info("circuit breaker closed: the provider answers again")

    def overload_fraction(self) -> float:
        """The share of recent calls the provider refused."""
        return sum(self._recent) / len(self._recent) if self._recent else 0.0

    def _on_overload(self, epoch: int, probe: bool, retry_after: float | None) -> None:
        self._overloads += 1
        self._recent.append(True)
        self._hold_back(retry_after)
        now = self._clock()
        if probe:
            self._cooldown = min(self._max_cooldown, self._cooldown * 2)
            self._open(now, retry_after)
            return
        if epoch != self._epoch:
            return  # started before the last cut: the same burst, already counted
        refused = self.overload_fraction()
        at_floor = self.limit <= self._min
        cut = (1.0 - self._decrease_factor) * min(1.0, 2.0 * refused)
        self._limit = max(float(self._min), self._limit * (1.0 - cut))
        self._epoch += 1
        self._decreases += 1
        self._strikes.append(now)
        while self._strikes and self._strikes[0] < now - self._window:
            self._strikes.popleft()
        sustained = refused >= self._ratio and (at_floor or len(self._strikes) >= self._threshold)
        if self._state == "closed" and sustained:
            self._open(now, retry_after)

    def _open(self, now: float, retry_after: float | None) -> None:
        pause = max(self._cooldown, retry_after or 0.0)
        self._trips += 1
        self._state = "open"
        self._open_until = now + pause
        self._strikes.clear()
        log.warning("sustained overload: pausing all calls for %.0fs", pause)

    def _hold_back(self, retry_after: float | None) -> None:
        if retry_after:
            self._not_before = max(self._not_before, self._clock() + retry_after)

    def _refuse_outage(self, error: TransientBackendError) -> None:
        """A `retry-after` past `max_wait`: no waiting; this call and every call until
        then fail at once with an `OutageError` saying so."""
        if error.retry_after is None or error.retry_after <= self._max_wait:
            return
        self._outage_until = max(self._outage_until, self._clock() + error.retry_after)
        self._outage_message = (
            f"the server asked to wait {error.retry_after:.0f}s before the next call, longer "
            f"than a run waits ({self._max_wait:.0f}s): treated as an outage, so items "
            f"are interrupted; run again later to resume them ({error})"
        )
        log.warning("%s", self._outage_message)
        raise OutageError(self._outage_message) from None


def retry_after_from(headers: Any) -> float | None:
    """Seconds from a response's `retry-after-ms`, or `retry-after` as seconds or an HTTP
    date; None when absent or unreadable."""
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None
