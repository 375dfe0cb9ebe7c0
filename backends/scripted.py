"""A real backend that answers from a script: for tests and for smoke runs with no model.

Replies are queued in order, or produced by a function of the request. Every request
is recorded. Running out of replies raises, so a test can never pass by accident on
a call it did not expect.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from pydantic import BaseModel

from storyloom.backends.base import (
    Backend,
    BackendError,
    Completion,
    CompletionRequest,
    InvalidOutputError,
    StopReason,
    Usage,
)
from storyloom.backends.structured import ReplyDoesNotFit, parse_reply

Reply = str | dict[str, Any] | BaseModel | BackendError | Completion
Responder = Callable[[CompletionRequest], Reply]


class ScriptExhaustedError(AssertionError):
    """More calls were made than replies were scripted."""


class ScriptedBackend(Backend):
    """A stand-in for any backend: it takes every parameter (and records it in
    `requests`, so a test can assert what a real backend would be sent)."""

    name: ClassVar[str] = "scripted"
    supports_structured_output: ClassVar[bool] = True
    supports_model_choice: ClassVar[bool] = True
    supports_temperature: ClassVar[bool] = True
    supports_seed: ClassVar[bool] = True

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        model: str = "scripted-1",
        delay: float = 0.0,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        self._replies: deque[Reply] = deque(replies)
        self._responder = responder
        self._model = model
        self._delay = delay
        self.requests: list[CompletionRequest] = []

    @property
    def model(self) -> str:
        return self._model

    def queue(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    @property
    def remaining(self) -> int:
        return len(self._replies)

    async def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        if self._delay:
            await asyncio.sleep(self._delay)
        if self._replies:
            reply = self._replies.popleft()
        elif self._responder is not None:
            reply = self._responder(request)
        else:
            raise ScriptExhaustedError(
                f"scripted backend has no reply left for call {len(self.requests)} "
                f"({request.purpose or 'unnamed'})"
            )
        return self._to_completion(reply, request)

    def _to_completion(self, reply: Reply, request: CompletionRequest) -> Completion:
        if isinstance(reply, BackendError):
            raise reply
        if isinstance(reply, Completion):
            return reply
        stop: StopReason = "end_turn"
        if isinstance(reply, str):
            text, parsed = reply, None
            if request.output_schema is not None:
                parsed = _validate(request, reply)
        else:
            data = reply.model_dump() if isinstance(reply, BaseModel) else reply
            text = json.dumps(data)
            parsed = _validate(request, text) if request.output_schema else None
        usage = Usage(
            input_tokens=sum(len(m.content.split()) for m in request.messages)
            + len(request.system.split()),
            output_tokens=len(text.split()),
        )
        return Completion(
            text=text,
            model=request.model or self._model,
            usage=usage,
            stop_reason=stop,
            parsed=parsed,
        )


def _validate(request: CompletionRequest, text: str) -> BaseModel:
    """The shared validation (`structured.parse_reply`, with the request's per-item
    context); no repair turn, since a script has no model to ask again."""
    schema = request.output_schema
    assert schema is not None
    try:
        return parse_reply(schema, text, request.output_context)
    except ReplyDoesNotFit as exc:
        raise InvalidOutputError(f"scripted reply does not fit {schema.__name__}: {exc}") from exc
