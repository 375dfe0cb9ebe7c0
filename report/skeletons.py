"""Plot-skeleton concentration: how many of the run's plans tell the same story under
different words. Surface metrics (distinct-n, self-BLEU) miss a corpus whose texts differ
while their planned conflicts repeat, so the kind's plan fields that carry the skeleton
(`ReportProfile.skeleton_fields`: the story's conflict, a document's idea) are clustered.

A skeleton is the set of its content words (lower case, no stop words, no words under
three letters). Plans are clustered greedily in the sample's order: a plan joins the first
cluster whose first plan shares at least `THRESHOLD` of their content words (Jaccard),
else starts a cluster. Leader clustering bounds the work at plans x clusters and cannot
chain unrelated plans together, as single linkage can.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.core.text import words
from storyloom.report.formatting import shorten
from storyloom.report.model import Share, Skeletons
from storyloom.report.summaries import ratio

THRESHOLD = 0.3
TOP_CLUSTERS = 5
MIN_WORD = 3
METHOD = (
    f"plans' {{fields}} as content-word sets, clustered greedily at Jaccard >= {THRESHOLD} "
    "with each cluster's first plan"
)


def skeleton_text(plan: Any, fields: Sequence[str]) -> str:
    """The text of the plan's skeleton fields (strings, or lists of strings), joined."""
    if not isinstance(plan, Mapping):
        return ""
    parts: list[str] = []
    for name in fields:
        value = plan.get(name)
        values = value if isinstance(value, list) else [value]
        parts.extend(v for v in values if isinstance(v, str))
    return " ".join(parts)


def _content_words(text: str) -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS  # on first use, as every spaCy import

    lowered = (word.lower() for word in words(text))
    return frozenset(w for w in lowered if len(w) >= MIN_WORD and w not in STOP_WORDS)


class SkeletonSample:
    """A seeded reservoir of skeleton texts, filled as records stream past."""

    def __init__(self, fields: Sequence[str], size: int, seed: int) -> None:
        self.fields = tuple(fields)
        self.size = size
        self._rng = random.Random(seed)
        self.seen = 0
        self.texts: list[str] = []

    def add(self, plan: Any) -> None:
        text = skeleton_text(plan, self.fields)
        if not self.fields or not text.strip():
            return
        self.seen += 1
        if len(self.texts) < self.size:
            self.texts.append(text)
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self.texts[slot] = text

    def result(self) -> Skeletons | None:
        return cluster_skeletons(self.texts, self.fields) if self.texts else None


def cluster_skeletons(texts: Sequence[str], fields: Sequence[str]) -> Skeletons:
    leaders: list[frozenset[str]] = []
    names: list[str] = []
    sizes: list[int] = []
    for text in texts:
        content = _content_words(text)
        for position, leader in enumerate(leaders):
            union = len(content | leader)
            if union and len(content & leader) / union >= THRESHOLD:
                sizes[position] += 1
                break
        else:
            leaders.append(content)
            names.append(shorten(" ".join(text.split()), 60))
            sizes.append(1)
    ranked = sorted(zip(sizes, names, strict=True), key=lambda pair: (-pair[0], pair[1]))
    total = len(texts)
    return Skeletons(
        method=METHOD.format(fields=", ".join(fields)),
        plans=total,
        clusters=len(sizes),
        largest_share=ratio(ranked[0][0], total) if ranked else None,
        top=[
            Share(value=name, count=size, share=ratio(size, total) or 0.0)
            for size, name in ranked[:TOP_CLUSTERS]
        ],
    )
