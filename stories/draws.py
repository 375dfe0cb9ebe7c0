"""Balanced draws, shared by every kind: each dimension is a stream of shuffled blocks
(one block = one pass over the values), read at the item's position, so over any
prefix of a run every value appears within one of its fair share. Shuffles are seeded
by (run seed, stream, block): item `i` gets the same value however a run is split,
resumed or parallelised.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

#: Word-count bands (low, high) a drawn `length` dimension names.
LENGTH_BANDS = {"short": (250, 600), "medium": (500, 1100), "long": (900, 1800)}


def stream_rng(run_seed: int, stream: str, block: int) -> random.Random:
    digest = hashlib.sha256(f"{run_seed}/{stream}/{block}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@lru_cache(maxsize=4096)
def block_order(run_seed: int, stream: str, block: int, size: int) -> tuple[int, ...]:
    order = list(range(size))
    stream_rng(run_seed, stream, block).shuffle(order)
    return tuple(order)


def balanced_pick(run_seed: int, stream: str, position: int, size: int) -> int:
    """The value index at `position` of a balanced stream over `size` values."""
    if size < 1:
        raise ValueError(f"a stream needs at least one value, got size {size}")
    block, offset = divmod(position, size)
    return block_order(run_seed, stream, block, size)[offset]


def within_parent(parent_position: int, parent_size: int) -> int:
    """Where a draw made within its parent's value reads its own stream (one stream per
    parent value): how often the parent's balanced stream of `parent_size` values gave
    that value before `parent_position`, since every block holds each value once. Known
    without drawing any other item, so the child stays balanced within each parent value."""
    return parent_position // parent_size


def draw_with_child(
    run_seed: int,
    prefix: str,
    index: int,
    values: Mapping[str, Sequence[str]],
    *,
    child: str,
    parent: str,
    allowed: Callable[[str], Sequence[str]],
) -> dict[str, str]:
    """Item `index`'s value of every dimension, each on its own balanced stream
    (`<prefix>/<dimension>`), except `child`, drawn among the values `allowed` gives for
    the drawn `parent` value, on a stream per parent value: so the child is balanced
    within each parent value and never breaks a rule tied to it."""
    if index < 0:
        raise ValueError(f"item index must be >= 0, got {index}")
    drawn = {
        dimension: options[balanced_pick(run_seed, f"{prefix}/{dimension}", index, len(options))]
        for dimension, options in values.items()
        if dimension != child
    }
    options = allowed(drawn[parent])
    position = within_parent(index, len(values[parent]))
    stream = f"{prefix}/{child}|{parent}={drawn[parent]}"
    drawn[child] = options[balanced_pick(run_seed, stream, position, len(options))]
    return drawn
