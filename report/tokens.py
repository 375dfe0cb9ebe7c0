"""Token counts per document with spaCy's English tokenizer (no model download needed).

Only the tokenizer runs (no pipeline components), over batches, and whitespace tokens
(paragraph breaks) are not counted. Tokenising is most of the time a large corpus takes
(about 1 ms per 1,000-word document), so from the second batch on it runs in worker
processes while the main process parses and measures the next batch; a small corpus
never starts a process.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

TOKENIZER_NAME = "spaCy blank('en') tokenizer, whitespace tokens excluded"
_tokenizer: Any = None


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Tokens per text; module-level so worker processes can run it."""
    global _tokenizer
    import spacy  # on first use: `storyloom --help` and plain commands never load it
    from spacy.attrs import IS_SPACE

    if _tokenizer is None:
        _tokenizer = spacy.blank("en").tokenizer
    counts: list[int] = []
    for doc in _tokenizer.pipe(texts, batch_size=256):
        spaces = int(doc.to_array(IS_SPACE).sum()) if len(doc) else 0
        counts.append(len(doc) - spaces)
    return counts


class TokenCounter:
    """Collects token counts of batches, in `workers` processes when there are several."""

    name = TOKENIZER_NAME

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.counts: list[int] = []
        self._batches = 0
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[Future[list[int]]] = deque()

    def submit(self, texts: Sequence[str]) -> None:
        self._batches += 1
        if self.workers == 1 or self._batches == 1:
            self.counts.extend(count_tokens(texts))
            return
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        self._pending.append(self._pool.submit(count_tokens, list(texts)))
        while len(self._pending) > 2 * self.workers:  # bounded: texts in flight stay small
            self.counts.extend(self._pending.popleft().result())

    def finish(self) -> list[int]:
        while self._pending:
            self.counts.extend(self._pending.popleft().result())
        self.close()
        return self.counts

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def __enter__(self) -> TokenCounter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
