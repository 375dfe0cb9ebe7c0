"""Deterministic, balanced story seeds.

Each axis is drawn from its own stream made of shuffled blocks, one block per pass over
the axis values, so over any prefix of a run every value appears within one of its fair
share. The shuffles are seeded by (run seed, stream, block), so story `i` always gets
the same seed however the run is split, resumed or parallelised; no seed depends on
another being computed first.

Some draws depend on others, and stay balanced *within* each value of what they depend on:
- an axis with `never_together` pairs is drawn after the axes they name (its chain,
  e.g. the act after the dilemma, who faces it after both), among the values those
  drawn values allow, from a stream of its own per combination of the chain's values;
- the constitution sections are drawn from the sections the drawn dilemma engages
  (`dilemma_sections`), from a stream per dilemma laid out so each story gets
  `sections_per_story` distinct sections (see `_sections_for`).
Each such stream is indexed by the parent value's occurrence count, which is simply
`position // size` of the stream the parent was read from, because every block of a
balanced stream holds each of its values exactly once; so it is known for a chain of
any depth without drawing any other story. Without a mapping, sections come from one
stream over all sections.

Each group also draws the label (A or B) its rewrite is shown under when the judge sees
it blind beside the draft it would replace, balanced like an axis so neither position is
favoured.

With persona name variants, consecutive stories form a *group*: all variants of group
`g` share the draws of position `g` (axes, sections and sampling seed) and differ only
in the character's name, so names can be compared on identical premises.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from storyloom.stories.draws import balanced_pick, block_order, within_parent
from storyloom.stories.story.inputs import StoryInputs

#: The blind labels of a rewrite's judgment.
LABELS = ("A", "B")


@dataclass(frozen=True)
class StorySeed:
    index: int
    axes: dict[str, str]
    persona_name: str
    sections: tuple[str, ...]
    sampling_seed: int
    #: The setting is one where the AI acts as an agent with tools and permissions.
    agentic: bool = False
    #: Stories of one group share every draw; they differ only in `persona_name`.
    group: int | None = field(default=None)
    #: Which name variant of the group this story is (0 is the persona's own name).
    variant: int = 0
    #: The label a rewrite is shown under beside the draft it would replace (balanced).
    rewrite_label: str = "A"

    def __post_init__(self) -> None:
        if self.group is None:
            object.__setattr__(self, "group", self.index)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sections"] = list(self.sections)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StorySeed:
        return cls(
            index=data["index"],
            axes=dict(data["axes"]),
            persona_name=data["persona_name"],
            sections=tuple(data["sections"]),
            sampling_seed=data["sampling_seed"],
            agentic=bool(data.get("agentic", False)),
            group=data.get("group", data["index"]),
            variant=data.get("variant", 0),
            rewrite_label=data.get("rewrite_label", "A"),
        )


def _sections_for(
    run_seed: int, position: int, slugs: tuple[str, ...], count: int, stream: str = "sections"
) -> tuple[str, ...]:
    """`count` distinct sections for `position` of `stream`, balanced over every prefix.

    The section stream is the run's permutations of the S sections, each repeated
    `count` times, cut into consecutive chunks of `count`. A chunk is `count` cyclically
    consecutive entries of one permutation, so its sections are distinct (count <= S);
    S chunks use up exactly `count` copies of one permutation, so chunks never straddle
    two permutations; and because the stream is a sequence of whole passes over the
    sections, every section's count over any prefix is within one of its fair share.
    """
    size = len(slugs)
    if not 1 <= count <= size:
        raise ValueError(f"cannot pick {count} distinct sections out of {size}")
    block, chunk = divmod(position, size)
    order = block_order(run_seed, stream, block, size)
    return tuple(slugs[order[(chunk * count + step) % size]] for step in range(count))


def section_candidates(inputs: StoryInputs, dilemma: str) -> tuple[str, ...]:
    """The sections a story with `dilemma` draws from: the ones the dilemma engages, or
    every section when the axes map none for it."""
    return inputs.axes.dilemma_sections.get(dilemma) or inputs.constitution.slugs


def allowed_values(inputs: StoryInputs, axis: str, drawn: dict[str, str]) -> tuple[str, ...]:
    """The values of `axis` a draw may take given the other values `drawn` (every value,
    unless a `never_together` rule rules some out)."""
    values = inputs.axes.values[axis]
    excluded: set[str] = set()
    for rule in inputs.axes.never_together:
        if rule.axis == axis and drawn.get(rule.parent) in rule.parent_values:
            excluded.update(rule.values)
    return tuple(value for value in values if value not in excluded)


def _draw_axes(inputs: StoryInputs, run_seed: int, group: int) -> dict[str, str]:
    values = inputs.axes.values
    chains = inputs.axes.chains
    drawn: dict[str, str] = {}
    #: Each drawn axis's (position, size) in the stream it was read from.
    place: dict[str, tuple[int, int]] = {}
    for axis, options in values.items():
        if axis not in chains:
            drawn[axis] = options[balanced_pick(run_seed, axis, group, len(options))]
            place[axis] = (group, len(options))
    for axis, chain in chains.items():
        allowed = allowed_values(inputs, axis, drawn)
        parent_position, parent_size = place[chain[-1]]
        occurrence = within_parent(parent_position, parent_size)
        stream = axis + "".join(f"|{name}={drawn[name]}" for name in chain)
        drawn[axis] = allowed[balanced_pick(run_seed, stream, occurrence, len(allowed))]
        place[axis] = (occurrence, len(allowed))
    return {axis: drawn[axis] for axis in values}


def _draw_sections(inputs: StoryInputs, run_seed: int, group: int, dilemma: str) -> tuple[str, ...]:
    count = inputs.axes.sections_per_story
    if not inputs.axes.dilemma_sections:
        return _sections_for(run_seed, group, inputs.constitution.slugs, count)
    occurrence = within_parent(group, len(inputs.axes.values["dilemma"]))
    candidates = section_candidates(inputs, dilemma)
    return _sections_for(run_seed, occurrence, candidates, count, f"sections|{dilemma}")


def persona_names(inputs: StoryInputs, *, name_variants: bool) -> tuple[str, ...]:
    """The names a run cycles through: the persona's own name, then its variants."""
    return inputs.persona.names if name_variants else (inputs.persona.name,)


def make_seed(inputs: StoryInputs, run_seed: int, index: int, *, name_variants: bool) -> StorySeed:
    if index < 0:
        raise ValueError(f"story index must be >= 0, got {index}")
    names = persona_names(inputs, name_variants=name_variants)
    group, variant = divmod(index, len(names))
    axes = _draw_axes(inputs, run_seed, group)
    sections = _draw_sections(inputs, run_seed, group, axes["dilemma"])
    digest = hashlib.sha256(f"{run_seed}/sample/{group}".encode()).digest()
    return StorySeed(
        index=index,
        axes=axes,
        persona_name=names[variant],
        sections=sections,
        sampling_seed=int.from_bytes(digest[:4], "big"),
        agentic=axes["setting"] in inputs.axes.agentic,
        group=group,
        variant=variant,
        rewrite_label=LABELS[balanced_pick(run_seed, "rewrite-label", group, len(LABELS))],
    )


def plan_seeds(
    inputs: StoryInputs, run_seed: int, count: int, *, name_variants: bool, start: int = 0
) -> list[StorySeed]:
    """Seeds for stories `start` .. `start + count - 1`, exactly as a run derives them."""
    if count < 0 or start < 0:
        raise ValueError(f"count and start must be >= 0, got {count} and {start}")
    return [
        make_seed(inputs, run_seed, index, name_variants=name_variants)
        for index in range(start, start + count)
    ]
