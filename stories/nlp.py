"""The spaCy pipeline the gates use, loaded once per process.

A blank English pipeline with the rule-based sentencizer needs no model download and is
the default. Set `STORYLOOM_SPACY_MODEL` to an installed trained pipeline (for example
`en_core_web_sm`) to use its statistical sentence boundaries instead; if it cannot be
loaded the blank pipeline is used and `pipeline_name()` says so.

spaCy is imported on first use, not with this module: it takes over a second, and a
command that never gates a text (`--help`, `plan`, `stats`) should not pay for it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

MODEL_ENV = "STORYLOOM_SPACY_MODEL"
BLANK = "blank:en+sentencizer"
_HEAVY_COMPONENTS = ("ner", "lemmatizer", "attribute_ruler", "tagger", "morphologizer")


def _blank() -> Language:
    import spacy

    pipeline = spacy.blank("en")
    pipeline.add_pipe("sentencizer")
    return pipeline


def _trained(name: str) -> Language:
    import spacy

    pipeline = spacy.load(name, exclude=list(_HEAVY_COMPONENTS))
    if "senter" in pipeline.component_names:
        pipeline.enable_pipe("senter")
        if "parser" in pipeline.pipe_names:
            pipeline.disable_pipe("parser")
    elif "parser" not in pipeline.pipe_names:
        pipeline.add_pipe("sentencizer")
    return pipeline


@lru_cache(maxsize=1)
def _load() -> tuple[Language, str]:
    name = os.environ.get(MODEL_ENV, "").strip()
    if name:
        try:
            return _trained(name), name
        except (OSError, ValueError):
            return _blank(), f"{BLANK} ({name} could not be loaded)"
    return _blank(), BLANK


def pipeline() -> Language:
    """The shared pipeline (tokenizer plus sentence boundaries)."""
    return _load()[0]


def pipeline_name() -> str:
    return _load()[1]


def sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order; empty ones dropped."""
    return [s.text.strip() for s in pipeline()(text).sents if s.text.strip()]
