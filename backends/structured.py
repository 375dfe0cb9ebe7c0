"""Validate-and-repair of structured output, written once for every backend.

A backend that was asked for an object (`request.output_schema`) gets a reply that may
not fit: broken JSON, a missing field, a score out of range. Every backend handles it
the same way: the reply is validated with the pydantic model itself (servers and SDKs
enforce only part of a JSON schema, or none), and a reply that does not fit is sent
back once with what was wrong (one repair turn, one prompt wording). A second failure
is an `InvalidOutputError` carrying every token billed on the way, so the usage
ledger still matches the provider's bill. A reply cut by `max_tokens` that does not
parse gets the same repair turn, saying it was cut and asking for the whole object
within the budget (budgets cover the largest reply a schema allows, so a cut reply is
a model running long, not a reply that cannot fit); if the repair is cut too, it is
returned unparsed for the workflow to reject as truncated. A refusal is returned as it
is: a repair cannot help.

Backends differ only in how they ask (their message format, the repair turn's shape),
so each passes an `attempt(repair)` function; `repair` is None for the first call.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from storyloom.backends.base import (
    BackendError,
    Completion,
    CompletionRequest,
    InvalidOutputError,
    Usage,
)

log = logging.getLogger(__name__)


class ReplyDoesNotFit(ValueError):
    """The reply is not JSON, or not an object of the schema; the message says why."""


@dataclass(frozen=True)
class Repair:
    """The reply that did not fit, and the one prompt that asks for it again."""

    reply: Completion
    problem: str
    #: The reply stopped at this many tokens (`max_tokens`) before the object closed.
    cut_at: int | None = None

    @property
    def prompt(self) -> str:
        if self.cut_at is not None:
            return (
                f"That reply was cut off at the length limit of {self.cut_at} tokens before "
                "the JSON object was complete. Answer again with only the whole JSON object, "
                f"written more briefly so that all of it fits well within {self.cut_at} tokens."
            )
        return (
            f"That reply does not fit the required schema: {self.problem}. "
            "Answer again with only the corrected JSON object."
        )


Attempt = Callable[[Repair | None], Awaitable[Completion]]
M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"^```[A-Za-z]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


def parse_reply(schema: type[M], text: str, context: Mapping[str, Any] | None = None) -> M:
    """`text` as an instance of `schema`, or `ReplyDoesNotFit` saying what is wrong.

    Lenient about the wrapping only: a Markdown code fence, prose around one object,
    and raw newlines inside strings (llama.cpp's grammar lets them through) are
    accepted; the object itself must validate.
    """
    data = _json_object(text.strip())
    try:
        return schema.model_validate(data, context=dict(context) if context else None)
    except ValidationError as exc:
        raise ReplyDoesNotFit(describe(exc)) from None


def describe(exc: ValidationError, limit: int = 8) -> str:
    """Pydantic's errors as one short line: `field: message; ...`."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _json_object(text: str) -> object:
    if not text:
        raise ReplyDoesNotFit("the reply is empty")
    if fenced := _FENCE.match(text):
        text = fenced.group(1).strip()
    try:
        return json.loads(text, strict=False)
    except ValueError as first:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1], strict=False)
            except ValueError:
                pass
        raise ReplyDoesNotFit(f"not valid JSON ({first})") from None


async def complete_validated(
    request: CompletionRequest, attempt: Attempt, *, repairs: int = 1
) -> Completion:
    """Ask with `attempt`, validate against the request's schema and per-item context,
    ask again for a repair up to `repairs` times (a reply cut at `max_tokens` included).

    The returned completion carries `parsed` and the usage of every attempt; errors
    (the backend's own, or the final `InvalidOutputError`) carry it as `error.usage`.
    """
    schema, purpose = request.output_schema, request.purpose
    assert schema is not None, "complete_validated needs a request with an output_schema"
    billed = Usage()
    repair: Repair | None = None
    for sent in range(1, repairs + 2):
        try:
            reply = await attempt(repair)
        except BackendError as error:
            raise _with_usage(error, billed, sent) from None
        billed += reply.usage
        if reply.stop_reason == "refusal":  # the workflow handles it; a repair cannot help
            return replace(reply, usage=billed, requests=sent)
        try:
            parsed = parse_reply(schema, reply.text, request.output_context)
        except ReplyDoesNotFit as problem:
            cut_at = request.max_tokens if reply.truncated else None
            repair = Repair(reply, str(problem), cut_at)
            log.info("%s: reply did not fit %s (%s)", purpose or "call", schema.__name__, problem)
            continue
        return replace(reply, usage=billed, parsed=parsed, requests=sent)
    assert repair is not None
    if repair.cut_at is not None:  # cut again: the workflow rejects it as truncated
        return replace(repair.reply, usage=billed, requests=repairs + 1)
    raise _with_usage(
        InvalidOutputError(
            f"{purpose or 'structured call'}: the reply did not fit {schema.__name__} "
            f"even after {repairs} repair attempt{'s' if repairs != 1 else ''}: {repair.problem}"
        ),
        billed,
        repairs + 1,
    )


def _with_usage(error: BackendError, billed: Usage, sent: int) -> BackendError:
    """Attach what was billed before the error, and the requests sent, for the ledger."""
    if billed != Usage() or error.usage is None:
        error.usage = billed + (error.usage or Usage())
    error.requests = sent
    return error
