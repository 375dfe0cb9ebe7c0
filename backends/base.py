"""The one seam every LLM backend implements.

Requests and completions are frozen values so a node can log, hash or replay them;
errors are split by what the caller should do about them (retry, or stop and tell
the user), never by which SDK raised them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

Role = Literal["user", "assistant"]
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "refusal", "other"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    """One LLM call.

    `shared_prefix` is the part of the system prompt identical for every call of a
    run (constitution, persona, standing instructions); backends that cache prompts
    mark it cacheable. `instructions` is the per-node rest of the system prompt.
    """

    messages: tuple[Message, ...]
    max_tokens: int
    shared_prefix: str = ""
    instructions: str = ""
    #: None: the model's own default. A set value must be honoured or refused, never
    #: dropped (see `unsupported`).
    temperature: float | None = None
    #: One model per task for the whole run: the API renders the format into the prompt
    #: ahead of the cached prefix, so a schema that changed per item would never read
    #: the cache. What varies per item is checked after the reply (`output_context`).
    output_schema: type[BaseModel] | None = None
    #: The item's requirements on the reply (e.g. the criteria in play), handed to
    #: `output_schema.model_validate(..., context=...)`; a reply that misses one gets
    #: the same repair turn as one that breaks the schema. Never sent to a model.
    output_context: Mapping[str, Any] = field(default_factory=dict)
    purpose: str = ""
    #: None: no seed is sent. Like `temperature`, a set seed is honoured or refused.
    seed: int | None = None
    #: Another model than the backend's default, for this call only (e.g. the judge's).
    model: str | None = None
    #: Plain facts about the item (its id, task, draw hints). Logged and used by fake
    #: responders; never sent to a model, and no backend reads prompt text for them.
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("a completion request needs at least one message")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be within 0..2, got {self.temperature}")

    @property
    def system(self) -> str:
        """The whole system prompt, for backends without prefix caching."""
        return "\n\n".join(part for part in (self.shared_prefix, self.instructions) if part)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    #: The part of `cache_write_tokens` written with a 1-hour TTL (priced higher).
    cache_write_1h_tokens: int = 0
    #: Billed through the Message Batches API (`service_tier == "batch"`): half price.
    batch: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            self.batch or other.batch,
        )


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    stop_reason: StopReason = "end_turn"
    parsed: BaseModel | None = None
    #: The provider's id for the reply (Anthropic's `msg_...`). A reply served again
    #: from a journal (a batch result taken by a replayed node) keeps its id, so the
    #: usage ledger books it once.
    response_id: str | None = None
    #: Requests this call sent: 2 when the reply did not fit and a repair turn followed
    #: (the usage above covers them all).
    requests: int = 1

    @property
    def truncated(self) -> bool:
        return self.stop_reason == "max_tokens"


class BackendError(Exception):
    """Base of every error a backend raises on purpose."""

    #: Tokens already billed for the failed request (e.g. a reply that failed validation
    #: twice): still spend, so the usage ledger books it.
    usage: Usage | None = None
    #: Requests sent before the error (a repair turn is a second one).
    requests: int = 1


class TransientBackendError(BackendError):
    """Worth retrying: rate limits, overload, server errors, timeouts, lost connections."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentBackendError(BackendError):
    """Retrying cannot help. `fatal` errors (bad key, unknown model) stop the whole run;
    the others fail only the item that hit them."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class InvalidOutputError(PermanentBackendError):
    """Structured output that did not validate, even after the backend's repair attempt."""


class AwaitingBatch(Exception):
    """The call's request waits for a Message Batch (`generate --batch`). Raised out of
    the node on purpose: the runner lets go of the item's graph run, so an item waiting
    hours for a batch holds no LangGraph step in memory, and runs the node again from its
    checkpoint once `answered` is done; the node's call then finds its answer. Not a
    `BackendError`: nothing failed, nothing is retried or booked."""

    def __init__(self, key: str, answered: Any) -> None:
        super().__init__(f"waiting for batch request {key[:16]}")
        self.key = key
        #: An `asyncio.Future` done when the request is answered (or must be asked again).
        self.answered = answered


class Backend(ABC):
    """An LLM behind one async call. Capabilities are class attributes so callers can
    ask before they rely on them (`unsupported` does the asking for a request)."""

    name: ClassVar[str]
    supports_structured_output: ClassVar[bool] = False
    supports_prompt_caching: ClassVar[bool] = False
    #: Whether a request may name another model than the default (`request.model`).
    supports_model_choice: ClassVar[bool] = False
    #: Whether a set `request.temperature` reaches the model.
    supports_temperature: ClassVar[bool] = False
    #: Whether a set `request.seed` reaches the model.
    supports_seed: ClassVar[bool] = False
    #: How many calls may usefully run at once (a local model runs one at a time).
    max_parallel_calls: ClassVar[int] = 64

    @property
    @abstractmethod
    def model(self) -> str:
        """The model name recorded in the usage ledger and run config."""

    @abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections or model memory."""

    async def check_configuration(self) -> None:  # noqa: B027 - optional hook
        """Before the first item: raise a fatal `PermanentBackendError` with one plain
        line naming the variable or option to fix when the configuration cannot work
        (a malformed URL or key, an address nothing answers at). Costs no tokens."""

    def held_for(self) -> float:
        """Seconds before the next call may start because the server asked for a wait
        (`retry-after`), for the progress display; 0.0 when calls may go now."""
        return 0.0

    def stop_waiting(self) -> None:  # noqa: B027 - optional hook, most backends never wait
        """A graceful stop: end any wait at once and start no new call (calls in flight
        finish). Backends that hold calls back (throttle, batches) override it."""


#: The flags a wrapper (throttle, faults) takes over from the backend it wraps.
CAPABILITY_FLAGS = (
    "supports_structured_output",
    "supports_prompt_caching",
    "supports_model_choice",
    "supports_temperature",
    "supports_seed",
    "max_parallel_calls",
)


def copy_capabilities(wrapper: Backend, inner: Backend) -> None:
    """Give `wrapper` the capabilities of the backend it wraps (instance attributes
    shadow the class defaults), so asking the wrapper is asking the real backend."""
    for flag in CAPABILITY_FLAGS:
        setattr(wrapper, flag, getattr(inner, flag))


def unsupported(backend: Backend, request: CompletionRequest) -> str | None:
    """What in `request` the backend cannot honour, as one line; None when it can do all.

    Checked before a call so a set parameter is refused rather than silently dropped.
    """
    problems: list[str] = []
    if request.temperature is not None and not backend.supports_temperature:
        problems.append(f"a temperature ({request.temperature:g})")
    if request.seed is not None and not backend.supports_seed:
        problems.append(f"a sampling seed ({request.seed})")
    if request.output_schema is not None and not backend.supports_structured_output:
        problems.append(f"structured output ({request.output_schema.__name__})")
    if (
        request.model is not None
        and request.model != backend.model
        and not backend.supports_model_choice
    ):
        problems.append(f"another model than {backend.model!r} ({request.model!r})")
    if not problems:
        return None
    what = request.purpose or "a call"
    return f"{what} asks for {' and '.join(problems)}, which the {backend.name} backend cannot set"
