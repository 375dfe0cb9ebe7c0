"""Balanced draws of the deployment context each example is wrapped in.

An example's context is an operator profile, 0-12 tools coherent with it, and the system
prompt's length, style and strictness. Every dimension is a balanced stream
(`balanced_pick`), so over any prefix of a run each value is within one of its fair share
(the operator within `per_source` of it: see `source_slot`). Tools come from the profile's
own domains, taken in turn with the primary domain first, so a bank bot with any tools
always holds an account tool.

Examples cycle through the source: example `i` wraps record `i mod N`, its use number
`i div N`. Later uses of a record shift its operator by the use number, so one record's
contexts never share an operator while `per_source` <= the number of operators.

When the consistency check finds that a context changes what the ideal response is, the
example is redrawn: round `r` uses alternate context `r`, drawn from streams of its own
and with an operator none of its earlier rounds had (when there are enough of them).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storyloom.stories.augment.library import ContextLibrary, OperatorProfile, Tool
from storyloom.stories.draws import balanced_pick

#: Tool-count bands, each a closed range; "none" keeps tool-free examples in the mix.
TOOL_BANDS: dict[str, tuple[int, int]] = {
    "none": (0, 0),
    "few": (1, 3),
    "several": (4, 7),
    "many": (8, 12),
}
MAX_TOOLS = 12
#: System prompt length bands, in words.
PROMPT_LENGTHS: dict[str, tuple[int, int]] = {
    "short": (30, 130),
    "medium": (120, 300),
    "long": (280, 700),
}
PROMPT_STYLES = ("prose", "bullets", "markdown", "xml")
STRICTNESS = ("relaxed", "standard", "strict")
AXES = ("operator", "tools", "prompt_length", "prompt_style", "strictness")


@dataclass(frozen=True)
class SourceSlot:
    """Which source record example `index` wraps, and the how-many-th use of it this is."""

    record: int
    use: int


def source_slot(index: int, source_size: int) -> SourceSlot:
    use, record = divmod(index, source_size)
    return SourceSlot(record, use)


def _rng(run_seed: int, stream: str, index: int) -> random.Random:
    digest = hashlib.sha256(f"{run_seed}/{stream}/{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _pick(values: tuple[str, ...], run_seed: int, stream: str, position: int) -> str:
    return values[balanced_pick(run_seed, stream, position, len(values))]


def coherent_tools(
    library: ContextLibrary, profile: OperatorProfile, count: int, rng: random.Random
) -> list[Tool]:
    """`count` distinct tools from the profile's domains, one domain at a time in the
    profile's order (primary first), each domain's tools in a shuffled order."""
    queues = []
    for domain in profile.domains:
        tools = list(library.domain_tools(domain))
        rng.shuffle(tools)
        queues.append(tools)
    chosen: list[Tool] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def draw_context(
    library: ContextLibrary,
    run_seed: int,
    index: int,
    round_: int,
    *,
    slot: SourceSlot,
    taken: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Context `round_` of example `index` (0: the balanced draw; r > 0: alternate r).

    `taken` are the operators of the example's earlier rounds, avoided when possible.
    """
    prefix = "" if round_ == 0 else f"alt{round_}/"
    ids = tuple(o.id for o in library.operators)
    if round_ == 0:
        base = balanced_pick(run_seed, "operator", slot.record, len(ids))
        operator = ids[(base + slot.use) % len(ids)]
    else:
        start = balanced_pick(run_seed, f"{prefix}operator", index, len(ids))
        free = [ids[(start + step) % len(ids)] for step in range(len(ids))]
        operator = next((o for o in free if o not in taken), free[0])
    band = _pick(tuple(TOOL_BANDS), run_seed, f"{prefix}tools", index)
    rng = _rng(run_seed, f"{prefix}context", index)
    low, high = TOOL_BANDS[band]
    profile = library.operator(operator)
    tools = coherent_tools(library, profile, rng.randint(low, high), rng)
    return {
        "operator": operator,
        "tool_band": band,
        "tools": [t.name for t in tools],
        "prompt_length": _pick(tuple(PROMPT_LENGTHS), run_seed, f"{prefix}prompt_length", index),
        "prompt_style": _pick(PROMPT_STYLES, run_seed, f"{prefix}prompt_style", index),
        "strictness": _pick(STRICTNESS, run_seed, f"{prefix}strictness", index),
        #: Picks the wording of a template prompt; different for every context.
        "variation": rng.getrandbits(32),
    }


def context_axes(context: Mapping[str, Any]) -> dict[str, str]:
    """A context's balanced dimensions, as `plan` and `stats` tabulate them."""
    return {
        "operator": str(context["operator"]),
        "tools": str(context["tool_band"]),
        "prompt_length": str(context["prompt_length"]),
        "prompt_style": str(context["prompt_style"]),
        "strictness": str(context["strictness"]),
    }


def draw_contexts(
    library: ContextLibrary, run_seed: int, index: int, slot: SourceSlot, rounds: int
) -> list[dict[str, Any]]:
    """The primary context and `rounds - 1` alternates for example `index`."""
    contexts: list[dict[str, Any]] = []
    for round_ in range(rounds):
        taken = tuple(c["operator"] for c in contexts)
        contexts.append(draw_context(library, run_seed, index, round_, slot=slot, taken=taken))
    return contexts
