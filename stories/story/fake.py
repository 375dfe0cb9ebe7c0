"""The story kind's scripted replies (`--backend scripted` and tests): placeholders made
from the request's metadata alone, never from prompt text."""

from __future__ import annotations

import random

from storyloom.backends.base import CompletionRequest
from storyloom.backends.demo import phrase, request_rng
from storyloom.backends.scripted import Reply
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.judging import judgment_reply, paired_reply


def placeholder_premise(rng: random.Random) -> dict[str, object]:
    return {
        "title": phrase(rng, 3).title(),
        "logline": phrase(rng, 14).capitalize() + ".",
        "situation": phrase(rng, 16).capitalize() + ".",
        "conflict": phrase(rng, 14).capitalize() + ".",
        "values_and_why": phrase(rng, 14).capitalize() + ".",
        "emotional_arc": phrase(rng, 10).capitalize() + ".",
        "beats": [phrase(rng, 8).capitalize() + "." for _ in range(4)],
    }


def placeholder_story(rng: random.Random, *, name: str, words: int) -> str:
    """Paragraphs of one named action and one italic thought, about `words` long: passes
    every deterministic gate, and no two seeds share a 5-word run by more than chance."""
    paragraphs: list[str] = []
    written = 0
    while written < words:
        sentence = phrase(rng, 11).capitalize()
        thought = phrase(rng, 7)
        paragraphs.append(f"{name} watched the {sentence}. *{thought.capitalize()}.*")
        written += 21
    return "# " + phrase(rng, 3).title() + "\n\n" + "\n\n".join(paragraphs)


def fake_reply(request: CompletionRequest) -> Reply:
    """Deterministic placeholders from the request's metadata: a premise, a story that
    passes every gate, a review, and a judgment scoring every criterion 4 (a rewrite's: both stories
    4, the rewrite preferred) (it cannot
    detect a defect; it makes smoke runs and the machinery's tests possible)."""
    rng: random.Random = request_rng(request)
    hints = request.metadata
    if request.purpose == "plan":
        return placeholder_premise(rng)
    if request.purpose == "judge":
        scores = {name: 4 for name in hints.get("criteria") or []}
        if hints.get("compared"):  # a rewrite beside the draft it would replace: it wins
            return paired_reply(scores, scores, hints.get("rewrite_label", "A"))
        return judgment_reply(scores)
    if request.purpose == "review":
        return {
            "sections": [
                {"section": name, "requires_here": "placeholder", "shortfalls": "placeholder"}
                for name in hints.get("sections") or []
            ],
            "monologue": "placeholder",
            "keep": "placeholder",
        }
    low, high = LENGTH_BANDS.get(str(hints.get("length")), (300, 500))
    return placeholder_story(
        rng, name=str(hints.get("persona_name") or "Wren"), words=(low + high) // 2
    )
