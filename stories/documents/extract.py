"""`storyloom claims extract`: ask a model for the claims of each constitution section and
write the claims file a user reviews before `generate --kind documents` reads it.

One structured call per section (5-15 claims, each with its reason and a hard case), run
concurrently; ids are `<section-slug>/<n>`. The written file is validated by the same
loader `generate` uses, so what `extract` writes always loads.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from storyloom.backends.base import Backend, CompletionRequest, Message
from storyloom.core.files import write_atomically
from storyloom.stories.constitution import Constitution
from storyloom.stories.documents.inputs import Claim
from storyloom.stories.documents.models import ExtractedClaims
from storyloom.stories.documents.prompts import extract_prompt
from storyloom.stories.judging import incomplete

MIN_CLAIMS = 5
MAX_CLAIMS = 15
EXTRACT_MAX_TOKENS = 4000


class ExtractError(ValueError):
    """The model's reply cannot be made into claims (one line, naming the section)."""


async def _section_claims(backend: Backend, constitution: Constitution, slug: str) -> list[Claim]:
    instructions, user = extract_prompt(constitution, slug)
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=EXTRACT_MAX_TOKENS,
        shared_prefix=f"# The constitution\n{constitution.as_markdown()}",
        instructions=instructions,
        output_schema=ExtractedClaims,
        purpose="extract",
        metadata={"kind": "documents", "section": slug},
    )
    completion = await backend.complete(request)
    reply = completion.parsed
    if not isinstance(reply, ExtractedClaims):
        raise ExtractError(f"section {slug!r}: {incomplete(completion, 'set of claims')}")
    kept = [
        entry
        for entry in reply.claims
        if entry.claim.strip() and entry.reason.strip() and entry.hard_case.strip()
    ]
    if len(kept) < MIN_CLAIMS:
        raise ExtractError(
            f"section {slug!r}: the model gave {len(kept)} complete claim(s), fewer than "
            f"{MIN_CLAIMS}"
        )
    return [
        Claim(
            id=f"{slug}/{number}",
            section=slug,
            claim=entry.claim.strip(),
            reason=entry.reason.strip(),
            hard_case=entry.hard_case.strip(),
        )
        for number, entry in enumerate(kept[:MAX_CLAIMS], start=1)
    ]


async def extract_claims(backend: Backend, constitution: Constitution) -> list[Claim]:
    """Every section's claims, in the constitution's order."""
    limit = asyncio.Semaphore(max(1, min(8, backend.max_parallel_calls)))

    async def one(slug: str) -> list[Claim]:
        async with limit:
            return await _section_claims(backend, constitution, slug)

    per_section = await asyncio.gather(*(one(slug) for slug in constitution.slugs))
    return [claim for claims in per_section for claim in claims]


def write_claims(path: Path, claims: list[Claim]) -> None:
    """The claims file, one JSON object a line, replaced atomically."""
    lines = "".join(json.dumps(claim.to_dict(), ensure_ascii=False) + "\n" for claim in claims)
    write_atomically(path, lines)
