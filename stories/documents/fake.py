"""Replies for the scripted backend, from a request's metadata alone (no prompt text):
ideas, a document of the drawn type and length that passes every gate, a passing
judgment, and extracted claims. Deterministic nonsense, never training data."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.demo import phrase, request_rng
from storyloom.backends.scripted import Reply
from storyloom.stories.documents.models import CRITERIA
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.judging import judgment_reply

_SPEAKERS = ("Maren", "Tobias")


def _sentence(rng: random.Random, size: int) -> str:
    return phrase(rng, size).capitalize() + "."


def fake_ideas(rng: random.Random) -> dict[str, Any]:
    ideas = [
        {"title": phrase(rng, 4).title(), "idea": " ".join(_sentence(rng, 12) for _ in range(2))}
        for _ in range(3)
    ]
    return {
        "unsuitable": "",
        "ideas": ideas,
        "chosen": rng.randrange(len(ideas)),
        "outline": [_sentence(rng, 8) for _ in range(5)],
    }


def fake_document(rng: random.Random, hints: Mapping[str, Any]) -> str:
    """Paragraphs of about the band's middle length; labelled turns where the type has
    speakers, so the speaker-label gate sees a real dialogue there."""
    low, high = LENGTH_BANDS.get(str(hints.get("length")), (300, 500))
    target = (low + high) // 2
    name = str(hints.get("identity_name") or "Wren")
    speakers = bool(hints.get("speaker_labels"))
    paragraphs: list[str] = []
    written = 0
    while written < target:
        body = f"{name} {_sentence(rng, 10).lower()} {_sentence(rng, 12)}"
        if speakers:
            body = f"{_SPEAKERS[len(paragraphs) % 2]}: {body}"
        paragraphs.append(body)
        written += 24
    return f"# {phrase(rng, 4).title()}\n\n" + "\n\n".join(paragraphs)


def fake_judgment(rng: random.Random, hints: Mapping[str, Any]) -> dict[str, Any]:
    """Every criterion in play (the request's `criteria`) scored 4, one consistent claim."""
    name = str(hints.get("identity_name") or "Wren")
    claim = {
        "statement": f"{name} {phrase(rng, 6)}",
        "section_text": phrase(rng, 8),
        "consistent": True,
        "why": "placeholder",
    }
    criteria = hints.get("criteria") or list(CRITERIA)
    return judgment_reply({criterion: 4 for criterion in criteria}, claims_made=[claim])


def fake_claims(rng: random.Random) -> dict[str, Any]:
    return {
        "claims": [
            {
                "claim": _sentence(rng, 10),
                "reason": _sentence(rng, 12),
                "hard_case": _sentence(rng, 12),
            }
            for _ in range(6)
        ]
    }


def fake_reply(request: CompletionRequest) -> Reply:
    rng = request_rng(request)
    hints = request.metadata
    if request.purpose == "plan":
        return fake_ideas(rng)
    if request.purpose == "judge":
        return fake_judgment(rng, hints)
    if request.purpose == "extract":
        return fake_claims(rng)
    return fake_document(rng, hints)
