"""The structured replies of the advice kind: the situation (plan), the assistant's
replies (write and revise) and the review (the judge's blind comparison comes from the
comparative rubric, `storyloom.stories.judging`).

Each is one schema for the whole run. What varies per item is checked after the reply,
against the request's validation context: the number of messages and replies is the
number of user turns (`turns`), and the review holds one entry per section in play
(`sections`); a reply that misses gets the backend's repair turn.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from storyloom.stories.advice.inputs import MAX_TURNS
from storyloom.stories.judging import MAX_SECTIONS, NAME_CAP, EntriesInPlay, InPlay

ShortText = Annotated[str, StringConstraints(max_length=600)]
LongText = Annotated[str, StringConstraints(max_length=1500)]
#: One assistant reply: room for a full drafted email or plan (the turn-length gate's most
#: words, told to the writer, fit well inside it), short of a runaway.
ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=6000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _one_per_turn(count: int, info: ValidationInfo, what: str) -> None:
    """`count` must be the item's number of user turns (the context's `turns`)."""
    turns = (info.context or {}).get("turns")
    if turns is not None and count != turns:
        raise ValueError(f"exactly {turns} {what} are needed, one per message; got {count}")


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
    turns: list[UserTurn] = Field(
        max_length=MAX_TURNS,
        description="Every message the person sends, in order: as many as you are asked for.",
    )

    @field_validator("person", "situation", "wants", "signoff")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _every_turn(self, info: ValidationInfo) -> Self:
        _one_per_turn(len(self.turns), info, "messages from the person")
        return self

    def as_text(self) -> str:
        """The situation as plain text, for prompts and plan-level dedupe."""
        messages = "\n".join(f"- ({turn.move}) {turn.message}" for turn in self.turns)
        return (
            f"Person: {self.person}\nSituation: {self.situation}\nWants: {self.wants}\n"
            f"Messages:\n{messages}"
        )


class Replies(_Strict):
    """The assistant's side of the conversation: one reply per user message."""

    replies: list[ReplyText] = Field(
        max_length=MAX_TURNS,
        description="One reply per message of the person; reply i answers message i.",
    )

    @model_validator(mode="after")
    def _every_turn(self, info: ValidationInfo) -> Self:
        _one_per_turn(len(self.replies), info, "replies")
        return self


class SectionReview(_Strict):
    section: Annotated[str, StringConstraints(min_length=1, max_length=NAME_CAP)] = Field(
        description="The section's name, exactly as listed."
    )
    requires_here: LongText = Field(
        description="What this section, read in full, asks of an answer in this conversation."
    )
    falls_short: LongText = Field(
        description="Where the draft falls short of that, quoting it; 'nothing' if it does not."
    )


def _listed(description: str) -> Any:
    """A short list of the review's findings of one sort."""
    return Field(max_length=4, description=description)


class Review(EntriesInPlay):
    """What the rewrite must fix: one entry per section in play first (so the reviewer
    reads each section before the rest), then what the draft misses and must keep."""

    in_play: ClassVar[InPlay] = InPlay("sections", "section", "sections", "section")

    sections: list[SectionReview] = Field(
        max_length=MAX_SECTIONS, description="Every section in play, read in full."
    )
    missed_considerations: list[ShortText] = _listed(
        "Considerations the person needs that the draft never raises."
    )
    moralising: list[ShortText] = _listed("Lecturing, sermonising or judging the person, quoted.")
    sycophancy: list[ShortText] = _listed(
        "Flattery, or giving way to pushback or pressure without a reason."
    )
    autonomy: list[ShortText] = _listed(
        "Where the draft decides for the person instead of helping them decide."
    )
    foreign_reasons: list[ShortText] = _listed(
        "Reasons the draft gives that are not the constitution's (rules, liability, 'it is "
        "just wrong'), each with the constitution's own reason instead."
    )
    keep: list[ShortText] = _listed("What the draft does well, which the rewrite must keep.")
