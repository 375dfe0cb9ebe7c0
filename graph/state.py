"""The typed state of one item's thread, for any corpus kind.

Lean on purpose: LangGraph writes the whole state at every step, so every text (plan,
draft, critique, review) lives once in the run's text store (`graph/texts.py`) and the
state holds its reference. The checkpoint history is still the item's provenance: each
checkpoint names the texts of that moment.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict, TypeVar

from langgraph.channels.last_value import LastValue

#: A reference into the text store (a content hash).
TextRef = str
T = TypeVar("T")


class ItemInput(TypedDict):
    """What a thread is started with: the rest is derived from it and the run."""

    item_id: str
    index: int


class Finding(TypedDict):
    kind: str
    message: str


class PendingDraft(TypedDict):
    """The draft just written, on its way through the gates and the judge."""

    text: TextRef
    round: int
    truncated: bool
    findings: list[Finding]


class DraftRecord(TypedDict):
    """A settled draft: what the gates and the judge said of it."""

    text: TextRef
    round: int
    truncated: bool
    findings: list[Finding]
    critique: TextRef | None
    passed: bool
    #: The review written about this draft before it was revised.
    review: TextRef | None


class StartsEmpty(LastValue[Any]):
    """A plain field (the last value written wins) that starts at its type's empty value
    ("", 0, [], {}), so a node writes only what it changes: every field is always
    readable, and a checkpoint step stores a few writes, not the whole state. (A reducer
    would do the same, at several times the cost of creating the channel at every step.)"""

    __slots__ = ()

    def __init__(self, typ: Any, key: str = "") -> None:
        super().__init__(typ, key)
        self.value = typ()


def empty(typ: type[T]) -> StartsEmpty:
    return StartsEmpty(typ)


class ItemState(TypedDict):
    item_id: str
    index: int
    draw: Annotated[TextRef, empty(str)]
    #: "" until a plan is accepted (and again while a too-close plan is redone).
    plan: Annotated[TextRef, empty(str)]
    plan_attempts: Annotated[int, empty(int)]
    #: Summaries of earlier plans this one came too close to.
    avoid: Annotated[list[str], empty(list)]
    #: The draft on its way through the gates and the judge ({} when none).
    pending: Annotated[PendingDraft, empty(dict)]
    #: Every settled draft, oldest first (nodes append; nothing is rewritten).
    drafts: Annotated[list[DraftRecord], operator.add]
    #: Position in `drafts` of the best draft (meaningful once `drafts` is not empty).
    best: Annotated[int, empty(int)]
    #: Reviews by the round of the draft they reviewed.
    reviews: Annotated[dict[str, TextRef], empty(dict)]
    #: Revision rounds made (0: the first draft).
    round: Annotated[int, empty(int)]
    #: Why the last judge kept the previous best draft (the regression guard).
    guard_reasons: Annotated[list[str], empty(list)]
    #: A revision round that failed after a draft had passed: the passing draft goes on.
    round_failed: Annotated[str, empty(str)]
    duplicate_of: Annotated[str, empty(str)]
    reject_reason: Annotated[str, empty(str)]
    reject_detail: Annotated[str, empty(str)]
    #: "" until the item is emitted or rejected.
    outcome: Annotated[str, empty(str)]
