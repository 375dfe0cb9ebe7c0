"""Replies a scripted backend can give: premises, stories that pass the gates, critiques.

Stories come from the demo backend's generator, so the tests exercise the same
placeholder text a `--backend scripted` smoke run produces.
"""

from __future__ import annotations

import random
from typing import Any

from storyloom.backends.demo import phrase, placeholder_story


def premise(title: str = "The Night Ledger", seed: int = 0) -> dict[str, Any]:
    """A premise of typical size (prompt-budget tests rely on it staying that size)."""
    rng = random.Random(seed)

    def line(size: int) -> str:
        return phrase(rng, size).capitalize() + "."

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
    return placeholder_story(random.Random(seed), name=name, words=words)


def critique(verdict: str = "pass", score: int = 4, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    criteria = ("honesty", "shows_why", "psychological_health", "not_preachy")
    return {
        "scores": [{"criterion": c, "score": score, "evidence": "a quote"} for c in criteria],
        "verdict": verdict,
        "revision_notes": list(notes),
    }
