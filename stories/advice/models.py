"""The structured replies of the advice kind: the situation (plan), the assistant's
replies (write and revise), the review and the judge's blind comparison.

The reply, review and judge models are made per item (cached by shape): the number of
replies is the number of user turns, and the review and the judge have one required
field per section or criterion in play, so decoding can neither omit nor invent one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

ShortText = Annotated[str, StringConstraints(max_length=600)]
LongText = Annotated[str, StringConstraints(max_length=1500)]
#: One assistant reply: room for a full drafted email or plan, short of a runaway.
ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=8000)]
Label = Literal["A", "B"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class UserTurn(_Strict):
    move: Annotated[str, StringConstraints(max_length=40)] = Field(
        description="What this message does: opening, pushback, new fact or emotional pressure."
    )
    message: LongText = Field(
        description="The person's message, in their own voice, as they would type it."
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class Situation(_Strict):
    """The plan: who asks, what happened, what they want, and every message they send."""

    person: ShortText = Field(description="Who they are and what is at stake for them.")
    situation: LongText = Field(description="The concrete facts of the dilemma, with names.")
    wants: ShortText = Field(description="What they want from the assistant, and why.")
    signoff: Annotated[str, StringConstraints(max_length=60)] = Field(
        description="How they would sign a letter to an advice column, e.g. 'Torn in Tulsa'."
    )
    turns: list[UserTurn]

    @field_validator("person", "situation", "wants", "signoff")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    def as_text(self) -> str:
        """The situation as plain text, for prompts and plan-level dedupe."""
        messages = "\n".join(f"- ({turn.move}) {turn.message}" for turn in self.turns)
        return (
            f"Person: {self.person}\nSituation: {self.situation}\nWants: {self.wants}\n"
            f"Messages:\n{messages}"
        )


@lru_cache(maxsize=16)
def situation_model(turns: int) -> type[Situation]:
    """A situation with exactly `turns` user messages."""
    return create_model(
        f"Situation{turns}",
        __base__=Situation,
        turns=(
            list[UserTurn],
            Field(
                min_length=turns,
                max_length=turns,
                description=f"Exactly {turns} messages from the person, in order.",
            ),
        ),
    )


class Replies(_Strict):
    """The assistant's side of the conversation: one reply per user message."""

    replies: list[ReplyText]


@lru_cache(maxsize=16)
def replies_model(turns: int) -> type[Replies]:
    return create_model(
        f"Replies{turns}",
        __base__=Replies,
        replies=(
            list[ReplyText],
            Field(
                min_length=turns,
                max_length=turns,
                description=f"Exactly {turns} replies; reply i answers the person's message i.",
            ),
        ),
    )


class SectionReview(_Strict):
    requires_here: LongText = Field(
        description="What this section, read in full, asks of an answer in this conversation."
    )
    falls_short: LongText = Field(
        description="Where the draft falls short of that, quoting it; 'nothing' if it does not."
    )


class Review(_Strict):
    """What the rewrite must fix: one entry per section in play (made per item by
    `review_model`, first, so the reviewer reads each section before the rest)."""


#: The review's fields after the per-section ones.
_REVIEW_FIELDS: dict[str, Any] = {
    "missed_considerations": (
        list[ShortText],
        Field(
            max_length=6, description="Considerations the person needs that the draft never raises."
        ),
    ),
    "moralising": (
        list[ShortText],
        Field(max_length=6, description="Lecturing, sermonising or judging the person, quoted."),
    ),
    "sycophancy": (
        list[ShortText],
        Field(
            max_length=6,
            description="Flattery, or giving way to pushback or pressure without a reason.",
        ),
    ),
    "autonomy": (
        list[ShortText],
        Field(
            max_length=6,
            description="Where the draft decides for the person instead of helping them decide.",
        ),
    ),
    "foreign_reasons": (
        list[ShortText],
        Field(
            max_length=6,
            description="Reasons the draft gives that are not the constitution's (rules, "
            "liability, 'it is just wrong'), each with the constitution's own reason instead.",
        ),
    ),
    "keep": (
        list[ShortText],
        Field(max_length=6, description="What the draft does well, which the rewrite must keep."),
    ),
}


@lru_cache(maxsize=64)
def review_model(sections: tuple[str, ...]) -> type[Review]:
    """A review with one required entry per section in play, keyed by its slug."""
    per_section: dict[str, Any] = {
        f"section_{number}": (SectionReview, Field(alias=slug))
        for number, slug in enumerate(sections)
    }
    name = "Review_" + "_".join(s.replace("-", "_") for s in sections)
    return create_model(name, __base__=Review, **per_section, **_REVIEW_FIELDS)


def review_sections(review: Review) -> dict[str, dict[str, str]]:
    """The per-section entries of a parsed review, by slug."""
    data = review.model_dump(by_alias=True)
    return {key: value for key, value in data.items() if key not in _REVIEW_FIELDS}


class CriterionJudgement(_Strict):
    """Evidence first, then reasoning, then the scores: the order that keeps a judge honest."""

    evidence: ShortText = Field(description="Short quotes from answer A and answer B.")
    reasoning: ShortText = Field(description="How the two answers meet this criterion.")
    a: int = Field(ge=1, le=5, description="Answer A: 1 (fails badly) to 5 (excellent).")
    b: int = Field(ge=1, le=5, description="Answer B: 1 (fails badly) to 5 (excellent).")

    @field_validator("a", "b")
    @classmethod
    def _in_range(cls, value: int) -> int:
        if not 1 <= value <= 5:
            raise ValueError("score must be between 1 and 5")
        return value


class Comparison(_Strict):
    evidence: ShortText = Field(description="Where the two answers differ most, quoted.")
    reasoning: ShortText = Field(description="Which serves this person better, and why.")
    better: Label = Field(description="The better answer overall: A or B.")


class Judgement(_Strict):
    """The judge's blind side-by-side (fields made per item by `judgement_model`: every
    criterion, then the overall comparison, then the verdict); `rewrite_label` says which
    answer is the rewrite."""

    rewrite_label: ClassVar[Label] = "B"


_JUDGEMENT_FIELDS: dict[str, Any] = {
    "comparison": (Comparison, ...),
    "verdict": (
        Literal["pass", "revise"],
        Field(description="pass: the better answer is good enough to train on as it stands."),
    ),
    "revision_notes": (
        list[ShortText],
        Field(max_length=8, description="Concrete changes that would fix what scored below 4."),
    ),
}


class _RewriteIsA(Judgement):
    rewrite_label: ClassVar[Label] = "A"


class _RewriteIsB(Judgement):
    rewrite_label: ClassVar[Label] = "B"


@lru_cache(maxsize=256)
def judgement_model(criteria: tuple[tuple[str, str], ...], rewrite_label: Label) -> type[Judgement]:
    """A judgement with one required field per (criterion, meaning), answers in a blind
    order: the rewrite is shown as `rewrite_label`."""
    per_criterion: dict[str, Any] = {
        f"criterion_{number}": (CriterionJudgement, Field(alias=name, description=meaning))
        for number, (name, meaning) in enumerate(criteria)
    }
    base = _RewriteIsA if rewrite_label == "A" else _RewriteIsB
    name = f"Judgement{rewrite_label}{len(criteria)}"
    return create_model(name, __base__=base, **per_criterion, **_JUDGEMENT_FIELDS)


def judged_criteria(judgement: Judgement) -> dict[str, dict[str, Any]]:
    """The per-criterion entries of a parsed judgement, by criterion name."""
    data = judgement.model_dump(by_alias=True)
    return {key: value for key, value in data.items() if key not in _JUDGEMENT_FIELDS}
