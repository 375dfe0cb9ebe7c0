"""No hidden limits: a gate threshold that can fail a draft is told to the writer, read
from the gate object itself, in the prompts built for real items; and a schema's list
bounds agree with the words that ask for them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytest
from augment_source import write_source
from kind_tasks import ask_task

from storyloom.graph.settings import GenerationSettings
from storyloom.stories.advice.kind import AdviceOptions
from storyloom.stories.augment.draws import PROMPT_LENGTHS
from storyloom.stories.augment.example import example, task_round
from storyloom.stories.documents.catalog import document_type
from storyloom.stories.draws import LENGTH_BANDS
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


# --- every kind's gates -------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One writing prompt as the writer receives it: the run's shared prefix, the task's
    instructions and its user message, for `item` in `task` ("write" or "revise")."""

    kind: str
    task: str
    item: ItemView
    text: str

    def says(self, phrase: str) -> bool:
        return phrase.lower() in self.text.lower()


#: What a gate's limit must look like in the writer's prompt: (gate, seen) -> {what must
#: be said: whether it is}. Numbers come from the gate's own fields.
Stated = Callable[[Any, Seen], dict[str, bool]]


def _band_length(low: int, high: int, tolerance: float, seen: Seen) -> dict[str, bool]:
    """The band, and the word counts the gate rejects (its band give or take `tolerance`)."""
    fewest, most = math.ceil(low * (1 - tolerance)), math.floor(high * (1 + tolerance))
    return {p: seen.says(p) for p in (f"{low} to {high} words", f"under {fewest}", f"over {most}")}


def _length(gate: Any, seen: Seen) -> dict[str, bool]:
    return _band_length(*LENGTH_BANDS[seen.item.draw["axes"]["length"]], gate.tolerance, seen)


def _prompt_length(gate: Any, seen: Seen) -> dict[str, bool]:
    context = example(seen.item, task_round(seen.item, seen.task)).context
    return _band_length(*PROMPT_LENGTHS[context["prompt_length"]], gate.tolerance, seen)


def _phrases(*phrases: str) -> Stated:
    return lambda gate, seen: {p: seen.says(p) for p in phrases}


def _monologue(gate: Any, seen: Seen) -> dict[str, bool]:
    return _phrases(f"at least {gate.min_share:.0%}", f"at most {gate.max_share:.0%}")(gate, seen)


def _copy(gate: Any, seen: Seen) -> dict[str, bool]:
    return _phrases(f"{gate.max_copied_words} or more words")(gate, seen)


def _placeholder(gate: Any, seen: Seen) -> dict[str, bool]:
    """The prompt forbids placeholders and shows one this gate rejects."""
    at = seen.text.lower().find("placeholder")
    shown = seen.text[at : at + 80] if at >= 0 else ""
    return {"a placeholder the gate rejects, shown": bool(gate.check(shown, seen.item))}


def _openings(field: str) -> Stated:
    def stated(gate: Any, seen: Seen) -> dict[str, bool]:
        named = [opening for opening in getattr(gate, field) if seen.says(opening)]
        return {f"two of the gate's {field}": len(named) >= 2}

    return stated


def _story_names(gate: Any, seen: Seen) -> dict[str, bool]:
    return _phrases(f"called {seen.item.draw['persona_name']}", "no other AI")(gate, seen)


def _identity_names(gate: Any, seen: Seen) -> dict[str, bool]:
    return _phrases(seen.item.draw["identity_name"], "by its name", "no other AI")(gate, seen)


def _speakers(gate: Any, seen: Seen) -> dict[str, bool]:
    if document_type(seen.item.draw["axes"]["document_type"]).speaker_labels:
        return {}  # the gate passes every text of a type with speakers
    return _phrases("no speaker labels")(gate, seen)


def _refusal(gate: Any, seen: Seen) -> dict[str, bool]:
    return _phrases(f"under {gate.max_words} words", "what you can do instead")(gate, seen)


def _turn_length(gate: Any, seen: Seen) -> dict[str, bool]:
    return _phrases(f"{gate.min_words} to {gate.max_words} words")(gate, seen)


#: The repetition limits are statistics a writer cannot count while writing; the rule
#: that keeps every one of them is to repeat nothing.
_NO_REPEATS = _phrases("never repeat a sentence")

STATED: dict[tuple[str, str], Stated] = {
    ("story", "length"): _length,
    ("story", "monologue"): _monologue,
    ("story", "placeholder"): _placeholder,
    ("story", "stock_opening"): _openings("openings"),
    ("story", "constitution_copy"): _copy,
    ("story", "names"): _story_names,
    ("story", "repetition"): _NO_REPEATS,
    ("documents", "length"): _length,
    ("documents", "speaker_labels"): _speakers,
    ("documents", "placeholder"): _placeholder,
    ("documents", "constitution_copy"): _copy,
    ("documents", "names"): _identity_names,
    ("documents", "repetition"): _NO_REPEATS,
    ("advice", "stock_opener"): _openings("openers"),
    ("advice", "refusal"): _refusal,
    ("advice", "turn_length"): _turn_length,
    ("advice", "repetition"): _NO_REPEATS,
    ("advice", "constitution_copy"): _copy,
    ("augment", "system_prompt"): _prompt_length,
}

#: Gates with fields that fail no draft by themselves, and why.
NOT_A_FAILING_LIMIT: dict[tuple[str, str], str] = {
    ("documents", "truncation"): "short_item_words lets a short list item end a document; "
    "what fails is stopping mid-sentence",
    ("augment", "prompt_reuse"): "max_reuse is the run-wide figure the report checks; the "
    "gate fails only a copy of an earlier round's prompt, which the writer never sees",
}

KINDS = ("story", "documents", "advice", "augment")


def _has_limit(gate: Any) -> bool:
    """A gate with a configured field beside its name: a threshold, a list or a pattern."""
    return any(field.name != "name" for field in fields(gate))


def test_every_gate_with_a_limit_has_an_entry_and_no_entry_is_stale() -> None:
    limited = {
        (name, gate.name) for name in KINDS for gate in get_kind(name).gates if _has_limit(gate)
    }
    missing = limited - STATED.keys() - NOT_A_FAILING_LIMIT.keys()
    assert not missing, f"gates whose limits no prompt is checked to state: {sorted(missing)}"
    assert STATED.keys() | NOT_A_FAILING_LIMIT.keys() <= limited
    assert not STATED.keys() & NOT_A_FAILING_LIMIT.keys()


def _item(name: str, profile: str, index: int, tmp_path: Path) -> ItemView:
    kind = get_kind(name)
    files = {"source": write_source(tmp_path / "chats.jsonl", 8)} if name == "augment" else {}
    inputs = kind.load_inputs(files).value
    settings = GenerationSettings(rewrite="always", prompt_profile=profile)
    draw = kind.draw(inputs, 0, index, settings)
    item = ItemView(f"r/{index}", index, draw, inputs, settings, options=kind.options_model())
    return replace(item, plan=ask_task(kind, item, "plan")) if "plan" in kind.tasks else item


@pytest.mark.parametrize("profile", ("rich", "compact"))
@pytest.mark.parametrize("name", KINDS)
def test_every_writing_prompt_states_every_gate_limit(
    name: str, profile: str, tmp_path: Path
) -> None:
    kind = get_kind(name)
    for index in range(6):
        item = _item(name, profile, index, tmp_path)
        draft = Draft(ask_task(kind, item, "write"))
        for task, view in (
            ("write", item),
            ("revise", replace(item, draft=draft, drafts=(draft,))),
        ):
            instructions, user = kind.tasks[task].build(view)
            prefix = kind.shared_prefix(view.inputs, view.settings)
            seen = Seen(name, task, view, "\n\n".join((prefix, instructions, user)))
            for gate in kind.gates:
                stated = STATED.get((name, gate.name))
                unsaid = [
                    what
                    for what, said in (stated(gate, seen) if stated else {}).items()
                    if not said
                ]
                assert not unsaid, (name, profile, index, task, gate.name, unsaid)
