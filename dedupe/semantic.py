"""The optional semantic pass: near-duplicates of meaning, which MinHash (copied text) misses.

A document that survived MinHash is embedded with a static sentence-embedding model loaded
through model2vec (numpy only, no torch: a 300-word document costs a tokenisation and a mean
of token vectors) and checked against the documents kept before it by approximate nearest
neighbour search in a usearch HNSW index (cosine, vectors stored as 8-bit). It is removed
when its nearest kept neighbour reaches the cosine threshold; otherwise it is added.

Why usearch: one small wheel with prebuilt binaries (numpy and its SIMD kernels only),
an HNSW index that takes additions one at a time between searches (what check-and-insert
needs), and quantised storage; hnswlib has had no release since 2023 and faiss-cpu is a far
larger wheel whose incremental HNSW has no quantised form. ANN search can, rarely, miss the
true nearest neighbour: the semantic pass is a best effort on top of the exact MinHash pass.

The index lives in memory (about 300 bytes a document at 256 dimensions), outside the
`--memory` budget of the MinHash index.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.dedupe.bounded import Found

DEFAULT_COSINE = 0.9
#: What a user should load for real: model2vec's potion models are distilled from a
#: sentence transformer into static vectors (potion-base-8M: 256 dimensions, ~30 MB).
RECOMMENDED_MODEL = "minishlab/potion-base-8M"


class SemanticPassError(ValueError):
    """The semantic pass cannot start (its libraries or its model are missing)."""


class SemanticIndex:
    def __init__(self, model: str | Path, threshold: float = DEFAULT_COSINE) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"the cosine threshold must be in (0, 1], got {threshold}")
        try:
            from model2vec import StaticModel
            from usearch.index import Index
        except ImportError as error:
            raise SemanticPassError(
                f"--semantic needs the optional dependencies: pip install 'storyloom[semantic]' "
                f"({error.name} is missing)"
            ) from error
        try:
            self._model = StaticModel.from_pretrained(str(model))
        except Exception as error:  # model2vec raises whatever its loaders raise
            raise SemanticPassError(
                f"--semantic {model}: cannot load a model2vec model there ({error})"
            ) from error
        self._threshold = threshold
        self._index = Index(ndim=self._model.dim, metric="cos", dtype="i8")
        self._payloads: list[Any] = []

    def __len__(self) -> int:
        return len(self._payloads)

    def check_and_insert(
        self, texts: Sequence[str], payloads: Sequence[Any], *, check: bool = True
    ) -> list[Found | None]:
        """For each text in order: the kept document it means the same as, or None (it is
        then added, so later texts are checked against it)."""
        if not texts:
            return []
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        results: list[Found | None] = []
        for vector, payload in zip(vectors, payloads, strict=True):
            found = self._nearest(vector) if check else None
            if found is None:
                self._index.add(len(self._payloads), vector)
                self._payloads.append(payload)
            results.append(found)
        return results

    def _nearest(self, vector: np.ndarray) -> Found | None:
        if not self._payloads:
            return None
        matches = self._index.search(vector, 1)
        if len(matches.keys) == 0:
            return None
        key = int(matches.keys[0])
        cosine = 1.0 - float(matches.distances[0])
        if cosine + 1e-6 < self._threshold:
            return None
        return Found(self._payloads[key], cosine, key)
