"""No hidden limits: a gate threshold that can fail a draft is told to the writer, read
from the gate object itself, in the prompts built for real items; and a schema's list
bounds agree with the words that ask for them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from kind_tasks import ask_task

from storyloom.graph.settings import GenerationSettings
from storyloom.stories.advice.kind import AdviceOptions
from storyloom.stories.kind import Draft, ItemView
from storyloom.stories.registry import get_kind
from storyloom.stories.story.models import Premise

SETTINGS = GenerationSettings(rewrite="always")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")


@pytest.mark.parametrize("index", range(6))
def test_the_advice_writer_is_told_the_turn_length_gate_limits(index: int) -> None:
    kind = get_kind("advice")
    inputs = kind.load_inputs({}).value
    draw = kind.draw(inputs, 0, index, SETTINGS)
    item = ItemView(f"r/{index}", index, draw, inputs, SETTINGS, options=AdviceOptions())
    item = replace(item, plan=ask_task(kind, item, "plan"))
    draft = Draft(ask_task(kind, item, "write"))
    gate = next(gate for gate in kind.gates if gate.name == "turn_length")
    limits = (f"{gate.min_words} to {gate.max_words} words",)  # type: ignore[attr-defined]
    for task, seen in (("write", item), ("revise", replace(item, draft=draft, drafts=(draft,)))):
        instructions, _ = kind.tasks[task].build(seen)
        assert all(limit in instructions for limit in limits), (task, instructions)


def test_the_premise_schema_allows_exactly_the_beats_its_description_asks_for() -> None:
    beats = Premise.model_json_schema()["properties"]["beats"]
    fewest, most = NUMBER_WORDS[beats["minItems"]], NUMBER_WORDS[beats["maxItems"]]
    assert beats["description"].lower().startswith(f"{fewest} to {most} story beats")
