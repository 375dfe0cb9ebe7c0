"""What the backend tests share: a backend used on an event loop of its own and closed
after, the failure one call raises, the usage the fake server billed, and a fake clock for
the throttle (no test sleeps or asserts a timing). No pytest here: the benchmarks import it
too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from storyloom.backends.base import Backend, BackendError, Completion, CompletionRequest, Usage
from storyloom.backends.throttle import ThrottledBackend

B = TypeVar("B", bound=Backend)
T = TypeVar("T")


def using(make: Callable[[], B], use: Callable[[B], Awaitable[T]]) -> T:
    """`use(backend)` on a fresh event loop, the backend made on that loop by `make` and
    closed after, whatever `use` raised."""

    async def go() -> T:
        backend = make()
        try:
            return await use(backend)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def call_once(make: Callable[[], Backend], request: CompletionRequest) -> Completion:
    """One call through a fresh backend on its own event loop."""
    return using(make, lambda backend: backend.complete(request))


def failure_of(make: Callable[[], Backend], request: CompletionRequest) -> BackendError:
    """The BackendError one call through a fresh backend raises (an AssertionError if the
    call succeeds)."""
    try:
        done = call_once(make, request)
    except BackendError as error:
        return error
    raise AssertionError(f"the call did not fail: {done!r}")


def as_usage(billed: Any) -> Usage:
    """The fake Messages API's bill (`Billed`) in the backends' own terms."""
    return Usage(
        billed.input_tokens,
        billed.output_tokens,
        billed.cache_write_tokens,
        billed.cache_read_tokens,
    )


class FakeClock:
    """A clock for the throttle that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)

    def throttle(self, inner: Backend, **options: Any) -> ThrottledBackend:
        """The throttle, with `options`, around `inner`, timing and sleeping on this clock."""
        return ThrottledBackend(inner, clock=self, sleep=self.sleep, **options)
