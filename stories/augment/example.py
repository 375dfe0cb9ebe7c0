"""What one item of the augment kind is: a source chat and the context of a round.

The draw keeps only indices and names (it is checkpointed with every step); the chat and
the tools are looked up in the loaded inputs, whose fingerprints run.json freezes, so a
resumed run sees the very same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storyloom.stories.augment.inputs import AugmentInputs
from storyloom.stories.augment.library import OperatorProfile, Tool
from storyloom.stories.augment.source import SourceChat
from storyloom.stories.kind import ItemView


@dataclass(frozen=True)
class Example:
    chat: SourceChat
    round: int
    context: Mapping[str, Any]
    profile: OperatorProfile
    tools: tuple[Tool, ...]


def context_round(item: ItemView, round_: int | None = None) -> int:
    """Which of the item's contexts round `round_` (default: the item's round) uses:
    round r uses alternate context r, the last one once they run out."""
    contexts = item.draw["contexts"]
    wanted = item.round if round_ is None else round_
    return max(0, min(wanted, len(contexts) - 1))


def task_round(item: ItemView, task: str) -> int:
    """The round a task works for. `revise` runs in round r and writes round r + 1's
    draft (the workflow counts the round up as it stores the revision); every other
    task works on the item's current round."""
    return item.round + 1 if task == "revise" else item.round


def example(item: ItemView, round_: int | None = None) -> Example:
    inputs: AugmentInputs = item.inputs
    chosen = context_round(item, round_)
    context = item.draw["contexts"][chosen]
    library = inputs.library
    return Example(
        chat=inputs.source.chats[int(item.draw["source"]["record"])],
        round=chosen,
        context=context,
        profile=library.operator(str(context["operator"])),
        tools=tuple(library.tool(name) for name in context["tools"]),
    )
