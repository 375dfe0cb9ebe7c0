"""The typed state of one item's thread, for any corpus kind.

Lean on purpose: LangGraph writes the whole state at every step, so every text (plan,
draft, critique, review) lives once in the run's text store (`graph/texts.py`) and the
state holds its reference. The checkpoint history is still the item's provenance: each
checkpoint names the texts of that moment.
"""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

Outcome = Literal["emitted", "rejected"]
#: A reference into the text store (a content hash).
TextRef = str


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


class ItemState(TypedDict):
    item_id: str
    index: int
    draw: TextRef
    plan: TextRef | None
    plan_attempts: int
    #: Summaries of earlier plans this one came too close to.
    avoid: list[str]
    pending: PendingDraft | None
    #: Every settled draft, oldest first (a reducer: nodes append, nothing is rewritten).
    drafts: Annotated[list[DraftRecord], operator.add]
    #: Position in `drafts` of the best draft so far (None before the first).
    best: int | None
    #: Reviews by the round of the draft they reviewed.
    reviews: dict[str, TextRef]
    #: Revision rounds made (0: the first draft).
    round: int
    #: Why the last judge kept the previous best draft (the regression guard).
    guard_reasons: list[str]
    #: A revision round that failed after a draft had passed: the passing draft goes on.
    round_failed: str
    duplicate_of: str
    reject_reason: str
    reject_detail: str
    outcome: Outcome | None


def initial_state(item_id: str, index: int, draw: TextRef) -> ItemState:
    """Every field set, so nodes read `state[...]` and never guess a default."""
    return ItemState(
        item_id=item_id,
        index=index,
        draw=draw,
        plan=None,
        plan_attempts=0,
        avoid=[],
        pending=None,
        drafts=[],
        best=None,
        reviews={},
        round=0,
        guard_reasons=[],
        round_failed="",
        duplicate_of="",
        reject_reason="",
        reject_detail="",
        outcome=None,
    )
