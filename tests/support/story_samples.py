"""Replies a scripted backend can give: premises, stories that pass the gates, critiques."""

from __future__ import annotations

import random
from typing import Any

_WORDS = [
    "lantern",
    "harbour",
    "quiet",
    "ledger",
    "morning",
    "signal",
    "river",
    "copper",
    "window",
    "promise",
    "archive",
    "static",
    "orchard",
    "careful",
    "patient",
    "station",
    "winter",
    "thread",
    "compass",
    "ember",
    "meadow",
    "glass",
    "letter",
    "anchor",
    "breath",
    "kettle",
    "rooftop",
    "current",
    "valley",
    "canvas",
    "shelter",
    "marble",
    "echo",
    "whistle",
    "garden",
    "bridge",
    "candle",
    "pocket",
    "mirror",
    "harvest",
    "timber",
    "velvet",
    "thunder",
    "pebble",
    "feather",
    "island",
    "cobalt",
    "saffron",
]


def premise(title: str = "The Night Ledger", seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)

    def line(size: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(size)).capitalize() + "."

    return {
        "title": title,
        "logline": line(12),
        "situation": line(14),
        "conflict": line(12),
        "values_and_why": line(12),
        "emotional_arc": line(8),
        "beats": [line(6) for _ in range(4)],
    }


def story(seed: int = 0, *, name: str = "Wren", words: int = 420) -> str:
    """A story that passes the deterministic gates: in the short band, named, with
    interior thought in italics, no repetition, a clean ending."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    written = 0
    while written < words:
        action = " ".join(rng.choice(_WORDS) for _ in range(11))
        thought = " ".join(rng.choice(_WORDS) for _ in range(7))
        paragraphs.append(f"{name} watched the {action}. *{thought.capitalize()}.*")
        written += 21
    return "# A Quiet Ledger\n\n" + "\n\n".join(paragraphs)


def critique(verdict: str = "pass", score: int = 4, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    criteria = ("honesty", "shows_why", "psychological_health", "not_preachy")
    return {
        "scores": [{"criterion": c, "score": score, "evidence": "a quote"} for c in criteria],
        "verdict": verdict,
        "revision_notes": list(notes),
    }
