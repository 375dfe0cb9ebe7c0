"""The advice kind as the workflow sees it: a person facing a hard choice asks an AI
assistant for guidance (the situation, planned and deduplicated first), the assistant
drafts its replies, a review reads the full text of each section the dilemma engages and
says where the draft falls short, the replies are always rewritten, and a blind judge
scores draft and rewrite side by side: the transcript is kept only if the rewrite wins.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.core.text import words
from storyloom.stories.advice import draws, fake, figures, models, prompts, transcript
from storyloom.stories.advice.gates import ADVICE_GATES
from storyloom.stories.advice.inputs import AdviceInputs, dilemmas_sample, load_advice_inputs
from storyloom.stories.advice.parsing import (
    LOST_NOTE,
    parse_judgement,
    parse_replies,
    parse_review,
    parse_situation,
)
from storyloom.stories.constitution import constitution_input
from storyloom.stories.kind import (
    CorpusKind,
    Criterion,
    Draft,
    Finding,
    InputSpec,
    ItemView,
    LoadedInputs,
    Outcome,
    Prompt,
    ReportProfile,
    Rubric,
    Task,
    critique_scores,
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


def _turns(item: ItemView) -> int:
    return len(item.draw["moves"])


def _user_messages(item: ItemView) -> list[str]:
    assert item.plan is not None, "the advice kind writes from a planned situation"
    return transcript.user_turns(item.plan)


def _finding_lines(draft: Draft | None) -> list[str]:
    return [f"{f.kind}: {f.message}" for f in draft.findings] if draft else []


def first_draft(item: ItemView) -> Draft | None:
    """The first draft, which a rewrite is compared with (None: there is no rewrite yet)."""
    if item.draft is not None and item.draft.round == 0:
        return None
    return next((draft for draft in item.drafts if draft.round == 0), None)


def _options(item: ItemView) -> AdviceOptions:
    return item.options if isinstance(item.options, AdviceOptions) else AdviceOptions()


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
        length_field="turns", figures=figures.advice_figures
    )
    options_model: ClassVar[type[BaseModel]] = AdviceOptions
    judge_first_draft: ClassVar[bool] = False
    default_rewrite = "always"
    plan_field: ClassVar[str] = "situation"

    def __init__(self) -> None:
        self.rubric = Rubric(
            criteria=tuple(Criterion(name, meaning) for name, meaning in QUALITY_CRITERIA.items()),
            group_pass_scores={SECTION_GROUP: SECTION_PASS_SCORE},
        )
        self.gates = ADVICE_GATES
        # Plans, reviews and judgements of a multi-turn chat outgrow the story's plan and
        # judge budgets (a judge scores two versions on up to eight criteria with
        # evidence), so every task here takes the write budget.
        self.tasks = {
            "plan": Task(
                "plan", self._plan_prompt, parse_situation, self._situation_schema,
                "write_max_tokens",
            ),
            "write": Task("write", self._write_prompt, parse_replies, self._replies_schema),
            "review": Task(
                "review", self._review_prompt, parse_review, self._review_schema,
                "write_max_tokens", "judge_temperature",
            ),
            "revise": Task("revise", self._revise_prompt, parse_replies, self._replies_schema),
            "judge": Task(
                "judge", self._judge_prompt, parse_judgement, self._judge_schema,
                "write_max_tokens", "judge_temperature",
            ),
        }  # fmt: skip

    # --- inputs and draws ---------------------------------------------------------------

    def load_inputs(self, paths: Mapping[str, Path | None]) -> LoadedInputs:
        chosen = {spec.name: paths.get(spec.name) or spec.sample for spec in self.input_specs}
        assert chosen["constitution"] is not None and chosen["dilemmas"] is not None
        inputs = load_advice_inputs(chosen["constitution"], chosen["dilemmas"])
        return LoadedInputs(
            value=inputs,
            paths={name: str(path) for name, path in chosen.items()},
            fingerprints={
                "constitution": inputs.constitution.fingerprint,
                "dilemmas": inputs.taxonomy.fingerprint,
            },
        )

    def draw(
        self, inputs: AdviceInputs, run_seed: int, index: int, settings: Any
    ) -> dict[str, Any]:
        return draws.make_draw(inputs, run_seed, index)

    def dimensions(self, inputs: AdviceInputs, settings: Any) -> dict[str, tuple[str, ...]]:
        return draws.axis_values(inputs.taxonomy)

    def shared_prefix(self, inputs: AdviceInputs, settings: Any = None) -> str:
        return prompts.shared_prefix(inputs, getattr(settings, "prompt_profile", "rich"))

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        return models.Situation.model_validate(plan).as_text()

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        """What the fake responder needs, so it never reads prompt text."""
        hints: dict[str, Any] = {"moves": list(item.draw["moves"])}
        if task == "review":
            hints["sections"] = list(item.draw["sections"])
        if task == "judge":
            hints["criteria"] = [c.name for c in self.criteria(item)]
            hints["rewrite_label"] = item.draw["rewrite_label"]
        return hints

    # --- schemas and prompts ------------------------------------------------------------

    def _situation_schema(self, item: ItemView) -> type[BaseModel]:
        return models.situation_model(_turns(item))

    def _replies_schema(self, item: ItemView) -> type[BaseModel]:
        return models.replies_model(_turns(item))

    def _review_schema(self, item: ItemView) -> type[BaseModel]:
        return models.review_model(tuple(item.draw["sections"]))

    def _judge_schema(self, item: ItemView) -> type[BaseModel]:
        criteria = tuple((c.name, c.description) for c in self.criteria(item))
        return models.judgement_model(criteria, item.draw["rewrite_label"])

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
            _finding_lines(item.draft),
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
            _finding_lines(best),
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

    def passes(self, critique: Mapping[str, Any] | None, item: ItemView) -> bool:
        return self.shortfall(critique, item) is None

    def shortfall(self, critique: Mapping[str, Any] | None, item: ItemView) -> str | None:
        """Why a judged rewrite is not kept (None: it is): a gate finding, a criterion
        missing or under its bar, the verdict, or the rewrite losing the comparison."""
        assert item.draft is not None
        if critique is None:
            return "not judged"
        if item.draft.findings:
            return "; ".join(f.message for f in item.draft.findings)
        if critique.get("winner") != "rewrite":
            reasoning = (critique.get("comparison") or {}).get("reasoning", "")
            return f"{LOST_NOTE}: {reasoning}".rstrip(": ")
        scores = critique_scores(critique)
        for criterion in self.criteria(item):
            bar = self.rubric.pass_score_for(criterion)
            if criterion.name not in scores:
                return f"the judge did not score {criterion.name}"
            if scores[criterion.name] < bar:
                return f"{criterion.name} scored {scores[criterion.name]}, under {bar}"
        if critique.get("verdict") != "pass":
            return "the judge's verdict was revise"
        return None

    def combine_critiques(self, critiques: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """As every kind (mean score rounded down, pass only if all pass), plus the first
        draft's scores the same way; the rewrite wins only if every sample says so."""
        combined = super().combine_critiques(critiques)
        if len(critiques) == 1:
            return combined
        drafts: dict[str, list[int]] = {}
        for critique in critiques:
            for name, score in (critique.get("draft_scores") or {}).items():
                drafts.setdefault(name, []).append(int(score))
        lost = [c for c in critiques if c.get("winner") != "rewrite"]
        combined["draft_scores"] = {name: sum(s) // len(s) for name, s in drafts.items()}
        combined["winner"] = "draft" if lost else "rewrite"
        combined["comparison"] = (lost or list(critiques))[0].get("comparison") or {}
        combined["rewrite_label"] = critiques[0].get("rewrite_label")
        return combined

    # --- output -------------------------------------------------------------------------

    def _messages(self, item: ItemView, text: str) -> list[dict[str, str]]:
        assert item.plan is not None
        replies = transcript.replies_of(text)
        return transcript.messages(item.plan, replies, _options(item).system)

    def render(self, item: ItemView, best: Draft) -> str:
        return transcript.words_only(self._messages(item, best.text))

    def record(self, item: ItemView, best: Draft) -> dict[str, Any]:
        """Chat data: `messages` with roles as data, and their words (no roles) as `text`."""
        chat = self._messages(item, best.text)
        return {"text": transcript.words_only(chat), "messages": chat}

    def side_records(
        self, item: ItemView, best: Draft | None, outcome: Outcome, reason: str
    ) -> dict[str, dict[str, Any]]:
        """A kept transcript's preference pair (pairs.jsonl: the rewrite chosen over the
        first draft) and, with the `documents` option, its advice-column rendering."""
        first = first_draft(item)
        if outcome != "emitted" or best is None or item.plan is None or first is None:
            return {}
        options = _options(item)
        rewrite = transcript.replies_of(best.text)
        side = {
            "pairs.jsonl": {
                "id": item.item_id,
                **transcript.preference_pair(
                    item.plan, rewrite, transcript.replies_of(first.text), options.system
                ),
            }
        }
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
        }

    def recipe(self) -> dict[str, Any]:
        """Adds the prompt, schema and record-shaping code, so an edit refuses to resume."""
        modules = (prompts, models, transcript, draws)
        source = "\n".join(inspect.getsource(module) for module in modules)
        return {**super().recipe(), "code": hashlib.sha256(source.encode()).hexdigest()[:16]}

    # --- the scripted backend's replies -------------------------------------------------

    def fake_reply(self, request: CompletionRequest) -> Reply:
        return fake.fake_reply(request)


def _safe_replies(text: str) -> list[str]:
    try:
        return transcript.replies_of(text)
    except ValueError:
        return []
