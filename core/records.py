"""The typed records of a run: one line of `corpus.jsonl`, of `rejected.jsonl`, of
`usage.jsonl`. Every writer builds them and every reader validates through them.

Records stay generic (an id, a text, a free `metadata` dict) because each corpus kind puts
its own fields in `metadata`; unknown top-level keys are kept (`extra="allow"`) so a file
written by a newer version still reads and round-trips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storyloom.core.jsonl import JsonlError

#: Where a finished item ends: a line of `corpus.jsonl` or of `rejected.jsonl`.
Outcome = Literal["emitted", "rejected"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")

    def to_line(self) -> bytes:
        """The record as one JSON line (UTF-8, newline-terminated)."""
        return (json.dumps(self.model_dump(), ensure_ascii=False) + "\n").encode("utf-8")


class CorpusRecord(_Record):
    """An accepted item: a document (`text`), or for chat kinds a conversation
    (`messages` with roles as data, optional `tools`) whose words are also in `text`."""

    id: str = Field(min_length=1)
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    messages: list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None

    def to_line(self) -> bytes:
        """Chat fields only where a kind set them, so document records keep their shape."""
        data = self.model_dump()
        for field in ("messages", "tools"):
            if data.get(field) is None:
                data.pop(field, None)
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")


class RejectedRecord(_Record):
    """A document that did not make it, with why."""

    id: str = Field(min_length=1)
    reason: str
    detail: str = ""
    findings: list[Any] = Field(default_factory=list)
    last_draft: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


#: Rejection reasons renamed since runs were first written: {former name: name}.
FORMER_REASONS = {"premise_duplicate": "plan_duplicate"}


def current_reason(reason: str) -> str:
    """A rejection reason by its current name, so an old run reports like a new one."""
    return FORMER_REASONS.get(reason, reason)


class SideRecord(_Record):
    """A line of a kind's own output file (`pairs.jsonl`, `flagged.jsonl`): an id and
    whatever the kind writes beside it. An item with several lines in one file gives each
    its own `id` and names the item in `item`."""

    id: str = Field(min_length=1)
    item: str | None = None

    @property
    def item_id(self) -> str:
        """The item this line belongs to."""
        return self.item or self.id


class UsageEntry(_Record):
    """One LLM call in the usage ledger."""

    time: float = 0.0
    #: The item's id (`story_id` since the first ledgers: existing runs keep reading).
    story_id: str
    node: str = ""
    model: str = ""
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_write_1h_tokens: int = Field(default=0, ge=0)
    #: "batch" for Message Batches calls (billed at half price), else "standard".
    service_tier: str = "standard"
    usd: float = 0.0
    #: The provider's reply id, when it gave one: a reply is booked once.
    response_id: str | None = None
    #: Requests the call sent: 2 when a repair turn followed a reply that did not fit.
    requests: int = Field(default=1, ge=1)


R = TypeVar("R", bound="_Record")


def parse_record(record_type: type[R], value: dict[str, Any], path: Path, line: int) -> R:
    """`value` as a `record_type`, or a JsonlError naming the file, line and first field."""
    try:
        return record_type.model_validate(value)
    except ValidationError as exc:
        problem = f"is not a {_kind(record_type)} ({field_problem(exc)})"
        raise JsonlError(path, line, problem) from None


def field_problem(error: ValidationError) -> str:
    """The first problem of a pydantic error as `field: message`, on one line."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{where}: {first['msg'].lower()}"


def _kind(record_type: type[_Record]) -> str:
    return {
        "CorpusRecord": "corpus record",
        "RejectedRecord": "rejected record",
        "UsageEntry": "usage entry",
        "SideRecord": "record with an id",
    }.get(record_type.__name__, record_type.__name__)
