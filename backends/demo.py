"""`--backend scripted` from the CLI: a scripted backend whose responder writes
well-formed placeholder premises, stories and passing critiques.

It exercises the whole pipeline (checkpoints, resume, dedupe, outputs) in seconds with
no model, which is what smoke runs and the kill-and-resume tests need. The text is
deterministic nonsense built from the request, never training data.
`STORYLOOM_SCRIPTED_DELAY` (seconds) slows every call, to widen the window a test can
kill the process in.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply, Responder, ScriptedBackend

_WORDS = tuple(
    (
        "lantern harbour quiet ledger morning signal river copper window promise archive "
        "static orchard careful patient station winter thread compass ember meadow glass "
        "letter anchor breath kettle rooftop current valley canvas shelter marble echo "
        "whistle garden bridge candle pocket mirror harvest timber velvet thunder pebble "
        "feather island cobalt saffron hollow summit engine needle basket pillow crimson"
    ).split()
)


def request_rng(request: CompletionRequest) -> random.Random:
    """Randomness seeded by the request, so a replayed call gets the same reply."""
    key = json.dumps([request.purpose, request.seed, [m.content for m in request.messages]])
    return random.Random(hashlib.sha256(key.encode()).digest())


def phrase(rng: random.Random, size: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(size))


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


def _story(rng: random.Random, request: CompletionRequest) -> str:
    prompt = request.messages[-1].content
    name_match = re.search(r"called (\w+)", prompt)
    band = re.search(r"Length: (\d+) to (\d+) words", prompt)
    target = (int(band.group(1)) + int(band.group(2))) // 2 if band else 400
    return placeholder_story(rng, name=name_match.group(1) if name_match else "Wren", words=target)


def _critique(request: CompletionRequest) -> dict[str, object]:
    sections = re.findall(r"^## (.+)$", request.messages[-1].content, re.MULTILINE)
    criteria = [*sections, "shows_why", "psychological_health", "not_preachy"]
    return {
        "scores": [{"criterion": c, "score": 4, "evidence": "placeholder"} for c in criteria],
        "verdict": "pass",
        "revision_notes": [],
    }


def demo_reply(request: CompletionRequest) -> Reply:
    rng = request_rng(request)
    if request.purpose == "plan":
        return placeholder_premise(rng)
    if request.purpose == "judge":
        return _critique(request)
    return _story(rng, request)


def demo_backend(responder: Responder | None = None) -> ScriptedBackend:
    delay = float(os.environ.get("STORYLOOM_SCRIPTED_DELAY", "0") or 0)
    return ScriptedBackend(responder=responder or demo_reply, model="scripted-demo", delay=delay)
