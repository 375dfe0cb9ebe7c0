"""Balanced draws for advice transcripts.

Every dimension is its own balanced stream (`balanced_pick`: shuffled blocks, so over any
prefix of a run each value is within one of its fair share), except the person: it is
drawn within the dilemma, among the people whose description does not contradict it
(`never_with` in the taxonomy), from a stream per dilemma, so it is balanced within each
dilemma (`within_parent`). The constitution sections
are not drawn: they are the ones the drawn dilemma engages, from the taxonomy's mapping.
Which label (A or B) the rewrite gets in the judge's blind comparison is balanced too,
so a judge's position bias cannot masquerade as the rewrite's win rate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from storyloom.stories.advice.inputs import AdviceInputs, Taxonomy
from storyloom.stories.draws import balanced_pick, draw_with_child

#: The balanced dimensions, as they appear under `draw["axes"]` and in `storyloom plan`.
AXES = ("dilemma", "person", "inclination", "ask", "turns", "followup")
OPENING = "opening"
LABELS = ("A", "B")


def axis_values(taxonomy: Taxonomy) -> dict[str, tuple[str, ...]]:
    return {
        "dilemma": tuple(d.id for d in taxonomy.dilemmas),
        "person": tuple(p.who for p in taxonomy.people),
        "inclination": tuple(taxonomy.inclinations),
        "ask": tuple(taxonomy.asks),
        "turns": tuple(str(n) for n in taxonomy.turns),
        "followup": tuple(taxonomy.followups),
    }


def moves(taxonomy: Taxonomy, turns: int, first_followup: str) -> list[str]:
    """What each user message does: the opening, then the follow-ups in turn, starting
    at the drawn one (so a four-turn transcript has each kind of follow-up once)."""
    kinds = list(taxonomy.followups)
    start = kinds.index(first_followup)
    return [OPENING, *(kinds[(start + step) % len(kinds)] for step in range(turns - 1))]


def people_for(taxonomy: Taxonomy, dilemma_id: str) -> tuple[str, ...]:
    """The people a draw with `dilemma_id` may give it to (in file order)."""
    return tuple(p.who for p in taxonomy.people if dilemma_id not in p.never_with)


def allowed_values(taxonomy: Taxonomy, dimension: str, axes: Mapping[str, Any]) -> tuple[str, ...]:
    """The values `dimension` could take in a draw with `axes`."""
    if dimension == "person":
        return people_for(taxonomy, str(axes["dilemma"]))
    return axis_values(taxonomy)[dimension]


def make_draw(inputs: AdviceInputs, run_seed: int, index: int) -> dict[str, Any]:
    taxonomy = inputs.taxonomy
    drawn = draw_with_child(
        run_seed,
        "advice",
        index,
        axis_values(taxonomy),
        child="person",
        parent="dilemma",
        allowed=lambda dilemma: people_for(taxonomy, dilemma),
    )
    axes = {axis: drawn[axis] for axis in AXES}
    dilemma = taxonomy.dilemma(axes["dilemma"])
    digest = hashlib.sha256(f"{run_seed}/advice/sample/{index}".encode()).digest()
    return {
        "index": index,
        "axes": axes,
        "sections": list(dilemma.sections),
        "domain": dilemma.domain,
        "mirrors_ai": dilemma.mirrors_ai,
        "moves": moves(taxonomy, int(axes["turns"]), axes["followup"]),
        "rewrite_label": LABELS[balanced_pick(run_seed, "advice/rewrite-label", index, 2)],
        "sampling_seed": int.from_bytes(digest[:4], "big"),
    }
