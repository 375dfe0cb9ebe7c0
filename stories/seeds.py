"""Deterministic, balanced story seeds.

Each axis is drawn from its own stream made of shuffled blocks, one block per pass over
the axis values, so over any prefix of a run every value appears within one of its fair
share. Constitution sections come from a stream of the same kind laid out so that each
story gets `sections_per_story` distinct sections and every prefix stays within one of
its fair share too (see `_sections_for`). The shuffles are seeded by (run seed, stream,
block), so story `i` always gets the same seed however the run is split, resumed or
parallelised; no seed depends on another being computed first.

With persona name variants, consecutive stories form a *group*: all variants of group
`g` share the draws of position `g` (axes, sections and sampling seed) and differ only
in the character's name, so names can be compared on identical premises.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from storyloom.stories.inputs import StoryInputs


def _stream_rng(run_seed: int, stream: str, block: int) -> random.Random:
    digest = hashlib.sha256(f"{run_seed}/{stream}/{block}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@lru_cache(maxsize=4096)
def _block_order(run_seed: int, stream: str, block: int, size: int) -> tuple[int, ...]:
    order = list(range(size))
    _stream_rng(run_seed, stream, block).shuffle(order)
    return tuple(order)


def balanced_pick(run_seed: int, stream: str, position: int, size: int) -> int:
    """The value index at `position` of a balanced stream over `size` values."""
    if size < 1:
        raise ValueError(f"a stream needs at least one value, got size {size}")
    block, offset = divmod(position, size)
    return _block_order(run_seed, stream, block, size)[offset]


@dataclass(frozen=True)
class StorySeed:
    index: int
    axes: dict[str, str]
    persona_name: str
    sections: tuple[str, ...]
    sampling_seed: int
    #: Stories of one group share every draw; they differ only in `persona_name`.
    group: int | None = field(default=None)
    #: Which name variant of the group this story is (0 is the persona's own name).
    variant: int = 0

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
            group=data.get("group", data["index"]),
            variant=data.get("variant", 0),
        )


def _sections_for(run_seed: int, group: int, slugs: tuple[str, ...], count: int) -> tuple[str, ...]:
    """`count` distinct sections for position `group`, balanced over every prefix.

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
    block, chunk = divmod(group, size)
    order = _block_order(run_seed, "sections", block, size)
    return tuple(slugs[order[(chunk * count + step) % size]] for step in range(count))


def persona_names(inputs: StoryInputs, *, name_variants: bool) -> tuple[str, ...]:
    """The names a run cycles through: the persona's own name, then its variants."""
    return inputs.persona.names if name_variants else (inputs.persona.name,)


def make_seed(inputs: StoryInputs, run_seed: int, index: int, *, name_variants: bool) -> StorySeed:
    if index < 0:
        raise ValueError(f"story index must be >= 0, got {index}")
    names = persona_names(inputs, name_variants=name_variants)
    group, variant = divmod(index, len(names))
    axes = {
        axis: values[balanced_pick(run_seed, axis, group, len(values))]
        for axis, values in inputs.axes.values.items()
    }
    sections = _sections_for(
        run_seed, group, inputs.constitution.slugs, inputs.axes.sections_per_story
    )
    digest = hashlib.sha256(f"{run_seed}/sample/{group}".encode()).digest()
    return StorySeed(
        index=index,
        axes=axes,
        persona_name=names[variant],
        sections=sections,
        sampling_seed=int.from_bytes(digest[:4], "big"),
        group=group,
        variant=variant,
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


def balanced_counts(run_seed: int, stream: str, positions: int, size: int) -> list[int]:
    """How often each value index occurs at positions 0 .. `positions` - 1 of a balanced
    stream, without drawing them: each whole block holds every value once, and the last,
    partial block holds the first values of its shuffle. O(size), whatever `positions`."""
    blocks, offset = divmod(positions, size)
    counts = [blocks] * size
    for value in _block_order(run_seed, stream, blocks, size)[:offset]:
        counts[value] += 1
    return counts


def section_counts(run_seed: int, groups: int, size: int, count: int) -> list[int]:
    """How often each section index is drawn by groups 0 .. `groups` - 1 (`count`
    sections each), without drawing them; see `_sections_for` for the layout. A whole
    block of `size` groups uses `count` whole passes over its shuffle."""
    blocks, chunks = divmod(groups, size)
    passes, extra = divmod(chunks * count, size)
    totals = [blocks * count + passes] * size
    for value in _block_order(run_seed, "sections", blocks, size)[:extra]:
        totals[value] += 1
    return totals


def premise_indices(inputs: StoryInputs, run_seed: int, start: int, stop: int) -> np.ndarray:
    """What makes the premises of positions `start` .. `stop` - 1, one row each: the
    index of every axis value, then of every section, as `make_seed` draws them but a
    block of shuffles at a time, for counting distinct premises over runs too long to
    hold."""
    columns = [
        _stream_slice(run_seed, axis, start, stop, len(values))
        for axis, values in inputs.axes.values.items()
    ]
    size, count = len(inputs.constitution.slugs), inputs.axes.sections_per_story
    first = start // size
    orders = np.array(
        [_block_order(run_seed, "sections", b, size) for b in range(first, (stop - 1) // size + 1)]
    )
    groups = np.arange(start, stop)
    rows = groups // size - first
    chunks = groups % size
    for step in range(count):
        columns.append(orders[rows, (chunks * count + step) % size])
    return np.stack(columns, axis=1)


def _stream_slice(run_seed: int, stream: str, start: int, stop: int, size: int) -> np.ndarray:
    """`balanced_pick` for positions `start` .. `stop` - 1, as one array."""
    first = start // size
    blocks = range(first, (stop - 1) // size + 1)
    picks = np.fromiter(
        itertools.chain.from_iterable(_block_order(run_seed, stream, b, size) for b in blocks),
        dtype=np.int64,
    )
    return picks[start - first * size : stop - first * size]
