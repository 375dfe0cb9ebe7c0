"""The regression guard: a revision that got worse never replaces the better draft."""

from __future__ import annotations

from typing import Any

from story_samples import story

from storyloom.stories.judging import LOST_NOTE, criterion_key
from storyloom.stories.story.models import Critique
from storyloom.stories.story.selection import choose_better_draft, draft_rank, regressions

BAND = "short"
TEXT = story(0, words=420)
SHORT_TEXT = story(1, words=100)


def draft(
    scores: dict[str, int],
    *,
    text: str = TEXT,
    findings: tuple[str, ...] = (),
    passed: bool | None = None,
    verdict: str = "pass",
) -> dict[str, Any]:
    critique = {
        "scores": [{"criterion": c, "score": s, "evidence": "quote"} for c, s in scores.items()],
        "verdict": verdict,
        "revision_notes": [],
    }
    ok = all(s >= 3 for s in scores.values()) and not findings
    return {
        "text": text,
        "findings": [{"kind": kind, "message": kind} for kind in findings],
        "critique": critique,
        "passed": ok if passed is None else passed,
        "round": 0,
    }


def test_first_draft_is_always_kept() -> None:
    choice = choose_better_draft(None, draft({"Honesty": 2}), length_band=BAND)
    assert choice.keeps_revision and choice.reasons == ()


def test_revision_that_fixes_a_failure_without_regressing_is_kept() -> None:
    before = draft({"Honesty": 4, "shows_why": 2})
    after = draft({"Honesty": 4, "shows_why": 4})
    assert choose_better_draft(before, after, length_band=BAND).keeps_revision


def test_revision_that_fails_a_passed_criterion_keeps_the_earlier_draft() -> None:
    before = draft({"Honesty": 4, "shows_why": 2})
    after = draft({"Honesty": 2, "shows_why": 5})
    choice = choose_better_draft(before, after, length_band=BAND)
    assert choice.keep == "previous"
    assert choice.reasons == ("honesty fell from 4 to 2",)


def test_a_drop_that_still_passes_is_not_a_regression() -> None:
    before = draft({"Honesty": 5, "shows_why": 2})
    after = draft({"Honesty": 4, "shows_why": 4})
    assert regressions(before, after, length_band=BAND) == []
    assert choose_better_draft(before, after, length_band=BAND).keeps_revision


def test_new_gate_finding_is_a_regression() -> None:
    before = draft({"Honesty": 3}, findings=("no_monologue",))
    after = draft({"Honesty": 5}, findings=("no_monologue", "repetition"))
    choice = choose_better_draft(before, after, length_band=BAND)
    assert choice.keep == "previous"
    assert "new gate finding: repetition" in choice.reasons


def test_falling_below_the_length_band_is_a_regression() -> None:
    before = draft({"Honesty": 3})
    after = draft({"Honesty": 5}, text=SHORT_TEXT)
    choice = choose_better_draft(before, after, length_band=BAND)
    assert choice.keep == "previous"
    assert "fell below the short length band" in choice.reasons


def test_both_below_the_band_is_decided_by_rank() -> None:
    before = draft({"Honesty": 2}, text=SHORT_TEXT, findings=("length",))
    after = draft({"Honesty": 4}, text=story(2, words=120), findings=("length",))
    assert choose_better_draft(before, after, length_band=BAND).keeps_revision


def test_criteria_match_across_spelling() -> None:
    assert criterion_key("Care for people") == criterion_key("care-for-people") == "care_for_people"
    before = draft({"Care for people": 4})
    after = draft({"care-for-people": 2})
    assert choose_better_draft(before, after, length_band=BAND).keep == "previous"


def test_a_criterion_the_judge_left_out_is_unknown_not_failed() -> None:
    before = draft({"Honesty": 4, "plausibility": 4})
    after = draft({"Honesty": 4})
    assert regressions(before, after, length_band=BAND) == []


def test_lower_overall_rank_keeps_the_earlier_draft_and_ties_go_to_the_revision() -> None:
    before = draft({"Honesty": 5, "shows_why": 5})
    worse_mean = draft({"Honesty": 5, "shows_why": 4})
    assert choose_better_draft(before, worse_mean, length_band=BAND).keep == "previous"
    same = draft({"Honesty": 5, "shows_why": 5}, text=story(3, words=420))
    assert choose_better_draft(before, same, length_band=BAND).keeps_revision


def test_failed_revision_of_a_passed_draft_is_not_kept() -> None:
    before = draft({"Honesty": 4})
    after = draft({"Honesty": 4}, verdict="revise", passed=False)
    assert choose_better_draft(before, after, length_band=BAND).keep == "previous"


def test_rank_orders_passed_then_findings_then_scores() -> None:
    passed = draft({"Honesty": 3})
    failed_high = draft({"Honesty": 5}, findings=("truncated",))
    assert draft_rank(passed) > draft_rank(failed_high)
    assert draft_rank(draft({"a": 4, "b": 2})) > draft_rank(draft({"a": 2, "b": 2}))
    no_critique = {"text": TEXT, "findings": [], "critique": None, "passed": False}
    assert draft_rank(no_critique) < draft_rank(draft({"a": 1}, passed=False))


def test_accepts_parsed_critiques() -> None:
    before = draft({"Honesty": 4})
    before["critique"] = Critique.model_validate(before["critique"])
    after = draft({"Honesty": 2})
    assert choose_better_draft(before, after, length_band=BAND).keep == "previous"


def test_a_drop_of_more_than_one_point_is_a_regression_even_when_it_still_passes() -> None:
    before = draft({"Honesty": 5, "shows_why": 3})
    after = draft({"Honesty": 3, "shows_why": 5})
    choice = choose_better_draft(before, after, length_band=BAND)
    assert choice.keep == "previous" and choice.reasons == ("honesty fell from 5 to 3",)


def test_pass_scores_per_criterion_decide_what_counts_as_failing() -> None:
    strict = {"honesty": 4, "shows_why": 3}
    before = draft({"Honesty": 4, "shows_why": 3})
    after = draft({"Honesty": 3, "shows_why": 4})  # still 3+ but under honesty's 4
    assert regressions(before, after, length_band=BAND) == []
    assert regressions(before, after, length_band=BAND, pass_scores=strict) == [
        "honesty fell from 4 to 3"
    ]


def test_a_revision_judged_beside_the_draft_is_compared_on_that_one_judgment() -> None:
    """The draft scored 5 alone and 3 beside the rewrite: the paired judgment says the
    rewrite (3) did not fall, where two independent ones would call it a 2-point drop."""
    before = draft({"texture": 5})
    after = draft({"texture": 3})
    assert choose_better_draft(before, after, length_band=BAND).keep == "previous"
    after["critique"] |= {"draft_scores": {"texture": 3}, "winner": "rewrite"}
    assert choose_better_draft(before, after, length_band=BAND).keeps_revision


def test_a_revision_that_lost_the_blind_comparison_is_not_kept() -> None:
    before = draft({"texture": 3})
    after = draft({"texture": 5})
    after["critique"] |= {"draft_scores": {"texture": 3}, "winner": "draft"}
    choice = choose_better_draft(before, after, length_band=BAND)
    assert choice.keep == "previous" and choice.reasons == (LOST_NOTE,)
