"""Reading a JSONL corpus in chunks and signing them on every core.

Parsing JSON and hashing shingles are the CPU cost of deduplicating a corpus, and each
chunk's signatures depend on nothing but its lines, so chunks go to worker processes and
come back in input order: the decisions made from them are the same whatever the number of
workers. The main process only reads lines and keeps them for the output.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from storyloom.dedupe.lsh import Banding, BandLayout
from storyloom.dedupe.signatures import MinHasher

CHUNK_DOCUMENTS = 256  # documents per task: enough to amortise the pickling
SIGN_BATCH = 32  # documents hashed together; small batches stay in the CPU cache


class DedupeInputError(ValueError):
    """The input cannot be deduplicated as asked; the message names the file and line."""


@dataclass(frozen=True)
class SignParams:
    num_perm: int
    shingle_size: int
    seed: int
    bands: int
    rows: int
    text_field: str
    id_field: str


@dataclass(frozen=True)
class Chunk:
    """Signed documents of consecutive lines. `raws` end in a newline; `end` is the number
    of input bytes read up to the end of the last line."""

    lines: list[int]
    raws: list[bytes]
    ids: list[Any]
    signatures: np.ndarray
    bucket_keys: np.ndarray
    end: int


@dataclass(frozen=True)
class _Task:
    path: str
    lines: list[int]
    raws: list[bytes]
    require_id: bool  # the first line must have the id field (the user named it)


@dataclass(frozen=True)
class _Signed:
    ids: list[Any]
    signatures: np.ndarray
    bucket_keys: np.ndarray
    error: str | None


@cache
def _tools(params: SignParams) -> tuple[MinHasher, Banding]:
    hasher = MinHasher(num_perm=params.num_perm, shingle_size=params.shingle_size, seed=params.seed)
    return hasher, Banding(BandLayout(params.bands, params.rows), params.num_perm)


def _sign(task: _Task, params: SignParams) -> _Signed:
    hasher, banding = _tools(params)
    texts: list[str] = []
    ids: list[Any] = []
    for place, (number, raw) in enumerate(zip(task.lines, task.raws, strict=True)):
        where = f"{task.path}:{number}"
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            reason = getattr(error, "msg", None) or str(error)
            return _Signed([], _EMPTY, _EMPTY, f"{where}: not valid JSON ({reason})")
        if not isinstance(parsed, dict):
            return _Signed([], _EMPTY, _EMPTY, f"{where}: not a JSON object")
        text = parsed.get(params.text_field)
        if not isinstance(text, str):
            problem = "missing" if params.text_field not in parsed else "not a string"
            return _Signed(
                [],
                _EMPTY,
                _EMPTY,
                f"{where}: text field {params.text_field!r} is {problem} "
                "(choose another with --text-field)",
            )
        if task.require_id and place == 0 and params.id_field not in parsed:
            return _Signed(
                [],
                _EMPTY,
                _EMPTY,
                f"{where}: id field {params.id_field!r} is missing from the first record "
                "(choose another with --id-field)",
            )
        texts.append(text)
        ids.append(parsed.get(params.id_field))
    signatures = np.concatenate(
        [
            hasher.signatures(texts[start : start + SIGN_BATCH])
            for start in range(0, len(texts), SIGN_BATCH)
        ]
    )
    return _Signed(ids, signatures, banding.bucket_keys(signatures), None)


_EMPTY = np.empty(0, dtype=np.uint64)


class Signer:
    """Signs chunks of JSONL files with `workers` processes (1: in this process)."""

    def __init__(self, params: SignParams, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._params = params
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            # spawn: the parent may run threads (the progress bar), which fork would copy
            # in whatever state they are in.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def __enter__(self) -> Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def chunks(self, path: Path, *, require_id: bool = False) -> Iterator[Chunk]:
        """Signed chunks of `path` in order; raises DedupeInputError at the first bad line."""
        in_flight: deque[tuple[_Task, int, Future[_Signed] | _Signed]] = deque()
        with path.open("rb") as reader:
            for task, end in _tasks(reader, str(path), require_id):
                if self._pool is None:
                    in_flight.append((task, end, _sign(task, self._params)))
                else:
                    in_flight.append((task, end, self._pool.submit(_sign, task, self._params)))
                while len(in_flight) > 2 * self._workers or (self._pool is None and in_flight):
                    yield _finished(*in_flight.popleft())
        while in_flight:
            yield _finished(*in_flight.popleft())


def _finished(task: _Task, end: int, outcome: Future[_Signed] | _Signed) -> Chunk:
    signed = outcome.result() if isinstance(outcome, Future) else outcome
    if signed.error is not None:
        raise DedupeInputError(signed.error)
    return Chunk(task.lines, task.raws, signed.ids, signed.signatures, signed.bucket_keys, end)


def _tasks(reader: IO[bytes], path: str, require_id: bool) -> Iterator[tuple[_Task, int]]:
    lines: list[int] = []
    raws: list[bytes] = []
    end = 0
    for number, raw in enumerate(reader, start=1):
        end += len(raw)
        if not raw.strip():
            continue  # blank lines carry no document
        lines.append(number)
        raws.append(raw if raw.endswith(b"\n") else raw + b"\n")
        if len(lines) == CHUNK_DOCUMENTS:
            yield _Task(path, lines, raws, require_id), end
            require_id = False
            lines, raws = [], []
    if lines:
        yield _Task(path, lines, raws, require_id), end
