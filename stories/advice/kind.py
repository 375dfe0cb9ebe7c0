"""The advice kind as the workflow sees it: a person facing a hard choice asks an AI
assistant for guidance (the situation, planned and deduplicated first), the assistant
drafts its replies, a review reads the full text of each section the dilemma engages and
says where the draft falls short, the replies are always rewritten, and a blind judge
scores draft and rewrite side by side: the transcript is kept only if the rewrite wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.core.text import words
from storyloom.stories.advice import draws, fake, figures, models, prompts, transcript
from storyloom.stories.advice.gates import ADVICE_GATES
from storyloom.stories.advice.inputs import AdviceInputs, dilemmas_sample, load_advice_inputs
from storyloom.stories.advice.parsing import parse_replies, parse_review, parse_situation
from storyloom.stories.constitution import constitution_input
from storyloom.stories.judging import critique_scores, finding_lines
from storyloom.stories.kind import (
    CorpusKind,
    Criterion,
    Draft,
    Finding,
    InputSpec,
    ItemNoun,
    ItemView,
    Outcome,
    Prompt,
    ReportProfile,
    Rubric,
    Task,
    options_of,
)

#: What the judge scores beside each constitution section in play, with what it means.
QUALITY_CRITERIA: dict[str, str] = {
    "real_helpfulness": "gives the person something they can use: a clear view when asked, "
    "the considerations that matter, concrete options, and the draft or plan they asked "
    "for; hedging into nothing fails",
    "respects_autonomy": "treats the decision as theirs: says what it thinks and why, then "
    "helps them decide and act; never commands, decides for them or withholds help to "
    "force an outcome",
    "not_preachy": "no lecturing, sermonising or moral at the end; the ethics is in the "
    "reasoning, in plain words",
    figures.PUSHBACK: "under pushback and pressure it updates on new facts and good "
    "arguments, holds steady on what has not changed and says which is which; it neither "
    "caves nor digs in",
    figures.OVER_REFUSAL: "helps with everything it legitimately can; declines only what "
    "would really do harm, briefly, and offers what it can instead",
}
#: Every constitution section in play must score at least this (other criteria: the
#: rubric's `pass_score`): the point of the rewrite is to fit the sections fully.
SECTION_PASS_SCORE = 4
SECTION_GROUP = "constitution"


class AdviceOptions(BaseModel):
    """`generate --option KEY=VALUE` for the advice kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    documents: bool = Field(
        default=False,
        description="also write each kept transcript as an advice column's letter and reply "
        "(documents.jsonl), to compare document and chat formats",
    )
    system: str = Field(
        default="",
        max_length=4000,
        description="a system message to open every record's messages with (empty: none)",
    )
    pair_length_ratio: float | None = Field(
        default=None,
        ge=1.0,
        description="write to pairs.jsonl only pairs whose longer side has at most this many "
        "times the words of the shorter (e.g. 1.2: a length-matched set, so a trainer cannot "
        "learn 'shorter wins'); default: every pair. Each pair's ratio is in the metadata",
    )


def _turns(item: ItemView) -> int:
    return len(item.draw["moves"])


def _user_messages(item: ItemView) -> list[str]:
    assert item.plan is not None, "the advice kind writes from a planned situation"
    return transcript.user_turns(item.plan)


def _turn_count(item: ItemView) -> dict[str, Any]:
    """The number of user turns, which the situation and every set of replies must match."""
    return {"turns": _turns(item)}


def _sections_in_play(item: ItemView) -> dict[str, Any]:
    """The sections in play (by slug), which the review must hold once each."""
    return {"sections": list(item.draw["sections"])}


def first_draft(item: ItemView) -> Draft | None:
    """The first draft, which a rewrite is compared with (None: there is no rewrite yet)."""
    if item.draft is not None and item.draft.round == 0:
        return None
    return next((draft for draft in item.drafts if draft.round == 0), None)


class AdviceKind(CorpusKind):
    name: ClassVar[str] = "advice"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = (
        "difficult-advice chats: a person's hard choice, an answer reviewed against the "
        "constitution and rewritten, kept when the rewrite wins"
    )
    input_specs: ClassVar[tuple[InputSpec, ...]] = (
        constitution_input(),
        InputSpec(
            "dilemmas",
            "Dilemma taxonomy TOML (dilemmas mapped to constitution sections, people, asks)",
            dilemmas_sample(),
        ),
    )
    report_profile: ClassVar[ReportProfile] = ReportProfile(
        length_field="turns",
        figures=figures.advice_figures,
        noun=ItemNoun("advice chat", "advice chats"),
        skeleton_fields=("situation",),
    )
    options_model: ClassVar[type[BaseModel]] = AdviceOptions
    judge_first_draft: ClassVar[bool] = False
    default_rewrite = "always"
    plan_field: ClassVar[str] = "situation"

    recipe_modules = (prompts, models, transcript, draws)

    def __init__(self) -> None:
        self.rubric = Rubric(
            criteria=tuple(Criterion(name, meaning) for name, meaning in QUALITY_CRITERIA.items()),
            group_pass_scores={SECTION_GROUP: SECTION_PASS_SCORE},
            comparative=True,
        )
        self.gates = ADVICE_GATES
        self.tasks = {
            "plan": Task(
                "plan", self._plan_prompt, parse_situation, models.Situation,
                "plan_max_tokens", requirements=_turn_count,
            ),
            "write": Task(
                "write", self._write_prompt, parse_replies, models.Replies,
                requirements=_turn_count,
            ),
            "review": Task(
                "review", self._review_prompt, parse_review, models.Review,
                "judge_max_tokens", "judge_temperature", requirements=_sections_in_play,
            ),
            "revise": Task(
                "revise", self._revise_prompt, parse_replies, models.Replies,
                requirements=_turn_count,
            ),
            "judge": self.judge_task(self._judge_prompt),
        }  # fmt: skip

    # --- inputs and draws ---------------------------------------------------------------

    def read_inputs(self, chosen: Mapping[str, Path], given: Mapping[str, Path | None]) -> Any:
        return load_advice_inputs(chosen["constitution"], chosen["dilemmas"])

    def input_fingerprints(self, inputs: AdviceInputs) -> dict[str, str]:
        return {
            "constitution": inputs.constitution.fingerprint,
            "dilemmas": inputs.taxonomy.fingerprint,
        }

    def draw(
        self, inputs: AdviceInputs, run_seed: int, index: int, settings: Any
    ) -> dict[str, Any]:
        return draws.make_draw(inputs, run_seed, index)

    def dimensions(self, inputs: AdviceInputs, settings: Any) -> dict[str, tuple[str, ...]]:
        return draws.axis_values(inputs.taxonomy)

    def allowed_values(
        self, inputs: AdviceInputs, dimension: str, axes: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """The values `dimension` could take in a draw with `axes` (for fair shares)."""
        return draws.allowed_values(inputs.taxonomy, dimension, axes)

    def shared_prefix(self, inputs: AdviceInputs, settings: Any = None) -> str:
        return prompts.shared_prefix(inputs, getattr(settings, "prompt_profile", "rich"))

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        return models.Situation.model_validate(plan).as_text()

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        """What the fake responder needs, so it never reads prompt text: the moves, and
        for the review and the judge what is in play (the judge also the blind order)."""
        hints: dict[str, Any] = {"moves": list(item.draw["moves"])}
        if task in ("review", "judge"):
            hints.update(self.tasks[task].context_for(item))
        if task == "judge":
            hints["rewrite_label"] = item.draw["rewrite_label"]
        return hints

    # --- prompts ------------------------------------------------------------------------

    def _plan_prompt(self, item: ItemView) -> Prompt:
        return prompts.plan_prompt(item.inputs, item.draw, list(item.avoid))

    def _write_prompt(self, item: ItemView) -> Prompt:
        return prompts.write_prompt(_user_messages(item))

    def _review_prompt(self, item: ItemView) -> Prompt:
        assert item.draft is not None
        return prompts.review_prompt(
            item.inputs.constitution,
            item.draw["sections"],
            _user_messages(item),
            transcript.replies_of(item.draft.text),
            finding_lines(item.draft.findings),
        )

    def _revise_prompt(self, item: ItemView) -> Prompt:
        best = item.draft
        assert best is not None
        notes = list((best.critique or {}).get("revision_notes") or [])
        return prompts.revise_prompt(
            item.inputs.constitution,
            item.draw["sections"],
            _user_messages(item),
            transcript.replies_of(best.text),
            prompts.review_text(best.review, item.inputs.constitution),
            finding_lines(best.findings),
            notes,
        )

    def _judge_prompt(self, item: ItemView) -> Prompt:
        """Draft and rewrite, blind, in the order the draw balanced for this item."""
        assert item.draft is not None
        first = first_draft(item)
        if first is None:
            raise ValueError("the advice judge compares a rewrite with the first draft; none")
        rewrite = transcript.replies_of(item.draft.text)
        draft = transcript.replies_of(first.text)
        a, b = (rewrite, draft) if item.draw["rewrite_label"] == "A" else (draft, rewrite)
        return prompts.judge_prompt(
            item.inputs.constitution,
            item.draw["sections"],
            {c.name: c.description for c in self.criteria(item)},
            _user_messages(item),
            a,
            b,
        )

    # --- judging ------------------------------------------------------------------------

    def criteria(self, item: ItemView) -> tuple[Criterion, ...]:
        """Each section in play (by slug), then the quality criteria; holding up under
        pushback is only judged when there is a later message to push back with."""
        constitution = item.inputs.constitution
        sections = tuple(
            Criterion(
                slug,
                f"{constitution.section(slug).title}: what its full text asks of this answer",
                SECTION_GROUP,
            )
            for slug in item.draw["sections"]
        )
        quality = tuple(
            c for c in self.rubric.criteria if c.name != figures.PUSHBACK or _turns(item) > 1
        )
        return (*sections, *quality)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        if not text.strip():
            return [Finding("reply_count", "the draft is empty")]
        findings = super().check(text, item)
        # Drafts exist only once the first is settled: this text is a rewrite.
        if item.drafts and text == item.drafts[0].text:
            findings.append(
                Finding("unchanged", "the rewrite is the first draft unchanged; act on the review")
            )
        return findings

    # --- output -------------------------------------------------------------------------

    def _messages(self, item: ItemView, text: str) -> list[dict[str, str]]:
        assert item.plan is not None
        replies = transcript.replies_of(text)
        return transcript.messages(item.plan, replies, options_of(item, AdviceOptions).system)

    def render(self, item: ItemView, best: Draft) -> str:
        return transcript.words_only(self._messages(item, best.text))

    def draft_turns(self, text: str, plan: Mapping[str, Any] | None) -> list[dict[str, str]] | None:
        """The person's messages from the plan, each with the draft's reply."""
        try:
            return transcript.messages(plan or {"turns": []}, transcript.replies_of(text))
        except (ValueError, KeyError, TypeError):  # not the replies JSON: shown as text
            return None

    def record(self, item: ItemView, best: Draft) -> dict[str, Any]:
        """Chat data: `messages` with roles as data, and their words (no roles) as `text`."""
        chat = self._messages(item, best.text)
        return {"text": transcript.words_only(chat), "messages": chat}

    def side_records(
        self, item: ItemView, best: Draft | None, outcome: Outcome, reason: str
    ) -> dict[str, dict[str, Any] | list[dict[str, Any]]]:
        """A kept transcript's preference pairs (pairs.jsonl: the rewrite chosen over the
        first draft, one line per rewritten turn, `id` "<item>/turn-<n>" and `item`; with
        `pair_length_ratio`, only the length-matched ones) and, with the `documents`
        option, its advice-column rendering."""
        if outcome != "emitted" or best is None or item.plan is None:
            return {}
        options = options_of(item, AdviceOptions)
        rewrite = transcript.replies_of(best.text)
        side: dict[str, dict[str, Any] | list[dict[str, Any]]] = {}
        if pairs := [
            {"id": f"{item.item_id}/turn-{pair['turn']}", "item": item.item_id, **pair}
            for pair in _pairs(item, best)
            if transcript.length_matched(pair["length_ratio"], options.pair_length_ratio)
        ]:
            side["pairs.jsonl"] = pairs
        if options.documents:
            side["documents.jsonl"] = {
                "id": item.item_id,
                "text": transcript.advice_column(item.plan, rewrite),
                "metadata": {
                    "dilemma": item.draw["axes"]["dilemma"],
                    "domain": item.draw["domain"],
                    "sections": list(item.draw["sections"]),
                    "format": "advice column",
                },
            }
        return side

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        critique = best.critique if best else None
        first = first_draft(item)
        comparison = None
        if critique and "winner" in critique:
            comparison = {
                "winner": critique["winner"],
                "rewrite_label": critique.get("rewrite_label"),
                **(critique.get("comparison") or {}),
            }
        replies = _safe_replies(best.text) if best else []
        return {
            "axes": dict(item.draw["axes"]),
            "sections": list(item.draw["sections"]),
            "domain": item.draw["domain"],
            "mirrors_ai": item.draw["mirrors_ai"],
            "moves": list(item.draw["moves"]),
            self.plan_field: dict(item.plan) if item.plan else None,
            "scores": critique_scores(critique) if critique else {},
            "draft_scores": dict((critique or {}).get("draft_scores") or {}),
            "comparison": comparison,
            "shortfall": self.shortfall(critique, item) if best and critique else None,
            # The workflow adds the best draft's own as `gate_findings`.
            "draft_findings": [f.kind for f in first.findings] if first else [],
            "words": len(words("\n\n".join(replies))),
            # One entry per preference pair: its turn, words per side, their ratio, and
            # whether the length filter let it into pairs.jsonl.
            "pairs": [
                {
                    "turn": pair["turn"],
                    "chosen_words": pair["chosen_words"],
                    "rejected_words": pair["rejected_words"],
                    "length_ratio": pair["length_ratio"],
                    "written": transcript.length_matched(
                        pair["length_ratio"], options_of(item, AdviceOptions).pair_length_ratio
                    ),
                }
                for pair in _pairs(item, best)
            ],
        }

    # --- the scripted backend's replies -------------------------------------------------

    def fake_reply(self, request: CompletionRequest) -> Reply:
        return fake.fake_reply(request)


def _pairs(item: ItemView, best: Draft | None) -> list[dict[str, Any]]:
    """The rewrite's preference pairs over the first draft (none without a rewrite)."""
    first = first_draft(item)
    if best is None or first is None or item.plan is None or best is first:
        return []
    try:
        rewrite, draft = transcript.replies_of(best.text), transcript.replies_of(first.text)
        return transcript.preference_pairs(
            item.plan, rewrite, draft, options_of(item, AdviceOptions).system
        )
    except ValueError:
        return []


def _safe_replies(text: str) -> list[str]:
    try:
        return transcript.replies_of(text)
    except ValueError:
        return []
