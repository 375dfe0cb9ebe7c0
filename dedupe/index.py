"""A near-duplicate index the workflow checks each accepted text against.

First working version: datasketch MinHash + LSH over word shingles, every LSH
candidate verified against the threshold. Entries persist as JSON lines so a
resumed run sees every text accepted before the crash.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from datasketch import MinHash, MinHashLSH

_WORD = re.compile(r"\w+")


def shingles(text: str, size: int) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


class NearDuplicateIndex:
    """Check-and-insert as one step: a text is either a near-duplicate of a key already
    inside, or it goes in. Replaying a key already inside is not a duplicate of itself."""

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        shingle_size: int = 3,
        num_perm: int = 128,
        seed: int = 1,
        path: Path | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if shingle_size < 1:
            raise ValueError(f"shingle_size must be >= 1, got {shingle_size}")
        self.threshold = threshold
        self.shingle_size = shingle_size
        self.num_perm = num_perm
        self.seed = seed
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._signatures: dict[str, MinHash] = {}
        self._lock = threading.Lock()
        self._path = path
        if path is not None and path.exists():
            self._load(path)

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, key: object) -> bool:
        return key in self._signatures

    def signature(self, text: str) -> MinHash:
        minhash = MinHash(num_perm=self.num_perm, seed=self.seed)
        for shingle in shingles(text, self.shingle_size):
            minhash.update(shingle)
        return minhash

    def find_duplicate(self, text: str) -> str | None:
        """The key of an entry at or above the threshold, if any (without inserting)."""
        return self._best_match(self.signature(text), exclude=None)

    def check_and_insert(self, key: str, text: str) -> str | None:
        """Return the key `text` duplicates, or insert it and return None."""
        signature = self.signature(text)
        with self._lock:
            if key in self._signatures:
                return None
            match = self._best_match(signature, exclude=key)
            if match is not None:
                return match
            self._insert(key, signature)
            self._append(key, signature)
            return None

    def _best_match(self, signature: MinHash, exclude: str | None) -> str | None:
        best_key, best_score = None, -1.0
        for candidate in self._lsh.query(signature):
            if candidate == exclude:
                continue
            score = signature.jaccard(self._signatures[candidate])
            if score >= self.threshold and score > best_score:
                best_key, best_score = candidate, score
        return best_key

    def _insert(self, key: str, signature: MinHash) -> None:
        self._lsh.insert(key, signature)
        self._signatures[key] = signature

    def _append(self, key: str, signature: MinHash) -> None:
        if self._path is None:
            return
        line = json.dumps({"key": key, "hashvalues": signature.hashvalues.tolist()})
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _load(self, path: Path) -> None:
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn last line from a crash: that insert never completed
            signature = MinHash(num_perm=self.num_perm, seed=self.seed,
                                hashvalues=entry["hashvalues"])
            if entry["key"] not in self._signatures:
                self._insert(entry["key"], signature)
