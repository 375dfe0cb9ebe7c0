"""The near-duplicate index the workflow and `storyloom dedupe` check each text against.

Signatures come from `signatures` (one-permutation MinHash over word shingles), candidates
from `lsh` (bands and rows chosen for the threshold), and every candidate is verified against
the threshold (`verify`), so LSH never decides alone. Entries live in this process
(optionally journaled to a file, see `journal`) or in Redis for several workers
(`redis_store`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import redis

from storyloom.dedupe.journal import (
    Journal,
    StaleIndexError,
    mismatches,
    read_params,
    write_atomically,
)
from storyloom.dedupe.lsh import Banding, BandLayout
from storyloom.dedupe.redis_store import RedisStore
from storyloom.dedupe.signatures import MinHasher
from storyloom.dedupe.store import Decide, MemoryStore, SignatureStore
from storyloom.dedupe.verify import Match, best_match

# Chosen by measurement (bench/dedupe.py, dedupe/README.md): planted edits of 5-15% of the
# words leave a 5-shingle Jaccard of about 0.55-0.87, distinct texts sharing stock phrases
# stay below 0.05.
DEFAULT_THRESHOLD = 0.4
DEFAULT_SHINGLE_SIZE = 5
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
SIGNATURE_SCHEME = "oph-densified-v1"
# What shaped the stored signatures: a stored index with other values is stale. The threshold
# and the band layout are recorded too but only steer lookups, so changing them reuses it.
IDENTITY_FIELDS = ("scheme", "num_perm", "shingle_size", "seed")
_REBUILD_BATCH = 64

__all__ = [
    "DEFAULT_SHINGLE_SIZE",
    "DEFAULT_THRESHOLD",
    "Match",
    "NearDuplicateIndex",
    "StaleIndexError",
]


class NearDuplicateIndex:
    """Check-and-insert as one step: a text is either a near-duplicate of a key already
    inside, or it goes in. Replaying a key already inside is not a duplicate of itself.

    `path` keeps the entries in a journal file (loaded on construction); `redis_client`
    keeps them in Redis under `redis_namespace`, shared by every worker that uses the same
    namespace. Without either, the index lives in memory only.
    """

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        shingle_size: int = DEFAULT_SHINGLE_SIZE,
        num_perm: int = DEFAULT_NUM_PERM,
        seed: int = DEFAULT_SEED,
        path: Path | None = None,
        redis_client: redis.Redis | None = None,
        redis_namespace: str = "storyloom:dedupe",
        layout: BandLayout | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if path is not None and redis_client is not None:
            raise ValueError("give either path or redis_client, not both")
        self.threshold = threshold
        self.hasher = MinHasher(num_perm=num_perm, shingle_size=shingle_size, seed=seed)
        self.layout = layout or BandLayout.for_threshold(threshold, num_perm)
        self._banding = Banding(self.layout, num_perm)
        self.path = path
        self._store: SignatureStore
        if redis_client is not None:
            self._store = RedisStore(
                redis_client, redis_namespace, self.params, IDENTITY_FIELDS, num_perm
            )
        else:
            journal = (
                Journal(path, self.params, IDENTITY_FIELDS, num_perm) if path is not None else None
            )
            store = MemoryStore(num_perm, journal)
            if journal is not None:
                store.load(journal.entries(), self._bucket_keys_of)
            self._store = store

    @property
    def shingle_size(self) -> int:
        return self.hasher.shingle_size

    @property
    def num_perm(self) -> int:
        return self.hasher.num_perm

    @property
    def seed(self) -> int:
        return self.hasher.seed

    @property
    def params(self) -> dict[str, Any]:
        """Everything that shapes this index, as recorded in its file or Redis namespace."""
        return {
            "scheme": SIGNATURE_SCHEME,
            "num_perm": self.num_perm,
            "shingle_size": self.shingle_size,
            "seed": self.seed,
            "threshold": self.threshold,
            "bands": self.layout.bands,
            "rows": self.layout.rows,
        }

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        return key in self._store

    def signature(self, text: str) -> np.ndarray:
        return self.hasher.signature(text)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """Signatures of many texts at once (faster than one at a time)."""
        return self.hasher.signatures(texts)

    def bucket_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(texts, bands) LSH bucket keys, to pass along with precomputed signatures."""
        return self._banding.bucket_keys(signatures)

    def find_match(self, text: str) -> Match | None:
        """The most similar entry at or above the threshold, if any (without inserting)."""
        signature = self.signature(text)
        return self._store.find(self._bucket_keys_of(signature), self._decider(signature))

    def find_duplicate(self, text: str) -> str | None:
        """The key of an entry at or above the threshold, if any (without inserting)."""
        match = self.find_match(text)
        return None if match is None else match.key

    def check_and_insert(self, key: str, text: str) -> str | None:
        """Return the key `text` duplicates, or insert it and return None."""
        match = self.check_and_insert_match(key, text)
        return None if match is None else match.key

    def check_and_insert_match(self, key: str, text: str) -> Match | None:
        """`check_and_insert`, with the similarity of the match."""
        return self.check_and_insert_signature(key, self.signature(text))

    def check_and_insert_many(self, entries: Sequence[tuple[str, str]]) -> list[Match | None]:
        """`check_and_insert_match` of each (key, text) in turn, as if one after another
        (a later text can match an earlier one), hashed together; in a journaled index
        the entries that go in share one append and one fsync."""
        if not entries:
            return []
        signatures = self.signatures([text for _, text in entries])
        bucket_keys = self.bucket_keys(signatures).tolist()
        return self._store.check_and_insert_many(
            [
                (key, signature, buckets, self._decider(signature))
                for (key, _), signature, buckets in zip(
                    entries, signatures, bucket_keys, strict=True
                )
            ]
        )

    def check_and_insert_signature(
        self, key: str, signature: np.ndarray, bucket_keys: Sequence[int] | None = None
    ) -> Match | None:
        """`check_and_insert_match` for a signature computed earlier (e.g. in a batch)."""
        if bucket_keys is None:
            bucket_keys = self._bucket_keys_of(signature)
        return self._store.check_and_insert(key, signature, bucket_keys, self._decider(signature))

    def insert(self, key: str, text: str) -> bool:
        """Insert without checking for duplicates (texts already accepted); False if the key
        was already inside."""
        signature = self.signature(text)
        return self._store.insert(key, signature, self._bucket_keys_of(signature))

    @staticmethod
    def stored_params(path: Path) -> dict[str, Any] | None:
        """The parameters an index file was written with, or None if it is missing or torn."""
        return read_params(path)

    @classmethod
    def is_current(cls, path: Path, **params: Any) -> bool:
        """Whether `path` holds an index whose signatures fit these constructor parameters
        (False when it is missing, unreadable or written with other parameters)."""
        stored = read_params(path)
        if stored is None:
            return False
        wanted = cls(**params).params
        return not mismatches(stored, wanted, IDENTITY_FIELDS)

    @classmethod
    def rebuild(
        cls,
        documents: Iterable[tuple[str, str]],
        *,
        path: Path | None = None,
        **params: Any,
    ) -> NearDuplicateIndex:
        """An index holding every (key, text) given, all inserted, none checked (they were
        accepted already; a repeated key keeps its first text). With `path`, the index file
        is rewritten atomically and the returned index keeps journaling to it."""
        index = cls(**params)
        keys: list[str] = []
        texts: list[str] = []
        for key, text in documents:
            keys.append(key)
            texts.append(text)
            if len(texts) == _REBUILD_BATCH:
                index._insert_batch(keys, texts)
                keys, texts = [], []
        index._insert_batch(keys, texts)
        if path is None:
            return index
        store = index._store
        if not isinstance(store, MemoryStore):
            raise ValueError("path and redis_client cannot be combined")
        write_atomically(path, index.params, store.entries())
        return cls(path=path, **params)

    @classmethod
    def rebuild_from_jsonl(
        cls,
        corpus_path: Path,
        *,
        text_field: str = "text",
        key_field: str = "id",
        path: Path | None = None,
        **params: Any,
    ) -> NearDuplicateIndex:
        """`rebuild` from a JSONL corpus. `text_field` may be a dotted path into nested
        objects (e.g. "metadata.premise") when no top-level field has that exact name.

        A torn last line (a crash while the corpus was appended to) is skipped; any other
        unreadable line raises ValueError naming it.
        """
        documents = _corpus_documents(corpus_path, text_field, key_field)
        return cls.rebuild(documents, path=path, **params)

    def _insert_batch(self, keys: list[str], texts: list[str]) -> None:
        if not texts:
            return
        signatures = self.signatures(texts)
        bucket_keys = self.bucket_keys(signatures).tolist()
        for key, signature, buckets in zip(keys, signatures, bucket_keys, strict=True):
            self._store.insert(key, signature, buckets)

    def _bucket_keys_of(self, signature: np.ndarray) -> list[int]:
        return self._banding.bucket_keys(signature[None, :])[0].tolist()

    def _decider(self, signature: np.ndarray) -> Decide:
        threshold = self.threshold

        def decide(keys: Sequence[str], signatures: np.ndarray) -> Match | None:
            return best_match(signature, keys, signatures, threshold)

        return decide


def _corpus_documents(
    corpus_path: Path, text_field: str, key_field: str
) -> Iterator[tuple[str, str]]:
    with corpus_path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as error:
                if not line.endswith(b"\n") and handle.peek(1) == b"":
                    return  # the torn last line of an interrupted append
                message = f"{corpus_path}:{number}: not valid JSON ({error.msg})"
                raise ValueError(message) from error
            text = _field(document, text_field)
            if not isinstance(text, str):
                raise ValueError(f"{corpus_path}:{number}: no string field {text_field!r}")
            key = _field(document, key_field)
            if not isinstance(key, str | int):
                raise ValueError(f"{corpus_path}:{number}: no field {key_field!r}")
            yield str(key), text


def _field(document: object, name: str) -> object:
    """`document[name]`, or the dotted path `name` into nested objects."""
    if not isinstance(document, dict):
        return None
    if name in document:
        return document[name]
    value: object = document
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
