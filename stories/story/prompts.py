"""Prompt text for each step of the story kind, in two profiles.

`rich` (the default) is for capable models: a long, cacheable project brief with the
whole constitution and the craft guide, and detailed role instructions per step
(`prompts_rich`). `compact` is for the bundled 135M model and small GGUFs, whose window
and attention are small (`prompts_compact`). `settings.prompt_profile` chooses; every
step returns `(instructions, user_message)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storyloom.stories.kind import ItemView, Prompt
from storyloom.stories.story import prompts_compact, prompts_rich
from storyloom.stories.story.inputs import StoryInputs
from storyloom.stories.story.prompt_parts import CRAFT_CRITERIA

__all__ = ["CRAFT_CRITERIA", "build", "profile_of", "shared_prefix"]

PROFILES = ("rich", "compact")


def profile_of(settings: Any) -> str:
    """The run's prompt profile ("rich" unless the settings say "compact")."""
    profile = getattr(settings, "prompt_profile", "rich")
    return profile if profile in PROFILES else "rich"


def shared_prefix(inputs: StoryInputs, profile: str = "rich") -> str:
    """The system-prompt part identical for every call of a run (cacheable)."""
    if profile == "compact":
        return prompts_compact.shared_prefix(inputs)
    return prompts_rich.shared_prefix(inputs)


def build(task: str) -> Callable[[ItemView], Prompt]:
    """The prompt builder of `task` ("plan", "write", "review", "judge", "revise"),
    choosing the profile from the item's settings."""
    name = f"{task}_prompt"

    def prompt(item: ItemView) -> Prompt:
        module = prompts_compact if profile_of(item.settings) == "compact" else prompts_rich
        builder: Callable[[ItemView], Prompt] = getattr(module, name)
        return builder(item)

    prompt.__qualname__ = name
    return prompt
