"""A store in Redis, so several workers (threads, processes, machines) share one index.

Layout under a namespace `ns`:
  ns:params        JSON of the parameters that shaped the signatures (checked on connect)
  ns:signatures    hash: key -> signature bytes (little-endian uint64)
  ns:bucket:<hex>  set of keys whose band hashed to this bucket
  ns:version       counter bumped by every insert

Check-and-insert is an optimistic transaction: WATCH the version counter, read the candidates
(one SUNION, one HMGET), let the caller decide, then MULTI/EXEC the insert together with a
version bump. If any other worker inserted in between, EXEC fails and the step is retried
with fresh candidates, so two near-duplicates can never both get in and a crashed worker
leaves no lock behind. We use our own layout rather than datasketch's Redis storage because
datasketch has no atomic check-and-insert and issues one round trip per band.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import redis

from storyloom.dedupe.journal import StaleIndexError, decode_signature, mismatches
from storyloom.dedupe.signatures import SIGNATURE_DTYPE
from storyloom.dedupe.store import Candidate, Decide
from storyloom.dedupe.verify import Match


class RedisStore:
    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        params: Mapping[str, Any],
        identity_fields: Iterable[str],
        num_perm: int,
    ) -> None:
        if not namespace:
            raise ValueError("namespace must not be empty")
        if client.get_connection_kwargs().get("decode_responses"):
            raise ValueError(
                "the Redis client must return bytes (decode_responses=False): signatures are binary"
            )
        self._client = client
        self._num_perm = num_perm
        self._params_key = f"{namespace}:params"
        self._signatures_key = f"{namespace}:signatures"
        self._bucket_prefix = f"{namespace}:bucket:"
        self._version_key = f"{namespace}:version"
        encoded = json.dumps(dict(params), sort_keys=True)
        client.set(self._params_key, encoded, nx=True)
        stored = json.loads(client.get(self._params_key) or "{}")
        problems = mismatches(stored, params, identity_fields)
        if problems:
            raise StaleIndexError(
                f"Redis index {namespace!r} was written with other parameters "
                f"({'; '.join(problems)})"
            )

    def __len__(self) -> int:
        return int(self._client.hlen(self._signatures_key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._client.hexists(self._signatures_key, key))

    def find(self, bucket_keys: Sequence[int], decide: Decide) -> Match | None:
        return self._find(self._client, self._bucket_names(bucket_keys), decide)

    def check_and_insert(
        self, key: str, signature: np.ndarray, bucket_keys: Sequence[int], decide: Decide
    ) -> Match | None:
        buckets = self._bucket_names(bucket_keys)
        outcome: list[Match | None] = [None]

        def attempt(pipe: redis.client.Pipeline) -> None:
            outcome[0] = None
            if pipe.hexists(self._signatures_key, key):
                return
            outcome[0] = self._find(pipe, buckets, decide)
            if outcome[0] is None:
                pipe.multi()
                self._queue_insert(pipe, key, signature, buckets)

        self._client.transaction(attempt, self._version_key)
        return outcome[0]

    def check_and_insert_many(self, candidates: Sequence[Candidate]) -> list[Match | None]:
        """One transaction each: other workers insert between them."""
        return [self.check_and_insert(*candidate) for candidate in candidates]

    def insert(self, key: str, signature: np.ndarray, bucket_keys: Sequence[int]) -> bool:
        buckets = self._bucket_names(bucket_keys)
        inserted = [False]

        def attempt(pipe: redis.client.Pipeline) -> None:
            inserted[0] = not pipe.hexists(self._signatures_key, key)
            if inserted[0]:
                pipe.multi()
                self._queue_insert(pipe, key, signature, buckets)

        self._client.transaction(attempt, self._version_key)
        return inserted[0]

    def _find(
        self, connection: redis.Redis | redis.client.Pipeline, buckets: list[str], decide: Decide
    ) -> Match | None:
        members = connection.sunion(buckets)
        if not members:
            return None
        keys = sorted(
            member.decode() if isinstance(member, bytes) else member for member in members
        )
        raw = connection.hmget(self._signatures_key, keys)
        known = [(key, value) for key, value in zip(keys, raw, strict=True) if value is not None]
        if not known:
            return None
        signatures = np.stack([decode_signature(value, self._num_perm) for _, value in known])
        return decide([key for key, _ in known], signatures)

    def _queue_insert(
        self, pipe: redis.client.Pipeline, key: str, signature: np.ndarray, buckets: list[str]
    ) -> None:
        pipe.hset(
            self._signatures_key, key, signature.astype(SIGNATURE_DTYPE, copy=False).tobytes()
        )
        for bucket in buckets:
            pipe.sadd(bucket, key)
        pipe.incr(self._version_key)

    def _bucket_names(self, bucket_keys: Sequence[int]) -> list[str]:
        return [f"{self._bucket_prefix}{bucket:x}" for bucket in bucket_keys]
