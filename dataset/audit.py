"""How close a corpus sits to the evaluations it will be judged by: decontamination and
distance, item against item.

Two measures, each between every corpus item and every evaluation item:

- **Long n-gram overlap**: 13-grams of normalised words (dedupe's normalisation: case,
  punctuation and Unicode variants folded), the test large pretraining pipelines use to
  decontaminate (GPT-3, PaLM): a shared 13-word run is almost never chance. It catches a
  short evaluation question copied into a long document, which Jaccard similarity misses.
- **MinHash near-neighbours**: dedupe's own signatures (word 5-shingles, 128 slots), so a
  similarity here is the estimate `storyloom dedupe` compares. Every corpus item is
  compared with every evaluation item over all slots (numpy, in chunks) rather than
  through LSH, because the distribution of nearest-neighbour similarity needs each item's
  nearest neighbour however far it is, and LSH only proposes pairs above a threshold.

A pair is flagged when it shares at least `min_shared_ngrams` n-grams or its similarity
reaches `threshold` (dedupe's default 0.4: light edits of a text keep 0.53 and more,
unrelated texts stay under 0.05). A corpus with any flagged pair is "too close".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.dataset.audit_sources import (
    AuditInputError,
    EvalSet,
    SuiteLike,
    corpus_file,
    corpus_items,
    eval_set_of,
    load_against,
)
from storyloom.dedupe.index import (
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
)
from storyloom.dedupe.normalise import normalise
from storyloom.dedupe.shingles import Shingler
from storyloom.dedupe.signatures import MinHasher, similarity

NGRAM_SIZE = 13
MIN_SHARED_NGRAMS = 1
#: Unrelated texts sit near 0, so the low end gets fine bins (as in `storyloom stats`).
SIMILARITY_EDGES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
QUANTILES = (0.5, 0.9, 0.99)
_BATCH = 256  # corpus items signed together
_COMPARE_CELLS = 1 << 24  # slot comparisons held in memory at once (16 MB of booleans)


@dataclass(frozen=True)
class AuditSettings:
    threshold: float = DEFAULT_THRESHOLD
    ngram_size: int = NGRAM_SIZE
    min_shared_ngrams: int = MIN_SHARED_NGRAMS
    shingle_size: int = DEFAULT_SHINGLE_SIZE
    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.ngram_size < 1 or self.min_shared_ngrams < 1:
            raise ValueError("ngram_size and min_shared_ngrams must be at least 1")


@dataclass(frozen=True)
class FlaggedPair:
    corpus_id: str
    suite: str
    eval_id: str
    similarity: float
    shared_ngrams: int
    corpus_text: str
    eval_text: str


@dataclass
class SuiteDistance:
    """One evaluation set's distance from the corpus."""

    suite: str
    fingerprint: str
    eval_items: int
    #: Each corpus item's similarity to its nearest evaluation item, in corpus order.
    nearest: list[float] = field(default_factory=list)
    #: Corpus items sharing at least one n-gram with some item of this set.
    items_with_shared_ngrams: int = 0
    flagged: list[FlaggedPair] = field(default_factory=list)

    def quantiles(self) -> dict[str, float]:
        if not self.nearest:
            return {}
        values = np.asarray(self.nearest)
        figures = {f"p{round(q * 100)}": round(float(np.quantile(values, q)), 6) for q in QUANTILES}
        return {
            "min": float(values.min()),
            "mean": round(float(values.mean()), 6),
            **figures,
            "max": float(values.max()),
        }

    def histogram(self) -> list[int]:
        counts, _ = np.histogram(np.asarray(self.nearest, dtype=float), bins=SIMILARITY_EDGES)
        return [int(count) for count in counts]

    @property
    def too_close(self) -> bool:
        return bool(self.flagged)


@dataclass
class AuditSummary:
    """The corpus against every evaluation set; `too_close` is the verdict."""

    corpus: str
    corpus_items: int
    settings: AuditSettings
    suites: list[SuiteDistance]

    @property
    def too_close(self) -> bool:
        return any(suite.too_close for suite in self.suites)

    @property
    def flagged_ids(self) -> set[str]:
        return {pair.corpus_id for suite in self.suites for pair in suite.flagged}

    def as_json(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "corpus": self.corpus,
            "corpus_items": self.corpus_items,
            "verdict": "too close" if self.too_close else "clear",
            "too_close": self.too_close,
            "flagged_items": len(self.flagged_ids),
            "method": {
                "ngram": f"shared word {settings.ngram_size}-grams of the normalised text; "
                f"a pair sharing at least {settings.min_shared_ngrams} is flagged",
                "minhash": f"estimated Jaccard similarity of word {settings.shingle_size}-"
                f"shingles ({settings.num_perm}-slot MinHash, dedupe's); a pair at or above "
                f"{settings.threshold} is flagged",
            },
            "threshold": settings.threshold,
            "ngram_size": settings.ngram_size,
            "min_shared_ngrams": settings.min_shared_ngrams,
            "histogram_edges": list(SIMILARITY_EDGES),
            "suites": [
                {
                    "suite": suite.suite,
                    "fingerprint": suite.fingerprint,
                    "eval_items": suite.eval_items,
                    "too_close": suite.too_close,
                    "nearest_similarity": suite.quantiles(),
                    "histogram": suite.histogram(),
                    "items_with_shared_ngrams": suite.items_with_shared_ngrams,
                    "flagged_pairs": [pair.__dict__ for pair in suite.flagged],
                }
                for suite in self.suites
            ],
        }


class _EvalIndex:
    """One evaluation set, hashed once: its signatures and an n-gram -> items table."""

    def __init__(self, evals: EvalSet, hasher: MinHasher, shingler: Shingler) -> None:
        self.evals = evals
        texts = [text for _, text in evals.items]
        self.signatures = np.vstack(
            [hasher.signatures(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]
        )
        batch = shingler.batch([normalise(text) for text in texts])
        owners: dict[int, set[int]] = defaultdict(set)
        for value, doc in zip(batch.hashes.tolist(), batch.doc_index.tolist(), strict=True):
            owners[value].add(doc)
        self.owners = owners
        #: Sorted once, so each corpus batch is looked up by binary search.
        self.hashes = np.sort(np.fromiter(owners, dtype=np.uint64, count=len(owners)))

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Which of `hashes` are n-grams of some evaluation item."""
        if not self.hashes.size:
            return np.zeros(hashes.shape, dtype=bool)
        positions = np.minimum(np.searchsorted(self.hashes, hashes), self.hashes.size - 1)
        return self.hashes[positions] == hashes


def audit_corpus(
    items: Iterable[tuple[str, str]],
    eval_sets: Sequence[EvalSet],
    settings: AuditSettings = AuditSettings(),
    *,
    corpus: str = "",
) -> AuditSummary:
    """Measure every (id, text) of the corpus against every evaluation set."""
    for evals in eval_sets:
        if not evals.items:
            raise AuditInputError(f"{evals.name}: the evaluation set has no texts to compare")
    hasher = MinHasher(
        num_perm=settings.num_perm, shingle_size=settings.shingle_size, seed=settings.seed
    )
    shingler = Shingler(shingle_size=settings.ngram_size, seed=settings.seed)
    indexes = [_EvalIndex(evals, hasher, shingler) for evals in eval_sets]
    suites = [SuiteDistance(e.name, e.fingerprint, len(e.items)) for e in eval_sets]
    count = 0
    batch: list[tuple[str, str]] = []
    for item in items:
        batch.append(item)
        if len(batch) == _BATCH:
            count += _measure(batch, indexes, suites, hasher, shingler, settings)
            batch = []
    count += _measure(batch, indexes, suites, hasher, shingler, settings)
    return AuditSummary(corpus, count, settings, suites)


def _measure(
    batch: list[tuple[str, str]],
    indexes: list[_EvalIndex],
    suites: list[SuiteDistance],
    hasher: MinHasher,
    shingler: Shingler,
    settings: AuditSettings,
) -> int:
    if not batch:
        return 0
    texts = [text for _, text in batch]
    signatures = hasher.signatures(texts)
    ngrams = shingler.batch([normalise(text) for text in texts])
    for index, suite in zip(indexes, suites, strict=True):
        scores = _similarities(signatures, index.signatures)
        suite.nearest.extend(round(float(value), 6) for value in scores.max(axis=1))
        shared = _shared_ngrams(ngrams.hashes, ngrams.doc_index, index)
        suite.items_with_shared_ngrams += len({doc for doc, _ in shared})
        close = {(int(a), int(b)) for a, b in np.argwhere(scores + 1e-12 >= settings.threshold)}
        close |= {pair for pair, n in shared.items() if n >= settings.min_shared_ngrams}
        for doc, other in sorted(close):
            item_id, text = batch[doc]
            eval_id, eval_text = index.evals.items[other]
            suite.flagged.append(
                FlaggedPair(
                    item_id,
                    suite.suite,
                    eval_id,
                    round(float(scores[doc, other]), 6),
                    shared.get((doc, other), 0),
                    text,
                    eval_text,
                )
            )
    return len(batch)


def _similarities(corpus: np.ndarray, evals: np.ndarray) -> np.ndarray:
    """(corpus items, eval items) estimated Jaccard similarity, over every slot."""
    rows = max(1, _COMPARE_CELLS // max(1, evals.shape[0] * evals.shape[1]))
    parts = [
        np.asarray(similarity(corpus[start : start + rows, None, :], evals[None, :, :]))
        for start in range(0, corpus.shape[0], rows)
    ]
    return np.concatenate(parts, axis=0)


def _shared_ngrams(
    hashes: np.ndarray, doc_index: np.ndarray, index: _EvalIndex
) -> dict[tuple[int, int], int]:
    """(corpus item, eval item) -> distinct n-grams they share (only pairs sharing any)."""
    hit = index.contains(hashes)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    seen: set[tuple[int, int]] = set()
    for value, doc in zip(hashes[hit].tolist(), doc_index[hit].tolist(), strict=True):
        if (doc, value) in seen:
            continue
        seen.add((doc, value))
        for other in index.owners[value]:
            counts[(doc, other)] += 1
    return dict(counts)


def corpus_distance(
    run: Path,
    suite: SuiteLike | EvalSet | str,
    settings: AuditSettings = AuditSettings(),
) -> AuditSummary:
    """How close a run's corpus (or a corpus JSONL file) is to one evaluation suite, for
    `storyloom eval` to warn with: `.too_close` is the verdict, `.settings.threshold` the
    similarity it was reached at, `.suites[0]` the figures."""
    if isinstance(suite, str):
        evals = load_against(suite)
    elif isinstance(suite, EvalSet):
        evals = suite
    else:
        evals = eval_set_of(suite)
    path = corpus_file(run)
    items = ((item_id, text) for item_id, text, _ in corpus_items(path))
    return audit_corpus(items, [evals], settings, corpus=str(path))
