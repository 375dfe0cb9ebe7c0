"""Structured outputs the LLM fills in: a story premise and a judge's critique.

Constraints live in validators as well as in the schema because some SDKs move
`minimum`/`maximum` out of the JSON schema they send.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

# Length caps are part of the schema so grammar-constrained decoding (llama.cpp) cannot
# loop inside one string until it runs out of tokens, as small models otherwise do.
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=1200)]


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
        description="Three to six story beats, in order.", min_length=2, max_length=8
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
