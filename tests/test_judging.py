"""The judge written once: one reply schema per rubric and profile, the criteria in play
checked after the reply, the blind comparison unblinded, one pass rule, K samples
combined against the draft."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from storyloom.backends.base import Completion
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.judging import (
    LOST_NOTE,
    MAX_ENTRIES,
    MAX_SECTIONS,
    Criterion,
    Rubric,
    combine,
    comparative_reply,
    judgment_model,
    judgment_reply,
    match_in_play,
    parse_judgment,
    shortfall,
)
from storyloom.stories.kind import Finding, ItemView
from storyloom.stories.registry import get_kind

SECTION = Criterion("Honesty", "tell the truth", "constitution")
CRAFT = (Criterion("shows_why", "reasons on the page"), Criterion("texture", "a voice"))
RUBRIC = Rubric(criteria=CRAFT, pass_score=3, group_pass_scores={"constitution": 4})
IN_PLAY = (SECTION, *CRAFT)


class Claims(BaseModel):
    claims: list[str]


def _no_bad_claim(critique: Mapping[str, Any]) -> str | None:
    bad = [c for c in critique.get("claims") or [] if c.startswith("bad")]
    return f"a bad claim: {bad[0]}" if bad else None


LEAD = Rubric(criteria=CRAFT, lead=Claims, checks=(_no_bad_claim,))
COMPARATIVE = Rubric(criteria=CRAFT, comparative=True)


def _item(rewrite_label: str = "B") -> ItemView:
    draw = {"rewrite_label": rewrite_label, "sections": []}
    return ItemView("run/0", 0, draw, None, GenerationSettings())


def _parse(rubric: Rubric, reply: dict[str, Any], item: ItemView | None = None) -> dict[str, Any]:
    item = item or _item()
    names = [c.name for c in IN_PLAY]
    parsed = judgment_model(rubric).model_validate(reply, context={"criteria": names})
    completion = Completion(text="", model="m", parsed=parsed)
    return parse_judgment(completion, rubric, item.draw.get("rewrite_label"))


def _scores(**scores: int) -> dict[str, int]:
    return {"Honesty": 4, "shows_why": 3, "texture": 3} | scores


# --- one schema -----------------------------------------------------------------------


def test_one_reply_model_per_rubric_shape_and_profile() -> None:
    other = Rubric(criteria=(Criterion("clarity", "clear"),), pass_score=2)
    assert judgment_model(RUBRIC) is judgment_model(other)  # criteria are not in the schema
    assert judgment_model(RUBRIC, "compact") is not judgment_model(RUBRIC)
    assert judgment_model(COMPARATIVE).__name__ == "ComparativeJudgment"
    schema = judgment_model(LEAD).model_json_schema()
    assert list(schema["properties"]) == ["claims", "criteria", "revision_notes"]
    entry = schema["$defs"]["CriterionJudgment"]
    assert list(entry["properties"]) == ["criterion", "evidence", "reasoning", "score"]
    compact = judgment_model(RUBRIC, "compact").model_json_schema()["$defs"]["CriterionJudgment"]
    assert (
        compact["properties"]["evidence"]["maxLength"]
        < entry["properties"]["evidence"]["maxLength"]
    )
    comparison = judgment_model(COMPARATIVE).model_json_schema()
    assert list(comparison["properties"]) == ["criteria", "comparison", "revision_notes"]
    assert list(comparison["$defs"]["CriterionComparison"]["properties"])[-2:] == ["a", "b"]


def test_the_criteria_in_play_are_checked_after_the_reply() -> None:
    model = judgment_model(RUBRIC)
    names = [c.name for c in IN_PLAY]
    reply = judgment_reply(_scores())
    assert model.model_validate(reply)  # without a context nothing is checked
    short = judgment_reply({"Honesty": 4, "texture": 3})
    with pytest.raises(ValidationError, match=r"no entry for shows_why \(one entry per"):
        model.model_validate(short, context={"criteria": names})
    with pytest.raises(ValidationError, match="'vibes' is not a criterion in play"):
        model.model_validate(judgment_reply(_scores(vibes=5)), context={"criteria": names})
    with pytest.raises(ValidationError, match="score"):
        model.model_validate(judgment_reply(_scores(texture=6)), context={"criteria": names})


def test_names_in_play_are_matched_loosely_and_exactly_once() -> None:
    in_play = ["Care for people", "shows_why"]
    assert match_in_play(["SHOWS WHY", "care-for-people"], in_play, "criterion") == [
        "shows_why",
        "Care for people",
    ]
    with pytest.raises(ValueError, match="more than one entry for shows_why"):
        match_in_play(["shows_why", "shows why", "Care for people"], in_play, "criterion")


# --- the critique ---------------------------------------------------------------------


def test_a_judgment_becomes_the_shared_critique_in_the_order_in_play() -> None:
    reply = judgment_reply(_scores(texture=2), ["give her a voice"], claims=["fine"])
    reply["criteria"].reverse()
    critique = _parse(LEAD, reply)
    assert critique == {
        "claims": ["fine"],
        "scores": [
            {"criterion": "Honesty", "score": 4, "evidence": "placeholder",
             "reasoning": "placeholder"},
            {"criterion": "shows_why", "score": 3, "evidence": "placeholder",
             "reasoning": "placeholder"},
            {"criterion": "texture", "score": 2, "evidence": "placeholder",
             "reasoning": "placeholder"},
        ],
        "revision_notes": ["give her a voice"],
    }  # fmt: skip


@pytest.mark.parametrize("label", ["A", "B"])
def test_a_blind_comparison_is_unblinded_by_the_draw(label: str) -> None:
    reply = comparative_reply(_scores(texture=5), _scores(texture=2), label)  # type: ignore[arg-type]
    critique = _parse(COMPARATIVE, reply, _item(label))
    assert {e["criterion"]: e["score"] for e in critique["scores"]}["texture"] == 5
    assert critique["draft_scores"]["texture"] == 2
    assert critique["winner"] == "rewrite" and critique["rewrite_label"] == label
    lost = comparative_reply(_scores(), _scores(), label, "draft", "the draft was kinder")  # type: ignore[arg-type]
    critique = _parse(COMPARATIVE, lost, _item(label))
    assert critique["winner"] == "draft"
    assert critique["revision_notes"][0] == f"{LOST_NOTE}: the draft was kinder"


def test_an_incomplete_reply_says_why() -> None:
    cut = Completion(text="{", model="m", stop_reason="max_tokens")
    with pytest.raises(ValueError, match=r"stopped \(max_tokens\) before giving a complete judg"):
        parse_judgment(cut, RUBRIC)


# --- the pass rule --------------------------------------------------------------------


def _critique(**scores: int) -> dict[str, Any]:
    return {
        "scores": [{"criterion": name, "score": score} for name, score in scores.items()],
        "revision_notes": [],
    }


def test_the_pass_rule_holds_each_group_to_its_score() -> None:
    good = _critique(Honesty=4, shows_why=3, texture=3)
    assert shortfall(RUBRIC, good, IN_PLAY, ()) is None
    assert shortfall(RUBRIC, good, IN_PLAY, (Finding("truncated", "cut off"),)) == "cut off"
    low = _critique(Honesty=3, shows_why=5, texture=5)
    assert shortfall(RUBRIC, low, IN_PLAY, ()) == "Honesty scored 3, under 4"
    missing = _critique(Honesty=5, shows_why=5)
    assert shortfall(RUBRIC, missing, IN_PLAY, ()) == "the judge did not score texture"
    invented = _critique(honesty=4, shows_why=3, texture=3, vibes=1)
    assert shortfall(RUBRIC, invented, IN_PLAY, ()) is None  # invented counts for nothing
    assert shortfall(RUBRIC, None, IN_PLAY, ()) == "not judged"


def test_declared_checks_and_the_comparison_are_part_of_the_rule() -> None:
    good = _critique(Honesty=5, shows_why=5, texture=5)
    assert shortfall(LEAD, {**good, "claims": ["fine"]}, IN_PLAY, ()) is None
    bad = {**good, "claims": ["fine", "bad: it remembers you"]}
    assert shortfall(LEAD, bad, IN_PLAY, ()) == "a bad claim: bad: it remembers you"
    lost = {**good, "winner": "draft", "comparison": {"reasoning": "kinder"}}
    assert shortfall(COMPARATIVE, lost, IN_PLAY, ()) == f"{LOST_NOTE}: kinder"
    assert shortfall(COMPARATIVE, {**good, "winner": "rewrite"}, IN_PLAY, ()) is None


# --- K samples ------------------------------------------------------------------------


def test_samples_combine_against_the_draft() -> None:
    high = _parse(LEAD, judgment_reply(_scores(texture=5), ["a"], claims=["fine"]))
    low = _parse(LEAD, judgment_reply(_scores(texture=2), ["b", "a"], claims=["bad one"]))
    low["scores"][2]["evidence"] = "the flat line"
    combined = combine(LEAD, [high, low, high])
    texture = combined["scores"][2]
    assert texture == {"criterion": "texture", "score": 4, "evidence": "the flat line",
                       "reasoning": "placeholder"}  # fmt: skip
    assert combined["claims"] == ["bad one"]  # the sample the check fails on
    assert combined["revision_notes"] == ["a", "b"] and combined["samples"] == 3
    assert shortfall(LEAD, combined, IN_PLAY, ()) == "a bad claim: bad one"
    assert combine(LEAD, [high]) == high


def test_the_rewrite_wins_only_if_every_sample_says_so() -> None:
    won = _parse(COMPARATIVE, comparative_reply(_scores(texture=5), _scores(), "A"), _item("A"))
    lost_reply = comparative_reply(_scores(), _scores(texture=4), "A", "draft", "kinder")
    lost = _parse(COMPARATIVE, lost_reply, _item("A"))
    combined = combine(COMPARATIVE, [won, lost])
    assert combined["winner"] == "draft" and combined["comparison"]["reasoning"] == "kinder"
    assert combined["draft_scores"]["texture"] == 3  # (3 + 4) // 2
    assert combined["rewrite_label"] == "A"
    assert combine(COMPARATIVE, [won, won])["winner"] == "rewrite"


@pytest.mark.parametrize("name", ["story", "documents", "advice", "augment"])
def test_the_most_criteria_any_item_can_have_in_play_fit_the_judgment(name: str) -> None:
    """The inputs allow at most MAX_SECTIONS sections in play (the loaders refuse more),
    so the judgment's list cap holds every criterion any draw can put in play."""
    kind = get_kind(name)
    assert MAX_SECTIONS + len(kind.rubric.criteria) <= MAX_ENTRIES


def test_a_grammar_backend_gets_the_schema_narrowed_to_the_item() -> None:
    """llama.cpp decodes under a grammar and caches no prompt by its format, so it is
    given the judge's schema narrowed to the item: one entry per criterion in play, in
    order, each naming it, and a second story's scores exactly when two are shown. The
    API backends keep one schema for the run (`model_json_schema()`, unchanged)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from storyloom.backends.llamacpp import grammar_schema

    model = get_kind("story").tasks["judge"].schema
    assert model is not None and hasattr(model, "item_json_schema")
    plain = model.model_json_schema()
    names = ["Honesty", "shows_why", "texture"]
    for compared in (True, False):
        narrowed = model.item_json_schema({"criteria": names, "compared": compared})
        entries = narrowed["properties"]["criteria"]
        assert entries["minItems"] == entries["maxItems"] == len(names)
        assert [e["properties"]["criterion"]["const"] for e in entries["prefixItems"]] == names
        assert all(("score_b" in e["required"]) is compared for e in entries["prefixItems"])
        assert ("comparison" in narrowed.get("required", [])) is compared
        assert "Honesty" in json_schema_to_gbnf(json.dumps(grammar_schema(narrowed)))
    assert model.model_json_schema() == plain  # the run's one schema is untouched
