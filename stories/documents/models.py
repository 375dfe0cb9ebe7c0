"""The structured replies of the documents kind: ideas (the plan), the claim checks the
judge gives before scoring (its reply is made from the rubric, `storyloom.stories.
judging`) and extracted claims. Constraints are checked again after parsing (some
providers move them into descriptions)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: String caps: part of the schema so the plan and judge budgets cover the largest reply.
Line = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=600)]
Brief = Annotated[str, StringConstraints(max_length=300)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Idea(_Strict):
    title: Line = Field(description="The document's title or headline, as it would appear.")
    idea: Text = Field(
        description="Two or three sentences: who wrote it, where it appears, its angle on "
        "the claim, and the concrete case or episode it is built around."
    )


class IdeasReply(_Strict):
    """Several ideas, the chosen one, and a hidden outline for it (never emitted)."""

    unsuitable: Line = Field(
        description="Empty unless this claim cannot honestly be made into this document "
        "type for these readers and this stance; then one sentence saying why."
    )
    ideas: list[Idea] = Field(
        max_length=5, description="Three to five distinct ideas (none if unsuitable)."
    )
    chosen: int = Field(description="The index (from 0) of the idea to write.")
    outline: list[Text] = Field(
        max_length=8,
        description="Four to eight steps of the chosen document, in order; a plan only, "
        "never part of the document.",
    )


#: The most claims a judgment lists: a document of the longest length makes far fewer.
MAX_CLAIMS = 10


class ClaimCheck(_Strict):
    statement: Brief = Field(
        description="A claim the document makes about the AI, its values or its situation, "
        "quoted or closely paraphrased."
    )
    section_text: Brief = Field(
        description="The words of the constitution section (or the identity facts) it is "
        "checked against, quoted."
    )
    consistent: bool
    why: Brief


class ClaimsMade(_Strict):
    """The judge's leading evidence (`Rubric.lead`): every claim checked before any
    criterion is scored, so fidelity is scored on claims already on the page."""

    claims_made: list[ClaimCheck] = Field(
        max_length=MAX_CLAIMS,
        description="Every claim the document makes about the AI or its values.",
    )


#: Judge criteria, in the order the judge is asked for them.
CRITERIA: dict[str, str] = {
    "fidelity": "every claim the document makes about the AI or its values is consistent "
    "with the quoted section text and identity facts; one inconsistency fails",
    "reasons_conveyed": "the document conveys why the principle holds, not only the rule",
    "realism": "it reads like a real document of its type, not a brochure",
    "honest_about_tensions": "it is honest about tensions, costs and open questions (not PR)",
    "information_density": "every paragraph adds information; no padding or repetition",
}


class ExtractedClaim(_Strict):
    claim: str = Field(description="One sentence about what the AI does or values.")
    reason: str = Field(description="Why it holds, as the constitution gives or implies it.")
    hard_case: str = Field(description="A concrete situation where applying it is hard.")


class ExtractedClaims(_Strict):
    claims: list[ExtractedClaim] = Field(description="Five to fifteen claims for this section.")
