"""The corpus-kind seam: the registry, and the story kind seen only through it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.scripted import ScriptedBackend
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.gates import check_story, names_to_avoid
from storyloom.stories.kind import (
    Draft,
    ItemView,
    UnknownKindError,
    get_kind,
    kind_names,
    register_kind,
)
from storyloom.stories.seeds import make_seed
from storyloom.stories.story_gates import LengthGate
from storyloom.stories.story_kind import StoryKind

FIXTURES = Path(__file__).parent / "fixtures" / "stories"


@pytest.fixture
def kind() -> StoryKind:
    story = get_kind("story")
    assert isinstance(story, StoryKind)
    return story


def _ask(kind: StoryKind, item: ItemView, task: str) -> Any:
    """One task's round trip through a scripted backend answering with the kind's fake
    responder, which sees only the request's metadata."""
    spec = kind.tasks[task]
    instructions, user = spec.build(item)
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=2000,
        instructions=instructions,
        output_schema=spec.schema,
        purpose=task,
        metadata=kind.request_hints(item, task),
    )
    backend = ScriptedBackend(responder=kind.fake_reply)
    return spec.parse(asyncio.run(backend.complete(request)))


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownKindError, match=r"unknown kind 'poems'; choose one of .*story"):
        get_kind("poems")


def test_a_registered_kind_is_listed() -> None:
    register_kind("story-copy", StoryKind)
    assert {"story", "story-copy"} <= set(kind_names())


def test_the_story_draw_is_the_balanced_seed(kind: StoryKind) -> None:
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings(seed=7, name_variants=True)
    for index in (0, 1, 17, 403):
        expected = make_seed(inputs, 7, index, name_variants=True).to_dict()
        assert kind.draw(inputs, 7, index, settings) == expected


def test_inputs_are_fingerprinted_by_name(kind: StoryKind) -> None:
    loaded = kind.load_inputs({})
    assert set(loaded.fingerprints) == {"constitution", "persona", "axes"}
    assert loaded.fingerprints["constitution"] == loaded.value.constitution.fingerprint


def test_fake_replies_make_a_story_that_passes_gates_and_judge(kind: StoryKind) -> None:
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings()
    draw = kind.draw(inputs, 0, 3, settings)
    item = ItemView("run/3", 3, draw, inputs, settings)
    plan = _ask(kind, item, "plan")
    item = replace(item, plan=plan)
    text = _ask(kind, item, "write")
    findings = kind.check(text, item)
    assert findings == []
    item = replace(item, draft=Draft(text=text))
    critique = _ask(kind, item, "judge")
    scored = {entry["criterion"] for entry in critique["scores"]}
    assert scored == {criterion.name for criterion in kind.criteria(item)}
    assert kind.passes(critique, item)


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.md")))
def test_gate_objects_find_what_check_story_finds(kind: StoryKind, fixture: str) -> None:
    text = (FIXTURES / fixture).read_text()
    inputs = kind.load_inputs({}).value
    draw = kind.draw(inputs, 0, 0, GenerationSettings())
    draw["axes"]["length"] = "short"
    item = ItemView("run/0", 0, draw, inputs, GenerationSettings())
    expected = check_story(
        text,
        persona_name=draw["persona_name"],
        length_band="short",
        other_names=names_to_avoid(inputs.persona.names, draw["persona_name"]),
        constitution=inputs.constitution.as_markdown(),
    )
    assert sorted(f.kind for f in kind.check(text, item)) == sorted(f.kind for f in expected)


def test_a_changed_threshold_changes_the_recipe(kind: StoryKind) -> None:
    before = kind.recipe_fingerprint()
    assert StoryKind().recipe_fingerprint() == before  # stable across instances
    kind.gates = (LengthGate(tolerance=0.5), *kind.gates[1:])
    assert kind.recipe_fingerprint() != before
