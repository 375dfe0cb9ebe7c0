"""Deterministic, balanced story seeds.

Each axis is drawn from a stream made of shuffled blocks, one block per pass over the
axis values, so over any prefix of a run every value appears within one of its fair
share. The shuffles are seeded by (run seed, axis, block), so story `i` always gets the
same seed however the run is split, resumed or parallelised.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass
from typing import Any

from storyloom.stories.inputs import StoryInputs


def _block_order(run_seed: int, stream: str, block: int, size: int) -> list[int]:
    digest = hashlib.sha256(f"{run_seed}/{stream}/{block}".encode()).digest()
    order = list(range(size))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order


def balanced_pick(run_seed: int, stream: str, position: int, size: int) -> int:
    """The value index at `position` of a balanced stream over `size` values."""
    block, offset = divmod(position, size)
    return _block_order(run_seed, stream, block, size)[offset]


@dataclass(frozen=True)
class StorySeed:
    index: int
    axes: dict[str, str]
    persona_name: str
    sections: tuple[str, ...]
    sampling_seed: int

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
        )


def _sections_for(run_seed: int, index: int, slugs: tuple[str, ...], count: int) -> tuple[str, ...]:
    """`count` distinct sections; the section stream stays balanced across stories."""
    chosen: list[str] = []
    position = index * count
    while len(chosen) < count:
        slug = slugs[balanced_pick(run_seed, "sections", position, len(slugs))]
        if slug not in chosen:
            chosen.append(slug)
        position += 1
    return tuple(chosen)


def make_seed(inputs: StoryInputs, run_seed: int, index: int, *, name_variants: bool) -> StorySeed:
    if index < 0:
        raise ValueError(f"story index must be >= 0, got {index}")
    axes = {
        axis: values[balanced_pick(run_seed, axis, index, len(values))]
        for axis, values in inputs.axes.values.items()
    }
    names = inputs.persona.names if name_variants else (inputs.persona.name,)
    persona_name = names[index % len(names)]
    sections = _sections_for(
        run_seed, index, inputs.constitution.slugs, inputs.axes.sections_per_story
    )
    digest = hashlib.sha256(f"{run_seed}/sample/{index}".encode()).digest()
    return StorySeed(
        index=index,
        axes=axes,
        persona_name=persona_name,
        sections=sections,
        sampling_seed=int.from_bytes(digest[:4], "big"),
    )
