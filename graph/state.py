"""The typed state of one item's thread, for any corpus kind.

Lean on purpose: LangGraph writes the whole state at every step, so every text (plan,
draft, critique, review) lives once in the run's text store (`graph/texts.py`) and the
state holds its reference. The checkpoint history is still the item's provenance: each
checkpoint names the texts of that moment.
"""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict, TypeVar

Outcome = Literal["emitted", "rejected"]
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


def replace(old: T, new: T) -> T:
    """The newest value wins (like a plain field), but the field starts at its type's
    empty value ("", 0, [], {}), so a node writes only what it changes: every field is
    always readable, and a checkpoint step stores a few writes, not the whole state."""
    return new


class ItemState(TypedDict):
    item_id: str
    index: int
    draw: Annotated[TextRef, replace]
    #: "" until a plan is accepted (and again while a too-close plan is redone).
    plan: Annotated[TextRef, replace]
    plan_attempts: Annotated[int, replace]
    #: Summaries of earlier plans this one came too close to.
    avoid: Annotated[list[str], replace]
    #: The draft on its way through the gates and the judge ({} when none).
    pending: Annotated[PendingDraft, replace]
    #: Every settled draft, oldest first (nodes append; nothing is rewritten).
    drafts: Annotated[list[DraftRecord], operator.add]
    #: Position in `drafts` of the best draft (meaningful once `drafts` is not empty).
    best: Annotated[int, replace]
    #: Reviews by the round of the draft they reviewed.
    reviews: Annotated[dict[str, TextRef], replace]
    #: Revision rounds made (0: the first draft).
    round: Annotated[int, replace]
    #: Why the last judge kept the previous best draft (the regression guard).
    guard_reasons: Annotated[list[str], replace]
    #: A revision round that failed after a draft had passed: the passing draft goes on.
    round_failed: Annotated[str, replace]
    duplicate_of: Annotated[str, replace]
    reject_reason: Annotated[str, replace]
    reject_detail: Annotated[str, replace]
    #: "" until the item is emitted or rejected.
    outcome: Annotated[str, replace]
