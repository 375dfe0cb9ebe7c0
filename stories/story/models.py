"""Structured outputs the LLM fills in: a story premise, the judge's judgment and the
reviewer's review (both built per item, naming what is in play), and the older
list-shaped `Critique` that parsed judgments are normalised to.

Constraints live in validators as well as in the schema because some SDKs move
`minimum`/`maximum` out of the JSON schema they send.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

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


# --- per-item schemas: one required field per criterion (or section) in play -----------
#
# A judge whose schema names every criterion can neither omit nor invent one under
# structured decoding; each entry gives its evidence first, then its reasoning, then
# the score, so the score is decided after the evidence is on the page.


class Named(BaseModel):
    """A field of a per-item model: its JSON key, the name it reports as, its meaning."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    description: str


def field_key(name: str) -> str:
    """A criterion or section name as a JSON key ('Care for people' -> 'care_for_people')."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "criterion"
    return key if key[0].isalpha() else f"c_{key}"


def _entry_model(compact: bool) -> type[BaseModel]:
    # Compact: a small model must fit ~11 entries in the judge's token budget.
    cap = 80 if compact else 1200

    class CriterionJudgment(BaseModel):
        model_config = ConfigDict(extra="forbid")

        evidence: Annotated[str, StringConstraints(max_length=cap)] = Field(
            description="Quote the story's own words that bear on this criterion (or say "
            "what is missing)."
        )
        reasoning: Annotated[str, StringConstraints(max_length=cap)] = Field(
            description="Why that evidence earns the score, against the criterion's meaning."
        )
        score: int = Field(
            description="1 fails, 2 weak, 3 acceptable, 4 good, 5 excellent.", ge=1, le=5
        )

        @field_validator("score")
        @classmethod
        def _in_range(cls, value: int) -> int:
            if not 1 <= value <= 5:
                raise ValueError("score must be between 1 and 5")
            return value

    return CriterionJudgment


def _section_review_model(compact: bool) -> type[BaseModel]:
    cap = 240 if compact else 2000

    class SectionReview(BaseModel):
        model_config = ConfigDict(extra="forbid")

        requires_here: Annotated[str, StringConstraints(max_length=cap)] = Field(
            description="What this section, read in full, requires of the AI in this "
            "situation: the act and the reasons for it, concretely."
        )
        shortfalls: Annotated[str, StringConstraints(max_length=cap)] = Field(
            description="Where the draft's deliberation falls short of those reasons: "
            "missing, generic, wrong, or asserted without being weighed (quote it)."
        )

    return SectionReview


def _per_key_model(
    title: str, entries: tuple[Named, ...], entry: type[BaseModel]
) -> type[BaseModel]:
    fields: dict[str, Any] = {
        named.key: (entry, Field(title=named.name, description=named.description))
        for named in entries
    }
    return create_model(title, __config__=ConfigDict(extra="forbid"), **fields)


@lru_cache(maxsize=256)
def judgment_model(criteria: tuple[Named, ...], compact: bool = False) -> type[BaseModel]:
    """The judge's reply for one item: `criteria` holds one required entry per criterion
    in play (keys from `field_key`, reported under each field's title), then notes."""
    if len({named.key for named in criteria}) != len(criteria):
        raise ValueError("two criteria share one key")
    scored = _per_key_model("Criteria", criteria, _entry_model(compact))
    note = Annotated[str, StringConstraints(max_length=160 if compact else 600)]
    return create_model(
        "Judgment",
        __config__=ConfigDict(extra="forbid"),
        criteria=(scored, Field(description="Every criterion, each judged in full.")),
        revision_notes=(
            list[note],
            Field(
                max_length=12,
                description="One concrete change for each criterion under its pass mark.",
            ),
        ),
    )


@lru_cache(maxsize=256)
def review_model(sections: tuple[Named, ...], compact: bool = False) -> type[BaseModel]:
    """The reviewer's reply: one required entry per constitution section in play, then how
    the monologue should carry the reasons and what to keep."""
    cap = 240 if compact else 2000
    text = Annotated[str, StringConstraints(max_length=cap)]
    reviewed = _per_key_model("Sections", sections, _section_review_model(compact))
    return create_model(
        "Review",
        __config__=ConfigDict(extra="forbid"),
        sections=(reviewed, Field(description="Every section in play, read in full.")),
        monologue=(
            text,
            Field(
                description="How the AI's inner deliberation should carry those reasons: "
                "which doubts, weighings and turns of thought it needs, and where."
            ),
        ),
        keep=(text, Field(description="What already works and must survive the rewrite.")),
    )


def named_entries(model: type[BaseModel], field: str) -> tuple[tuple[str, str], ...]:
    """(key, reported name) of each entry of a per-item model's `field`."""
    nested = model.model_fields[field].annotation
    assert isinstance(nested, type) and issubclass(nested, BaseModel)
    return tuple((key, info.title or key) for key, info in nested.model_fields.items())
