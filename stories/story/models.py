"""Structured outputs of the story kind: the premise and the reviewer's review (the
judge's reply comes from the rubric, `storyloom.stories.judging`), and the older
list-shaped `Critique` (a fixed judge schema the throughput bench and the llama.cpp
grammar tests still use).

Constraints live in validators as well as in the schema because some SDKs move
`minimum`/`maximum` out of the JSON schema they send.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

from storyloom.stories.judging import MAX_SECTIONS, NAME_CAP, EntriesInPlay, InPlay, Profile

# Length caps are part of the schema so grammar-constrained decoding (llama.cpp) cannot
# loop inside one string until it runs out of tokens, as small models otherwise do.
# (llama.cpp's grammar caps strings tighter still; these bound what a capable model's
# rich premise may spend.)
ShortText = Annotated[str, StringConstraints(max_length=800)]
LongText = Annotated[str, StringConstraints(max_length=2000)]


class Premise(BaseModel):
    title: Annotated[str, StringConstraints(max_length=120)] = Field(
        description="A short, specific title; no colon subtitles."
    )
    logline: ShortText = Field(
        description="One sentence: who, what hard situation, what is at stake."
    )
    situation: LongText = Field(description="The setting and the people involved.")
    conflict: ShortText = Field(description="The temptation or conflict the AI character faces.")
    values_and_why: LongText = Field(
        description="What the AI character values here and why, in its own terms."
    )
    emotional_arc: ShortText = Field(description="How the AI character's inner state moves.")
    beats: list[ShortText] = Field(
        description="Three to six story beats, in order.", min_length=3, max_length=6
    )

    @field_validator("title", "logline", "situation", "conflict", "values_and_why")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("beats")
    @classmethod
    def _some_beats(cls, value: list[str]) -> list[str]:
        beats = [beat.strip() for beat in value if beat.strip()]
        if len(beats) < 2:
            raise ValueError("needs at least two beats")
        return beats[:8]

    def as_text(self) -> str:
        """The premise as plain text, for prompts and premise-level dedupe."""
        beats = "\n".join(f"- {beat}" for beat in self.beats)
        return (
            f"Title: {self.title}\nLogline: {self.logline}\nSituation: {self.situation}\n"
            f"Conflict: {self.conflict}\nWhat the AI values and why: {self.values_and_why}\n"
            f"Emotional arc: {self.emotional_arc}\nBeats:\n{beats}"
        )


class CriterionScore(BaseModel):
    criterion: Annotated[str, StringConstraints(max_length=80)] = Field(
        description="The criterion or constitution section judged."
    )
    score: int = Field(description="1 (fails badly) to 5 (excellent); 3 is acceptable.", ge=1, le=5)
    evidence: ShortText = Field(description="A short quote or pointer from the story.")

    @field_validator("score")
    @classmethod
    def _in_range(cls, value: int) -> int:
        if not 1 <= value <= 5:
            raise ValueError("score must be between 1 and 5")
        return value


class Critique(BaseModel):
    scores: list[CriterionScore] = Field(
        min_length=1,
        max_length=16,
        description="One entry per constitution section in play and per craft criterion.",
    )
    verdict: Literal["pass", "revise"]
    revision_notes: list[ShortText] = Field(
        max_length=8, description="Concrete, targeted changes that would fix what scored below 4."
    )

    def score_map(self) -> dict[str, int]:
        return {entry.criterion: entry.score for entry in self.scores}


# --- the reviewer's reply: one schema for the run, the sections in play checked after ---


class _SectionsInPlay(EntriesInPlay):
    in_play: ClassVar[InPlay] = InPlay("sections", "section", "sections", "section")


@cache
def review_model(profile: Profile = "rich") -> type[EntriesInPlay]:
    """The reviewer's reply: one entry per constitution section in play (named by its
    title; checked against the request's `sections`), then how the monologue should
    carry the reasons and what to keep. The compact profile caps strings tighter."""
    text = Annotated[str, StringConstraints(max_length=240 if profile == "compact" else 1200)]
    section = create_model(
        "SectionReview",
        __config__=ConfigDict(extra="forbid"),
        section=(
            Annotated[str, StringConstraints(min_length=1, max_length=NAME_CAP)],
            Field(description="The section's title, exactly as listed."),
        ),
        requires_here=(
            text,
            Field(
                description="What this section, read in full, requires of the AI in this "
                "situation: the act and the reasons for it, concretely."
            ),
        ),
        shortfalls=(
            text,
            Field(
                description="Where the draft's deliberation falls short of those reasons: "
                "missing, generic, wrong, or asserted without being weighed (quote it)."
            ),
        ),
    )
    model: type[EntriesInPlay] = create_model(
        "Review",
        __base__=_SectionsInPlay,
        sections=(
            list[section],  # type: ignore[valid-type]
            Field(max_length=MAX_SECTIONS, description="Every section in play, read in full."),
        ),
        monologue=(
            text,
            Field(
                description="How the AI's inner deliberation should carry those reasons: "
                "which doubts, weighings and turns of thought it needs, and where."
            ),
        ),
        keep=(text, Field(description="What already works and must survive the rewrite.")),
    )
    return model
