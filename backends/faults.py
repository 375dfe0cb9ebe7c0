"""A Backend wrapper that injects the faults a long run meets, seeded and deterministic.

Chaos for tests and rehearsals: wrap any backend and a set fraction of calls fail in one
of the ways a real API or model fails — transient errors, permanent errors, structured
output that does not validate, empty text, absurdly long text, or a hang well past any
sane timeout. Whether a call is hit depends only on (seed, the request, how many times
that same request was made before), never on timing or call order, so a concurrent run
injects the same faults every time, and a retried call draws afresh (transient faults
clear up on retry the way real ones usually do).

    backend = FaultyBackend(demo_backend(), FaultPlan(transient=0.1, hang=0.02, seed=7))
    ...
    backend.injected  # Counter: how many of each kind were injected

From the CLI, `STORYLOOM_FAULTS="transient=0.1,permanent=0.02,seed=7"` wraps the chosen
backend (see `FaultPlan.parse`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import ClassVar, Literal

from storyloom.backends.base import (
    Backend,
    Completion,
    CompletionRequest,
    InvalidOutputError,
    PermanentBackendError,
    TransientBackendError,
)

FaultKind = Literal["transient", "permanent", "invalid_output", "empty_text", "long_text", "hang"]

#: In the order the draw's cumulative ranges are laid out.
FAULT_KINDS: tuple[FaultKind, ...] = (
    "transient",
    "permanent",
    "invalid_output",
    "empty_text",
    "long_text",
    "hang",
)


@dataclass(frozen=True)
class FaultPlan:
    """The fraction of calls hit by each kind of fault (together at most 1).

    `invalid_output` applies only to structured calls (plan, judge); `empty_text` and
    `long_text` only to text calls (write, revise): a structured call's empty or endless
    reply would not parse, which is `invalid_output` already.
    """

    transient: float = 0.0
    permanent: float = 0.0
    invalid_output: float = 0.0
    empty_text: float = 0.0
    long_text: float = 0.0
    hang: float = 0.0
    seed: int = 0
    long_text_chars: int = 200_000
    hang_seconds: float = 3600.0

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {kind} must be within 0..1, got {rate}")
        if self.total_rate > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {self.total_rate:g}, more than 1")
        if self.long_text_chars < 1:
            raise ValueError(f"long_text_chars must be >= 1, got {self.long_text_chars}")
        if self.hang_seconds <= 0:
            raise ValueError(f"hang_seconds must be > 0, got {self.hang_seconds}")

    @property
    def total_rate(self) -> float:
        return sum(getattr(self, kind) for kind in FAULT_KINDS)

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """`"transient=0.1,hang=0.02,seed=7"` -> a plan; unknown names are an error."""
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, raw = item.partition("=")
            name = name.strip()
            if name not in known or not raw.strip():
                raise ValueError(
                    f"bad fault setting {item!r}: use name=value with name one of "
                    f"{', '.join(known)}"
                )
            try:
                values[name] = int(raw) if name in ("seed", "long_text_chars") else float(raw)
            except ValueError:
                raise ValueError(f"bad fault setting {item!r}: {raw!r} is not a number") from None
        return replace(cls(), **values)

    def draw(self, key: bytes) -> FaultKind | None:
        """The fault for the call identified by `key`, or None."""
        digest = hashlib.sha256(self.seed.to_bytes(8, "big", signed=True) + key).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += getattr(self, kind)
            if point < edge:
                return kind
        return None


class FaultyBackend(Backend):
    """`inner` with faults injected per `plan`; `injected` counts what was injected."""

    name: ClassVar[str] = "faulty"

    def __init__(self, inner: Backend, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan
        self.injected: Counter[str] = Counter()
        self.calls = 0
        self._seen: Counter[bytes] = Counter()
        # Capabilities are the wrapped backend's.
        self.supports_structured_output = inner.supports_structured_output  # type: ignore[misc]
        self.supports_prompt_caching = inner.supports_prompt_caching  # type: ignore[misc]
        self.supports_model_choice = inner.supports_model_choice  # type: ignore[misc]
        self.supports_temperature = inner.supports_temperature  # type: ignore[misc]
        self.supports_seed = inner.supports_seed  # type: ignore[misc]
        self.max_parallel_calls = inner.max_parallel_calls  # type: ignore[misc]

    @property
    def model(self) -> str:
        return self.inner.model

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        identity = _identity(request)
        attempt = self._seen[identity]
        self._seen[identity] += 1
        kind = self.plan.draw(identity + attempt.to_bytes(4, "big"))
        structured = request.output_schema is not None
        if kind == "invalid_output" and not structured:
            kind = None
        if kind in ("empty_text", "long_text") and structured:
            kind = None
        if kind is None:
            return await self.inner.complete(request)
        self.injected[kind] += 1
        where = request.purpose or "call"
        if kind == "transient":
            raise TransientBackendError(f"injected transient fault in {where}")
        if kind == "permanent":
            raise PermanentBackendError(f"injected permanent fault in {where}")
        if kind == "invalid_output":
            schema = request.output_schema.__name__ if request.output_schema else "schema"
            raise InvalidOutputError(f"injected fault: {where} reply did not fit {schema}")
        if kind == "hang":
            await asyncio.sleep(self.plan.hang_seconds)
            return await self.inner.complete(request)
        completion = await self.inner.complete(request)
        if kind == "empty_text":
            return replace(completion, text="")
        return replace(completion, text=_absurdly_long(completion.text, self.plan.long_text_chars))


def _identity(request: CompletionRequest) -> bytes:
    payload = json.dumps(
        [
            request.purpose,
            request.seed,
            request.system,
            [(m.role, m.content) for m in request.messages],
        ]
    )
    return hashlib.sha256(payload.encode("utf-8")).digest()


def _absurdly_long(text: str, chars: int) -> str:
    """The reply stuck in a loop: its own text repeated far past any length band."""
    unit = (text.strip() or "and then") + "\n\n"
    return (unit * (chars // len(unit) + 1))[:chars]
