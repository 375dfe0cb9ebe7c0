"""The consistency check's structured reply."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: What in a context can change the ideal response (the check names one).
Category = Literal[
    "none",
    "permission",
    "enabling_tool",
    "capability_claim",
    "language_or_format",
    "policy",
    "persona",
    "other",
]


class ConsistencyCheck(BaseModel):
    """Does this deployment context change what the ideal response to the chat is?"""

    model_config = ConfigDict(extra="forbid")

    changes_ideal_response: bool = Field(
        description="true if, under this system prompt and these tools, a good assistant "
        "should answer differently from the source response"
    )
    category: Category = Field(description="what in the context changes it; none if nothing")
    evidence: str = Field(
        default="",
        max_length=600,
        description="the words of the system prompt or the tool that change it, quoted",
    )
    reason: str = Field(max_length=1200, description="why, in one or two sentences")
