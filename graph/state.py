"""The typed state of one story thread.

Everything is plain JSON-like data (dicts, lists, strings, numbers) so checkpoints stay
readable and portable. Drafts live in state knowingly: a story is a few KB, and the
checkpoint history is the story's provenance (every draft, finding and critique).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Outcome = Literal["emitted", "rejected"]


class Draft(TypedDict):
    text: str
    findings: list[dict[str, str]]
    critique: dict[str, Any] | None
    passed: bool
    round: int


class StoryState(TypedDict, total=False):
    story_id: str
    index: int
    seed: dict[str, Any]
    premise: dict[str, Any]
    max_revisions: int
    rewrite: str
    plan_attempts: int
    premise_is_new: bool
    avoid_titles: list[str]
    draft: str
    truncated: bool
    findings: list[dict[str, str]]
    critique: dict[str, Any] | None
    revisions: int
    first_pass: bool
    best: Draft
    guard_reasons: list[str]
    round_failed: str
    duplicate_of: str
    reject_reason: str
    reject_detail: str
    outcome: Outcome
