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
    #: None: the model's default. Set only when the user asked for one.
    temperature: float | None = None
    output_schema: type[BaseModel] | None = None
    purpose: str = ""
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

    @property
    def truncated(self) -> bool:
        return self.stop_reason == "max_tokens"


class BackendError(Exception):
    """Base of every error a backend raises on purpose."""

    #: Tokens already billed for the failed request (e.g. a reply that failed validation
    #: twice): still spend, so the usage ledger books it.
    usage: Usage | None = None


class TransientBackendError(BackendError):
    """Worth retrying: rate limits, overload, server errors, timeouts, lost connections."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentBackendError(BackendError):
    """Retrying cannot help. `fatal` errors (bad key, unknown model) stop the whole run;
    the others fail only the story that hit them."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class InvalidOutputError(PermanentBackendError):
    """Structured output that did not validate, even after the backend's repair attempt."""


class Backend(ABC):
    """An LLM behind one async call. Capabilities are class attributes so callers can
    ask before they rely on them."""

    name: ClassVar[str]
    supports_structured_output: ClassVar[bool] = False
    supports_prompt_caching: ClassVar[bool] = False
    #: Whether a request may name another model than the default (`request.model`).
    supports_model_choice: ClassVar[bool] = False
    #: Whether a set `temperature` / `seed` is sent to the model (else it is refused).
    supports_temperature: ClassVar[bool] = False
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


def unsupported(backend: Backend, request: CompletionRequest) -> str | None:
    """Which parameter of `request` the backend cannot honour, or None: a parameter is
    never silently dropped."""
    name = f"the {backend.name} backend"
    if request.temperature is not None and not backend.supports_temperature:
        return f"{name} cannot set a sampling temperature; leave the temperature unset"
    if request.seed is not None and not backend.supports_seed:
        return f"{name} cannot take a sampling seed"
    if request.output_schema is not None and not backend.supports_structured_output:
        return f"{name} cannot return structured output ({request.purpose or 'a call'} needs it)"
    other_model = request.model is not None and request.model != backend.model
    if other_model and not backend.supports_model_choice:
        return f"{name} cannot send one call to another model ({request.model})"
    return None
