"""The advice kind's reply parsers: each task's decoded reply as the value kept in state,
or `ValueError` with the reason it is unusable. The judge's blind judgement is unblinded
here, so state and records only ever speak of "draft" and "rewrite"."""

from __future__ import annotations

from typing import Any

from storyloom.backends.base import Completion
from storyloom.stories.advice import models, transcript

LOST_NOTE = "the rewrite lost the blind comparison with the first draft"


def _incomplete(completion: Completion, what: str) -> str:
    return f"the model stopped ({completion.stop_reason}) before giving a complete {what}"


def parse_situation(completion: Completion) -> dict[str, Any]:
    if not isinstance(completion.parsed, models.Situation):
        raise ValueError(_incomplete(completion, "situation"))
    return completion.parsed.model_dump()


def parse_replies(completion: Completion) -> str:
    """The replies as the write task's JSON string (the draft text of a chat kind)."""
    if not isinstance(completion.parsed, models.Replies):
        raise ValueError(_incomplete(completion, "set of replies"))
    return transcript.draft_text(completion.parsed.replies)


def parse_review(completion: Completion) -> dict[str, Any]:
    if not isinstance(completion.parsed, models.Review):
        raise ValueError(_incomplete(completion, "review"))
    return completion.parsed.model_dump(by_alias=True)


def parse_judgement(completion: Completion) -> dict[str, Any]:
    """The blind judgement unblinded: `scores` are the rewrite's (the shape every kind's
    critique has), `draft_scores` the first draft's, `winner` rewrite or draft."""
    judgement = completion.parsed
    if not isinstance(judgement, models.Judgement):
        raise ValueError(_incomplete(completion, "judgement"))
    rewrite = judgement.rewrite_label
    draft = "B" if rewrite == "A" else "A"
    entries = models.judged_criteria(judgement)
    comparison = judgement.comparison
    winner = "rewrite" if comparison.better == rewrite else "draft"
    notes = list(judgement.revision_notes)
    if winner == "draft":
        notes.insert(0, f"{LOST_NOTE}: {comparison.reasoning}")
    return {
        "scores": [
            {
                "criterion": name,
                "score": entry[rewrite.lower()],
                "evidence": entry["evidence"],
                "reasoning": entry["reasoning"],
            }
            for name, entry in entries.items()
        ],
        "draft_scores": {name: entry[draft.lower()] for name, entry in entries.items()},
        "winner": winner,
        "comparison": {"evidence": comparison.evidence, "reasoning": comparison.reasoning},
        "rewrite_label": rewrite,
        "verdict": judgement.verdict,
        "revision_notes": notes,
    }
