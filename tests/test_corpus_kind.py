"""The corpus-kind seam: the registry, and the story kind seen only through it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from augment_source import write_source
from kind_tasks import ask_task as _ask
from kind_tasks import registered_kind
from story_samples import named_in_prompt

from storyloom.backends.base import InvalidOutputError
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.judging import critique_scores, paired_reply
from storyloom.stories.kind import Draft, Finding, ItemView
from storyloom.stories.registry import UnknownKindError, get_kind, kind_names, register_kind
from storyloom.stories.story.draws import make_seed
from storyloom.stories.story.gates import LengthGate, check_story, names_to_avoid
from storyloom.stories.story.kind import StoryKind

FIXTURES = Path(__file__).parent / "fixtures" / "stories"


@pytest.fixture
def kind() -> StoryKind:
    return registered_kind("story", StoryKind)


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


@pytest.mark.parametrize("name", ["story", "documents", "advice", "augment"])
@pytest.mark.parametrize("profile", ["rich", "compact"])
def test_every_task_of_every_kind_sends_one_schema_for_the_run(
    name: str, profile: str, tmp_path: Path
) -> None:
    """The output format is part of a provider's cached prompt prefix: it must not vary
    with the item (what an item requires is its validation context instead)."""
    kind = get_kind(name)
    paths = {"source": write_source(tmp_path / "chats.jsonl", 50)} if name == "augment" else {}
    inputs = kind.load_inputs(paths).value
    settings = GenerationSettings(prompt_profile=profile)
    items = [
        ItemView(f"run/{i}", i, kind.draw(inputs, 0, i, settings), inputs, settings)
        for i in range(50)
    ]
    for task in kind.tasks.values():
        assert len({task.schema_for(item) for item in items}) == 1, task.name


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


# --- the strict judge ------------------------------------------------------------------


def _inputs(kind: StoryKind) -> Any:
    return kind.load_inputs({}).value


def _judged_item(kind: StoryKind, settings: GenerationSettings | None = None) -> ItemView:
    inputs = kind.load_inputs({}).value
    settings = settings or GenerationSettings()
    draw = kind.draw(inputs, 0, 5, settings)
    return ItemView("run/5", 5, draw, inputs, settings, draft=Draft(text="STORY"))


def _judgment(kind: StoryKind, item: ItemView, **scores: int) -> dict[str, Any]:
    """A reply scoring every criterion in play 4, except those given."""
    names = kind.request_hints(item, "judge")["criteria"]
    return {
        "criteria": [
            {"criterion": name, "evidence": "quote", "reasoning": "because",
             "score": scores.get(name, 4)}
            for name in names
        ],
        "revision_notes": [],
    }  # fmt: skip


def test_the_judge_schema_puts_the_evidence_before_the_score(kind: StoryKind) -> None:
    """One schema for every story (the contract test above); the criteria in play, which
    differ per story, are the validation context instead."""
    items = [
        _judged_item(kind),
        replace(_judged_item(kind), draw=kind.draw(_inputs(kind), 0, 6, GenerationSettings())),
    ]
    assert items[0].draw["sections"] != items[1].draw["sections"]
    judge = kind.tasks["judge"]
    assert judge.schema_for(items[0]) is judge.schema_for(items[1])
    assert judge.context_for(items[0]) != judge.context_for(items[1])
    schema = judge.schema_for(items[0])
    assert schema is not None
    entry = schema.model_json_schema()["$defs"]["CriterionPairedJudgment"]
    assert list(entry["properties"]) == ["criterion", "evidence", "reasoning", "score", "score_b"]
    compact = _judged_item(kind, GenerationSettings(prompt_profile="compact"))
    assert judge.schema_for(compact) is not schema  # the compact profile's caps are tighter


def test_the_judge_prompt_names_every_criterion_in_play(kind: StoryKind) -> None:
    for settings in (GenerationSettings(), GenerationSettings(prompt_profile="compact")):
        item = _judged_item(kind, settings)
        names = [criterion.name for criterion in kind.criteria(item)]
        assert len(names) == 2 + 10
        _, user = kind.tasks["judge"].build(item)
        assert named_in_prompt(user) == names
        _, user = kind.tasks["review"].build(item)
        assert named_in_prompt(user) == names[:2]


def test_a_judgment_that_omits_a_criterion_is_refused(kind: StoryKind) -> None:
    item = _judged_item(kind)
    reply = _judgment(kind, item)
    reply["criteria"] = [e for e in reply["criteria"] if e["criterion"] != "texture"]
    with pytest.raises(InvalidOutputError, match="no entry for texture"):
        _ask(kind, item, "judge", reply)
    # and a critique missing one (a backend that did not enforce the schema) never passes
    critique = _ask(kind, item, "judge", _judgment(kind, item))
    critique["scores"] = [e for e in critique["scores"] if e["criterion"] != "texture"]
    assert not kind.passes(critique, item)
    assert kind.shortfall(critique, item) == "the judge did not score texture"


def test_a_judgment_that_invents_or_repeats_a_criterion_is_refused(kind: StoryKind) -> None:
    item = _judged_item(kind)
    reply = _judgment(kind, item)
    reply["criteria"].append({"criterion": "vibes", "evidence": "q", "reasoning": "r", "score": 5})
    with pytest.raises(InvalidOutputError, match="'vibes' is not a criterion in play"):
        _ask(kind, item, "judge", reply)
    reply = _judgment(kind, item)
    reply["criteria"].append(dict(reply["criteria"][-1]))
    with pytest.raises(InvalidOutputError, match="more than one entry for realises_draw"):
        _ask(kind, item, "judge", reply)


def test_names_are_matched_whatever_their_case_and_order(kind: StoryKind) -> None:
    item = _judged_item(kind)
    reply = _judgment(kind, item, texture=2)
    reply["criteria"].reverse()
    for entry in reply["criteria"]:
        entry["criterion"] = entry["criterion"].upper().replace("_", " ")
    critique = _ask(kind, item, "judge", reply)
    assert [e["criterion"] for e in critique["scores"]] == [c.name for c in kind.criteria(item)]
    assert critique_scores(critique)["texture"] == 2


def test_the_pass_rule_is_sections_at_4_and_craft_at_3(kind: StoryKind) -> None:
    item = _judged_item(kind)
    section = kind.request_hints(item, "judge")["criteria"][0]
    assert kind.passes(_ask(kind, item, "judge", _judgment(kind, item)), item)
    assert kind.passes(_ask(kind, item, "judge", _judgment(kind, item, texture=3)), item)
    assert not kind.passes(_ask(kind, item, "judge", _judgment(kind, item, texture=2)), item)
    assert not kind.passes(_ask(kind, item, "judge", _judgment(kind, item, **{section: 3})), item)
    gated = replace(item, draft=Draft("STORY", findings=(Finding("truncated", "x"),)))
    assert not kind.passes(_ask(kind, item, "judge", _judgment(kind, item)), gated)


def test_a_judgment_keeps_evidence_and_reasoning_per_criterion(kind: StoryKind) -> None:
    item = _judged_item(kind)
    critique = _ask(kind, item, "judge", _judgment(kind, item, texture=2))
    names = [entry["criterion"] for entry in critique["scores"]]
    assert names == [criterion.name for criterion in kind.criteria(item)]
    texture = next(e for e in critique["scores"] if e["criterion"] == "texture")
    assert texture == {
        "criterion": "texture",
        "score": 2,
        "evidence": "quote",
        "reasoning": "because",
    }


def test_judge_samples_are_combined_down_with_the_case_against(kind: StoryKind) -> None:
    item = _judged_item(kind)
    high = _ask(kind, item, "judge", _judgment(kind, item, texture=5))
    low = _ask(kind, item, "judge", _judgment(kind, item, texture=2))
    next(e for e in low["scores"] if e["criterion"] == "texture")["evidence"] = "the weak line"
    combined = kind.combine_critiques([high, low])
    texture = next(e for e in combined["scores"] if e["criterion"] == "texture")
    assert texture["score"] == 3 and combined["samples"] == 2
    assert texture["evidence"] == "the weak line"  # the case against it
    assert kind.passes(combined, item)


def test_every_story_is_reviewed_and_rewritten_by_default(kind: StoryKind) -> None:
    assert kind.default_rewrite == "always" and "review" in kind.tasks
    item = _judged_item(kind)
    review = _ask(kind, item, "review")
    titles = [item.inputs.constitution.section(s).title for s in item.draw["sections"]]
    assert [entry["section"] for entry in review["sections"]] == titles
    with pytest.raises(InvalidOutputError, match="no entry for"):
        _ask(kind, item, "review", {**review, "sections": review["sections"][:1]})


def test_metadata_keeps_first_and_final_scores(kind: StoryKind) -> None:
    item = _judged_item(kind)
    first_critique = _ask(kind, item, "judge", _judgment(kind, item, texture=2))
    final_critique = _ask(kind, item, "judge", _judgment(kind, item, texture=5))
    first = Draft("first", critique=first_critique, passed=False, round=0)
    final = Draft("final", critique=final_critique, passed=True, round=1)
    meta = kind.metadata(replace(item, plan=None, drafts=(first, final)), final)
    assert meta["first_scores"]["texture"] == 2 and meta["scores"]["texture"] == 5
    assert meta["rewrite_kept"]
    meta |= {"revisions": 1, "first_pass": False}  # what the workflow adds to every record
    figures = kind.report_profile.figures
    assert figures is not None
    tables = figures([{"metadata": meta}], [])
    assert tables["Rewrite: mean score, first draft -> final"]["texture"].startswith("2.00 -> 5.00")


def test_the_compact_profile_round_trips_every_task(kind: StoryKind) -> None:
    settings = GenerationSettings(prompt_profile="compact")
    inputs = kind.load_inputs({}).value
    item = ItemView("run/2", 2, kind.draw(inputs, 0, 2, settings), inputs, settings)
    item = replace(item, plan=_ask(kind, item, "plan"))
    text = _ask(kind, item, "write")
    item = replace(item, draft=Draft(text=text))
    critique = _ask(kind, item, "judge")
    assert kind.passes(critique, item)
    item = replace(
        item, draft=replace(item.draft, critique=critique, review=_ask(kind, item, "review"))
    )
    assert kind.check(_ask(kind, item, "revise"), item) == []


@pytest.mark.parametrize("profile", ["rich", "compact"])
def test_the_judge_sees_every_drawn_value_and_scores_whether_the_story_realises_it(
    kind: StoryKind, profile: str
) -> None:
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings(prompt_profile=profile)
    for index in range(12):
        draw = kind.draw(inputs, 0, index, settings)
        item = ItemView(f"run/{index}", index, draw, inputs, settings, draft=Draft(text="STORY"))
        _, user = kind.tasks["judge"].build(item)
        for axis, value in draw["axes"].items():
            assert value in user, (axis, value)
        for slug in draw["sections"]:
            assert inputs.constitution.section(slug).title in user
        assert "realises_draw" in named_in_prompt(user)
        assert "realises_draw" in kind.request_hints(item, "judge")["criteria"]


def _rewrite_item(kind: StoryKind) -> ItemView:
    """A rewrite being judged, beside the first draft it would replace."""
    first = Draft("FIRST DRAFT", critique=None, passed=False, round=0)
    item = _judged_item(kind)
    return replace(item, draft=Draft("REWRITE", round=1), drafts=(first,), previous=first)


def test_a_rewrite_is_judged_with_the_same_schema_and_must_score_both_stories(
    kind: StoryKind,
) -> None:
    judge = kind.tasks["judge"]
    first, rewrite = _judged_item(kind), _rewrite_item(kind)
    assert judge.schema_for(first) is judge.schema_for(rewrite)
    assert judge.context_for(first)["compared"] is False
    assert judge.context_for(rewrite)["compared"] is True
    one_story = _judgment(kind, rewrite)
    with pytest.raises(InvalidOutputError, match="give score_b"):
        _ask(kind, rewrite, "judge", one_story)
    critique = _ask(kind, rewrite, "judge")  # the fake responder scores both
    assert critique["winner"] == "rewrite" and critique["draft_scores"]
    assert critique["rewrite_label"] == rewrite.draw["rewrite_label"]
    hints = kind.request_hints(rewrite, "judge")
    two_stories = paired_reply(
        {name: 4 for name in hints["criteria"]}, {name: 4 for name in hints["criteria"]}, "A"
    )
    with pytest.raises(InvalidOutputError, match="one story is shown"):
        _ask(kind, first, "judge", two_stories)
