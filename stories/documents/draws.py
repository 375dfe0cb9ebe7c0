"""Balanced draws: claim x document type x audience x stance x length.

Each dimension is its own balanced stream (`balanced_pick`: shuffled blocks, one per pass
over the values), so over any prefix of a run every claim, type, audience, stance and
length appears within one of its fair share, and item `i` gets the same draw however the
run is split or resumed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from storyloom.stories.documents.catalog import AUDIENCES, DOCUMENT_TYPES, LENGTHS, STANCES
from storyloom.stories.documents.inputs import DocumentsInputs
from storyloom.stories.draws import balanced_pick


def dimension_values(inputs: DocumentsInputs) -> dict[str, tuple[str, ...]]:
    """Every value each balanced dimension can take, in a fixed order."""
    return {
        "claim": tuple(claim.id for claim in inputs.claims.claims),
        "document_type": tuple(kind.key for kind in DOCUMENT_TYPES),
        "audience": AUDIENCES,
        "stance": tuple(STANCES),
        "length": LENGTHS,
    }


def make_draw(inputs: DocumentsInputs, run_seed: int, index: int) -> dict[str, Any]:
    if index < 0:
        raise ValueError(f"item index must be >= 0, got {index}")
    axes = {
        dimension: values[balanced_pick(run_seed, f"documents/{dimension}", index, len(values))]
        for dimension, values in dimension_values(inputs).items()
    }
    claim = inputs.claims.by_id(axes["claim"])
    digest = hashlib.sha256(f"{run_seed}/documents/sample/{index}".encode()).digest()
    return {
        "index": index,
        "axes": axes,
        "sections": [claim.section],
        "identity_name": inputs.identity.name,
        "sampling_seed": int.from_bytes(digest[:4], "big"),
    }
