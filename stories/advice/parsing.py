"""The advice kind's reply parsers: each task's decoded reply as the value kept in state,
or `ValueError` with the reason it is unusable (the judge's parser is the comparative
rubric's, `storyloom.stories.judging`)."""

from __future__ import annotations

from typing import Any

from storyloom.backends.base import Completion
from storyloom.stories.advice import models, transcript
from storyloom.stories.judging import incomplete
from storyloom.stories.kind import ItemView


def parse_situation(completion: Completion, item: ItemView) -> dict[str, Any]:
    if not isinstance(completion.parsed, models.Situation):
        raise ValueError(incomplete(completion, "situation"))
    return completion.parsed.model_dump()


def parse_replies(completion: Completion, item: ItemView) -> str:
    """The replies as the write task's JSON string (the draft text of a chat kind)."""
    if not isinstance(completion.parsed, models.Replies):
        raise ValueError(incomplete(completion, "set of replies"))
    return transcript.draft_text(completion.parsed.replies)


def parse_review(completion: Completion, item: ItemView) -> dict[str, Any]:
    """The review as kept in state: `sections: [{section, requires_here, falls_short}]`
    (every section in play, by slug, in their order), then the lists."""
    if not isinstance(completion.parsed, models.Review):
        raise ValueError(incomplete(completion, "review"))
    return completion.parsed.model_dump()
