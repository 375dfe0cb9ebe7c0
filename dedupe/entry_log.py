"""Spilled index entries on disk: each entry's signature and payload, found by entry number.

Signatures are fixed-size rows appended to one file; a lookup maps the file, copies the rows
it needs and unmaps it, so the pages it touched are not left counted against the process.
Payloads (what a caller needs to report a match: where the entry came from) are JSON
appended to a second file, with each one's start offset in a third.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.dedupe.signatures import SIGNATURE_DTYPE

_OFFSET = np.dtype("<u8")


class EntryLog:
    def __init__(self, directory: Path, num_perm: int) -> None:
        self._num_perm = num_perm
        self._signature_path = directory / "signatures.u64"
        self._payload_path = directory / "payloads.jsonl"
        self._offset_path = directory / "payload-offsets.u64"
        self._signatures = self._signature_path.open("wb")
        self._payloads = self._payload_path.open("wb")
        self._offsets = self._offset_path.open("wb")
        self._payload_end = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, signatures: np.ndarray, payloads: list[Any]) -> None:
        """Entries numbered len(self), len(self) + 1, ... in order."""
        signatures.astype(SIGNATURE_DTYPE, copy=False).tofile(self._signatures)
        encoded = [json.dumps(payload, ensure_ascii=False).encode() + b"\n" for payload in payloads]
        lengths = np.fromiter((len(item) for item in encoded), dtype=np.int64, count=len(encoded))
        starts = self._payload_end + np.concatenate([[0], np.cumsum(lengths)[:-1]])
        starts.astype(_OFFSET).tofile(self._offsets)
        self._payloads.write(b"".join(encoded))
        self._payload_end += int(lengths.sum())
        self._count += len(payloads)
        for handle in (self._signatures, self._payloads, self._offsets):
            handle.flush()

    def signatures(self, numbers: np.ndarray) -> np.ndarray:
        """The signatures of entries `numbers` (any order, repeats allowed), as a copy."""
        if numbers.size == 0:
            return np.empty((0, self._num_perm), SIGNATURE_DTYPE)
        mapped = np.memmap(
            self._signature_path,
            dtype=SIGNATURE_DTYPE,
            mode="r",
            shape=(self._count, self._num_perm),
        )
        rows = np.array(mapped[numbers])  # a copy: dropping the map unmaps its pages
        del mapped
        return rows

    def payload(self, number: int) -> Any:
        with self._offset_path.open("rb") as offsets:
            start = int(np.frombuffer(os.pread(offsets.fileno(), 8, number * 8), _OFFSET)[0])
        with self._payload_path.open("rb") as payloads:
            payloads.seek(start)
            return json.loads(payloads.readline())

    def close(self) -> None:
        for handle in (self._signatures, self._payloads, self._offsets):
            handle.close()
        for path in (self._signature_path, self._payload_path, self._offset_path):
            path.unlink(missing_ok=True)
