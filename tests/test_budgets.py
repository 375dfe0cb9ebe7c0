"""No truncation by design: every task's `max_tokens`, as a run settles it, covers the
largest reply the task's schema allows, for every kind and prompt profile; and what an
item requires of a list (criteria, sections, turns in play) fits the schema's cap the
budget was sized on."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints

from storyloom.backends.registry import backend_spec
from storyloom.backends.reply_size import UnboundedSchema, largest_reply_tokens
from storyloom.graph.settings import GenerationSettings, run_settings
from storyloom.stories.kind import ItemView
from storyloom.stories.registry import get_kind, kind_names

PROFILES = ("rich", "compact")
DRAWS = 300
#: The shipped kinds (a test's toy kind registered beside them has uncapped strings).
BUILT_IN = [
    name
    for name in kind_names()
    if type(get_kind(name)).__module__.startswith("storyloom.stories.")
]
#: Kinds with a task whose reply must hold something per item (augment's has none).
REQUIRING = [
    name for name in BUILT_IN if any(task.requirements for task in get_kind(name).tasks.values())
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("kind_name", BUILT_IN)
def test_every_task_budget_covers_its_schemas_largest_reply(kind_name: str, profile: str) -> None:
    kind = get_kind(kind_name)
    settings = run_settings(kind, backend_spec("scripted"), {"prompt_profile": profile})
    for name, task in kind.tasks.items():
        schema = task.profile_schemas.get(profile, task.schema)
        if schema is None:
            continue
        budget = getattr(settings, task.max_tokens)
        largest = largest_reply_tokens(schema)
        assert budget >= largest, f"{kind_name} {name} ({profile}): {budget} < {largest}"


@pytest.mark.parametrize("kind_name", REQUIRING)
def test_what_an_item_requires_of_a_list_fits_the_cap_its_budget_was_sized_on(
    kind_name: str,
) -> None:
    kind = get_kind(kind_name)
    settings = run_settings(kind, backend_spec("scripted"))
    inputs = kind.load_inputs({}).value
    for index in range(DRAWS):
        draw = kind.draw(inputs, 0, index, settings)
        item = ItemView(f"i{index}", index, draw, inputs, settings)
        for name, task in kind.tasks.items():
            if task.schema is None or task.requirements is None:
                continue
            caps = _list_caps(task.schema)
            for key, wanted in task.context_for(item).items():
                if isinstance(wanted, bool):  # a flag (a rewrite's `compared`), not a count
                    continue
                count = len(wanted) if isinstance(wanted, list | tuple) else int(wanted)
                cap = caps.get(key, caps.get(_entries_field(task.schema, key)))
                assert cap is not None, f"{kind_name} {name}: no list capped for {key!r}"
                assert count <= cap, f"{kind_name} {name} item {index}: {count} {key} > {cap}"


def _entries_field(schema: type[BaseModel], context_key: str) -> str | None:
    in_play = getattr(schema, "in_play", None)
    return in_play.entries if in_play is not None and in_play.context == context_key else None


def _list_caps(schema: type[BaseModel]) -> dict[str, int]:
    """{top-level list field: its maxItems}; a turns requirement names the list it counts."""
    properties = schema.model_json_schema().get("properties", {})
    caps = {key: int(value["maxItems"]) for key, value in properties.items() if "maxItems" in value}
    for listed in ("turns", "replies"):  # the advice kind's turn count caps either list
        if listed in caps:
            caps.setdefault("turns", caps[listed])
    return caps


def test_the_settled_budgets_are_what_run_json_records_and_asking_wins() -> None:
    story = get_kind("story")
    settled = run_settings(story, backend_spec("scripted"))
    assert settled.plan_max_tokens > GenerationSettings().plan_max_tokens  # the premise needs it
    asked = run_settings(story, backend_spec("scripted"), {"plan_max_tokens": 900})
    assert asked.plan_max_tokens == 900


class _Sized(BaseModel):
    title: Annotated[str, StringConstraints(max_length=400)]
    notes: list[Annotated[str, StringConstraints(max_length=100)]] = Field(max_length=3)
    score: int


def test_the_largest_reply_counts_every_string_at_its_cap_and_every_list_full() -> None:
    # 700 prose characters at 4 a token, and the JSON around them at 2 a token.
    assert 175 < largest_reply_tokens(_Sized) < 175 + 60


class _Unbounded(BaseModel):
    text: str


def test_a_string_without_a_cap_has_no_largest_reply() -> None:
    with pytest.raises(UnboundedSchema, match="text"):
        largest_reply_tokens(_Unbounded)


def test_a_small_model_writes_under_the_compact_floor_and_a_capable_one_the_default() -> None:
    """The first run on the bundled model is mostly generating: its free text ends in
    repetition loops, so a small model's write budget is the compact floor, not 2,600."""
    story = get_kind("story")
    small = run_settings(story, backend_spec("llamacpp"))
    capable = run_settings(story, backend_spec("scripted"))
    assert small.prompt_profile == "compact"
    assert small.write_max_tokens == 1200
    assert capable.write_max_tokens == GenerationSettings.model_fields["write_max_tokens"].default
    asked = run_settings(story, backend_spec("llamacpp"), {"write_max_tokens": 2000})
    assert asked.write_max_tokens == 2000
