"""The text side of the report: one streaming pass over the emitted documents.

Every document gets its word and token counts, length band, inner-monologue share (a
story's only) and opening/closing 3-grams. A document's words are the record's own
`metadata.words` when it has one (the kind counted the item's content with the one word
count, `storyloom.core.text.words`, so the record and the report agree) and that count of
the document text otherwise; a length band is judged on the words the writer was asked
for (`ReportProfile.length_bands`, on `length_words_field` when the kind names one).

Metrics that need whole texts together (distinct-n, repeated
phrases, pairwise similarity, names) run on a seeded reservoir sample, so memory stays
bounded however large the corpus is. The sample keeps, beside each body, the text and
dedupe group the run's dedupe saw, so the similarity figures are dedupe's own.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from storyloom.core.text import words
from storyloom.report.fields import as_float, as_int, metadata, str_map
from storyloom.report.model import LengthBand, Size
from storyloom.report.summaries import histogram, nice_edges, ratio, summarize
from storyloom.report.textfeatures import EDGE_GRAM, closing, opening, split_body
from storyloom.report.tokens import TokenCounter
from storyloom.stories.gates import monologue_share
from storyloom.stories.kind import ReportProfile

NO_BAND = "n/a"
_EDGE_CHARS = 200
#: (record, document text) -> the text dedupe compares.
DedupeText = Callable[[dict[str, Any], str], str]


def _document_text(record: dict[str, Any], text: str) -> str:
    return text


class TextCollector:
    """The texts' figures as they stream past, and the reservoir sample."""

    def __init__(
        self,
        sample_size: int,
        seed: int,
        tokens: TokenCounter,
        profile: ReportProfile | None = None,
        dedupe_text: DedupeText = _document_text,
        record_words: bool = True,
    ) -> None:
        if sample_size < 1:
            raise ValueError(f"sample size must be at least 1, got {sample_size}")
        self.sample_size = sample_size
        self._rng = random.Random(seed)
        self._tokens = tokens
        self._profile = profile or ReportProfile()
        self._dedupe_text = dedupe_text
        self._record_words = record_words
        self.seen = 0
        self.words: list[int] = []
        self.monologue: list[float] = []
        self.bands: dict[str, list[int]] = defaultdict(list)
        self.openings: Counter[str] = Counter()
        self.closings: Counter[str] = Counter()
        self.sample: list[str] = []  # bodies (a title or heading left out)
        #: Per sampled document: the text dedupe compares and its dedupe group.
        self.sample_dedupe: list[tuple[str, int]] = []

    def add_batch(self, batch: Sequence[tuple[dict[str, Any], str]]) -> None:
        """`batch` holds (record, document text) pairs; tokenised together for speed."""
        self._tokens.submit([text for _, text in batch])
        for record, text in batch:
            self._add(record, text)

    def _add(self, record: dict[str, Any], text: str) -> None:
        meta = metadata(record)
        recorded = as_int(meta.get("words")) if self._record_words else None
        count = recorded if recorded else len(words(text))
        self.words.append(count)
        dimensions = str_map(meta.get(self._profile.dimensions_field))
        band = dimensions.get(self._profile.length_field, NO_BAND)
        banded = self._profile.length_words_field
        band_words = as_int(meta.get(banded)) if banded else count
        if band_words is not None:
            self.bands[band].append(band_words)
        if self._profile.story_rows:
            share = as_float(meta.get("monologue_share"))
            self.monologue.append(share if share is not None else round(monologue_share(text), 4))
        body = split_body(text)
        head = words(body[:_EDGE_CHARS])
        if len(head) <= EDGE_GRAM:
            head = words(body)
        tail = words(body[-_EDGE_CHARS:])
        if len(tail) <= EDGE_GRAM:
            tail = words(body)
        if head:
            self.openings[opening(head)] += 1
            self.closings[closing(tail)] += 1
        group = as_int(meta.get("dedupe_group")) or 0
        self._keep_in_sample(body, lambda: (self._dedupe_text(record, text), group))

    def _keep_in_sample(self, body: str, dedupe: Callable[[], tuple[str, int]]) -> None:
        """Reservoir sampling (Algorithm R): every document equally likely, one pass.
        `dedupe` runs only for a document that enters the sample (a kind's text may cost)."""
        self.seen += 1
        if len(self.sample) < self.sample_size:
            self.sample.append(body)
            self.sample_dedupe.append(dedupe())
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.sample_size:
            self.sample[slot] = body
            self.sample_dedupe[slot] = dedupe()

    def size(self) -> Size:
        targets = self._profile.length_bands
        edges = nice_edges(max((n for c in self.bands.values() for n in c), default=0))
        bands = {}
        for band in [
            *[b for b in targets if b in self.bands],
            *sorted(set(self.bands) - set(targets), key=_band_order),
        ]:
            counts = self.bands[band]
            target = targets.get(band)
            inside = sum(target[0] <= n <= target[1] for n in counts) if target else None
            bands[band] = LengthBand(
                documents=len(counts),
                target_words=target,
                within_target=ratio(inside, len(counts)) if inside is not None else None,
                words=summarize(counts),
                histogram=histogram(counts, edges),
            )
        return Size(
            documents=len(self.words),
            words=summarize(self.words),
            tokens=summarize(self._tokens.finish()),
            tokenizer=self._tokens.name,
            length_bands=bands,
        )


def _band_order(band: str) -> tuple[int, int, str]:
    """Numeric bands (advice's turns) in number order, then the rest by name."""
    return (0, int(band), "") if band.isdigit() else (1, 0, band)
