"""LSH buckets on disk: sorted runs of (bucket key, entry number), joined in one sequential pass.

Looking bucket keys up one document at a time in a table larger than memory is random I/O,
and a memory map of it counts every touched page as the process's own. Here buckets spilled
from memory are written as sorted runs (two flat files: uint64 keys and uint32 entry
numbers) and a whole block of documents is looked up at once: its keys are sorted and
merge-joined against each run, read front to back in chunks, so memory stays at one chunk
and the disk sees only sequential reads. Runs are merged four at a time once four of one
size have piled up (size-tiered), which keeps a lookup to a few runs for a log-factor of
rewriting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from storyloom.dedupe.lsh import BUCKET_BITS
from storyloom.dedupe.sorted_table import KEY_DTYPE, NUMBER_DTYPE, positions_in

CHUNK_ENTRIES = 1 << 20  # 12 MB read at a time
FENCE_EVERY = 1 << 12  # one key in memory per 4,096 on disk, to find positions by key
MERGE_FANOUT = 4


@dataclass
class Run:
    """One sorted run: `size` entries in `<stem>.keys` and `<stem>.numbers`."""

    stem: Path
    size: int
    level: int
    fences: np.ndarray  # keys[0], keys[FENCE_EVERY], ...

    @property
    def keys_path(self) -> Path:
        return self.stem.with_suffix(".keys")

    @property
    def numbers_path(self) -> Path:
        return self.stem.with_suffix(".numbers")

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Keys and numbers of entries [start, stop), read (not mapped) from disk."""
        return (
            _read(self.keys_path, KEY_DTYPE, start, stop),
            _read(self.numbers_path, NUMBER_DTYPE, start, stop),
        )

    def position(self, key: int) -> int:
        """The index of the first entry whose key is >= `key`."""
        block = int(np.searchsorted(self.fences, np.uint64(key), side="left"))
        if block == 0:
            return 0
        start = (block - 1) * FENCE_EVERY
        stop = min(start + FENCE_EVERY, self.size)
        keys = _read(self.keys_path, KEY_DTYPE, start, stop)
        return start + int(np.searchsorted(keys, np.uint64(key), side="left"))

    def remove(self) -> None:
        self.keys_path.unlink(missing_ok=True)
        self.numbers_path.unlink(missing_ok=True)


def _read(path: Path, dtype: np.dtype, start: int, stop: int) -> np.ndarray:
    with path.open("rb") as handle:
        handle.seek(start * dtype.itemsize)
        return np.fromfile(handle, dtype=dtype, count=stop - start)


def _pick(path: Path, dtype: np.dtype, positions: np.ndarray) -> np.ndarray:
    """The values at `positions` only (a block's hits are few and scattered): copied out
    of a map that is dropped at once, so the pages it touched are not kept."""
    mapped = np.memmap(path, dtype=dtype, mode="r")
    picked = np.array(mapped[positions])
    del mapped
    return picked


class RunSet:
    """The spilled buckets of an index: add sorted runs, join many keys against all of them."""

    def __init__(self, directory: Path, *, chunk_entries: int | None = None) -> None:
        self._directory = directory
        self._chunk = chunk_entries or CHUNK_ENTRIES
        self._runs: list[Run] = []
        self._written = 0

    def __len__(self) -> int:
        return sum(run.size for run in self._runs)

    @property
    def runs(self) -> int:
        return len(self._runs)

    def add(self, keys: np.ndarray, numbers: np.ndarray) -> None:
        """Store (bucket key, entry number) pairs as a new run, merging runs as they pile up."""
        order = np.argsort(keys, kind="stable")
        run = self._new_run(level=0)
        with run.keys_path.open("wb") as key_file, run.numbers_path.open("wb") as number_file:
            sorted_keys = keys[order].astype(KEY_DTYPE, copy=False)
            sorted_keys.tofile(key_file)
            numbers[order].astype(NUMBER_DTYPE, copy=False).tofile(number_file)
        run.size = keys.size
        run.fences = sorted_keys[::FENCE_EVERY].copy()
        self._runs.append(run)
        while len(self._runs) >= MERGE_FANOUT and (
            len({run.level for run in self._runs[-MERGE_FANOUT:]}) == 1
        ):
            merged = self._merge(self._runs[-MERGE_FANOUT:])
            self._runs[-MERGE_FANOUT:] = [merged]

    def join(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted bucket keys `wanted`: (index into `wanted`, entry number) of every
        stored entry with that key, in no particular order."""
        found_at: list[np.ndarray] = []
        found_numbers: list[np.ndarray] = []
        for run in self._runs:
            for start in range(0, run.size, self._chunk):
                stop = min(start + self._chunk, run.size)
                keys = _read(run.keys_path, KEY_DTYPE, start, stop)
                low = np.searchsorted(wanted, keys[0], side="left")
                high = np.searchsorted(wanted, keys[-1], side="right")
                at, positions = positions_in(keys, wanted[low:high])
                if at.size == 0:
                    continue
                found_at.append(at + low)
                found_numbers.append(_pick(run.numbers_path, NUMBER_DTYPE, positions + start))
        if not found_at:
            return np.empty(0, np.intp), np.empty(0, NUMBER_DTYPE)
        return np.concatenate(found_at), np.concatenate(found_numbers)

    def close(self) -> None:
        for run in self._runs:
            run.remove()
        self._runs = []

    def _new_run(self, level: int) -> Run:
        self._written += 1
        stem = self._directory / f"buckets-{self._written:06d}"
        return Run(stem, 0, level, np.empty(0, KEY_DTYPE))

    def _merge(self, runs: list[Run]) -> Run:
        """One run holding the entries of `runs`, built range of keys by range of keys (the
        keys are hashes, so equal key ranges hold about equal numbers of entries)."""
        total = sum(run.size for run in runs)
        pieces = max(1, -(-total // self._chunk))
        bounds = [(1 << BUCKET_BITS) * piece // pieces for piece in range(1, pieces)] + [None]
        merged = self._new_run(level=runs[0].level + 1)
        fences: list[np.ndarray] = []
        written = 0
        with merged.keys_path.open("wb") as key_file, merged.numbers_path.open("wb") as number_file:
            starts = [0] * len(runs)
            for stop_key in bounds:
                keys_parts, number_parts = [], []
                for place, run in enumerate(runs):
                    stop = run.size if stop_key is None else run.position(stop_key)
                    keys, numbers = run.read(starts[place], stop)
                    keys_parts.append(keys)
                    number_parts.append(numbers)
                    starts[place] = stop
                keys = np.concatenate(keys_parts)
                order = np.argsort(keys, kind="stable")
                keys = keys[order]
                keys.tofile(key_file)
                np.concatenate(number_parts)[order].tofile(number_file)
                # Fences fall every FENCE_EVERY entries of the merged run.
                first_fence = -written % FENCE_EVERY
                fences.append(keys[first_fence::FENCE_EVERY])
                written += keys.size
        merged.size = written
        merged.fences = np.concatenate(fences) if fences else np.empty(0, KEY_DTYPE)
        for run in runs:
            run.remove()
        return merged


def directory_bytes(directory: Path) -> int:
    """Bytes held by the files directly inside `directory` (for reports)."""
    return sum(entry.stat().st_size for entry in os.scandir(directory) if entry.is_file())
