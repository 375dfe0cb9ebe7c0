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
from storyloom.stories.draws import balanced_pick, within_parent

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
    if index < 0:
        raise ValueError(f"item index must be >= 0, got {index}")
    taxonomy = inputs.taxonomy
    values = axis_values(taxonomy)
    drawn = {
        axis: options[balanced_pick(run_seed, f"advice/{axis}", index, len(options))]
        for axis, options in values.items()
        if axis != "person"
    }
    people = people_for(taxonomy, drawn["dilemma"])
    position = within_parent(index, len(values["dilemma"]))
    stream = f"advice/person|dilemma={drawn['dilemma']}"
    drawn["person"] = people[balanced_pick(run_seed, stream, position, len(people))]
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
