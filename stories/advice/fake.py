"""The advice kind's scripted replies: well-formed placeholders built from the request's
metadata alone (no backend reads prompt text), which pass every gate and the judge, with
the rewrite winning, so `--backend scripted` runs exercise the whole path."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.demo import phrase, request_rng
from storyloom.backends.scripted import Reply
from storyloom.stories.judging import Label, comparative_reply

#: The scores the placeholder judge gives: the rewrite passes, the draft is acceptable.
FAKE_REWRITE_SCORE = 5
FAKE_DRAFT_SCORE = 3


def _sentences(rng: random.Random, count: int, size: int = 11) -> str:
    return " ".join(phrase(rng, size).capitalize() + "." for _ in range(count))


def fake_situation(rng: random.Random, moves: list[str]) -> dict[str, Any]:
    return {
        "person": _sentences(rng, 1),
        "situation": _sentences(rng, 3),
        "wants": _sentences(rng, 1),
        "signoff": phrase(rng, 2).title(),
        "turns": [{"move": move, "message": _sentences(rng, 3)} for move in moves],
    }


def fake_replies(rng: random.Random, turns: int) -> dict[str, Any]:
    """About 70 words a reply: inside the length gate, no opener, label or refusal."""
    return {"replies": [_sentences(rng, 6) for _ in range(turns)]}


def fake_review(rng: random.Random, sections: list[str]) -> dict[str, Any]:
    review: dict[str, Any] = {
        "sections": [
            {
                "section": slug,
                "requires_here": _sentences(rng, 1),
                "falls_short": _sentences(rng, 1),
            }
            for slug in sections
        ]
    }
    for key in ("missed_considerations", "moralising", "sycophancy", "autonomy"):
        review[key] = [_sentences(rng, 1)]
    review["foreign_reasons"] = []
    review["keep"] = [_sentences(rng, 1)]
    return review


def fake_judgment(criteria: list[str], rewrite_label: Label) -> dict[str, Any]:
    """The rewrite (shown as `rewrite_label`) wins and passes."""
    return comparative_reply(
        {name: FAKE_REWRITE_SCORE for name in criteria},
        {name: FAKE_DRAFT_SCORE for name in criteria},
        rewrite_label,
    )


def fake_reply(request: CompletionRequest) -> Reply:
    rng = request_rng(request)
    hints: Mapping[str, Any] = request.metadata
    moves = list(hints.get("moves") or ["opening"])
    if request.purpose == "plan":
        return fake_situation(rng, moves)
    if request.purpose == "review":
        return fake_review(rng, list(hints.get("sections") or []))
    if request.purpose == "judge":
        return fake_judgment(list(hints.get("criteria") or []), hints["rewrite_label"])
    return fake_replies(rng, len(moves))
