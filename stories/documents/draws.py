"""Balanced draws: claim x document type x audience x stance x length.

Each dimension is its own balanced stream (`balanced_pick`: shuffled blocks, one per pass
over the values), so over any prefix of a run every claim, audience, stance and length
appears within one of its fair share, and item `i` gets the same draw however the run is
split or resumed. The document type is drawn within the claim, among the types the claim
allows (an `adults_only` claim is never drawn for a type written for children), from a
stream per claim (`within_parent`): within one of its fair share among each claim's
documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from storyloom.stories.documents.catalog import AUDIENCES, DOCUMENT_TYPES, LENGTHS, STANCES
from storyloom.stories.documents.inputs import DocumentsInputs
from storyloom.stories.draws import draw_with_child


def dimension_values(inputs: DocumentsInputs) -> dict[str, tuple[str, ...]]:
    """Every value each balanced dimension can take, in a fixed order."""
    return {
        "claim": tuple(claim.id for claim in inputs.claims.claims),
        "document_type": tuple(kind.key for kind in DOCUMENT_TYPES),
        "audience": AUDIENCES,
        "stance": tuple(STANCES),
        "length": LENGTHS,
    }


def types_for(inputs: DocumentsInputs, claim_id: str) -> tuple[str, ...]:
    """The document types a draw of `claim_id` may take (in catalog order)."""
    adults_only = inputs.claims.by_id(claim_id).adults_only
    return tuple(kind.key for kind in DOCUMENT_TYPES if not (adults_only and kind.for_children))


def allowed_values(
    inputs: DocumentsInputs, dimension: str, axes: Mapping[str, Any]
) -> tuple[str, ...]:
    """The values `dimension` could take in a draw with `axes`."""
    if dimension == "document_type":
        return types_for(inputs, str(axes["claim"]))
    return dimension_values(inputs)[dimension]


def make_draw(inputs: DocumentsInputs, run_seed: int, index: int) -> dict[str, Any]:
    values = dimension_values(inputs)
    drawn = draw_with_child(
        run_seed,
        "documents",
        index,
        values,
        child="document_type",
        parent="claim",
        allowed=lambda claim: types_for(inputs, claim),
    )
    axes = {dimension: drawn[dimension] for dimension in values}
    claim = inputs.claims.by_id(axes["claim"])
    digest = hashlib.sha256(f"{run_seed}/documents/sample/{index}".encode()).digest()
    return {
        "index": index,
        "axes": axes,
        "sections": [claim.section],
        "identity_name": inputs.identity.name,
        "sampling_seed": int.from_bytes(digest[:4], "big"),
    }
