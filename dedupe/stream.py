"""Streaming near-duplicate removal for any JSON-lines corpus.

Documents are read in order and kept unless they near-duplicate a document kept before them,
so the first occurrence of every cluster survives. Kept lines are copied byte for byte;
each removed document is written to the clusters file with what it duplicated. Both outputs
go to temporary files that are renamed into place only when the whole input was processed,
so a half-written output never looks complete.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from storyloom.dedupe.index import (
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
    NearDuplicateIndex,
)

BATCH_SIZE = 32  # documents hashed together; small batches stay in the CPU cache


class DedupeInputError(ValueError):
    """The input cannot be deduplicated as asked; the message names the file and line."""


@dataclass(frozen=True)
class DedupeSummary:
    documents: int
    kept: int
    removed: int
    clusters: int  # kept documents that had at least one near-duplicate removed
    input_bytes: int
    seconds: float


@dataclass(frozen=True)
class _Document:
    line: int
    raw: bytes
    parsed: dict[str, Any]
    text: str


def same_file(first: Path, second: Path) -> bool:
    if first.exists() and second.exists():
        return first.samefile(second)
    return first.resolve() == second.resolve()


def dedupe_jsonl(
    input_path: Path,
    output_path: Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    clusters_path: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    shingle_size: int = DEFAULT_SHINGLE_SIZE,
    num_perm: int = DEFAULT_NUM_PERM,
    seed: int = DEFAULT_SEED,
    on_progress: Callable[[int], None] | None = None,
) -> DedupeSummary:
    """Copy `input_path` to `output_path` without near-duplicates; `on_progress` receives
    the number of input bytes consumed so far."""
    if same_file(input_path, output_path):
        raise DedupeInputError(f"the output {output_path} is the input file")
    if clusters_path is not None and (
        same_file(clusters_path, input_path) or same_file(clusters_path, output_path)
    ):
        raise DedupeInputError(f"the clusters file {clusters_path} is the input or output file")
    if input_path.stat().st_size == 0:
        raise DedupeInputError(f"{input_path} is empty")
    started = time.perf_counter()
    index = NearDuplicateIndex(
        threshold=threshold, shingle_size=shingle_size, num_perm=num_perm, seed=seed
    )
    kept_ids: dict[str, Any] = {}
    clustered: set[str] = set()
    documents = removed = 0
    with ExitStack() as stack:
        output = stack.enter_context(_AtomicFile(output_path))
        clusters = stack.enter_context(_AtomicFile(clusters_path)) if clusters_path else None
        reader = stack.enter_context(input_path.open("rb"))
        for batch in _batches(reader, input_path, text_field):
            signatures = index.signatures([document.text for document in batch])
            bucket_keys = index.bucket_keys(signatures).tolist()
            for document, signature, buckets in zip(batch, signatures, bucket_keys, strict=True):
                documents += 1
                key = str(document.line)
                match = index.check_and_insert_signature(key, signature, buckets)
                if match is None:
                    kept_ids[key] = document.parsed.get(id_field)
                    output.handle.write(document.raw)
                    continue
                removed += 1
                clustered.add(match.key)
                if clusters is not None:
                    record = {
                        "line": document.line,
                        "id": document.parsed.get(id_field),
                        "duplicate_of": {"line": int(match.key), "id": kept_ids[match.key]},
                        "similarity": round(match.similarity, 4),
                        "document": document.parsed,
                    }
                    clusters.handle.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
            if on_progress is not None:
                on_progress(reader.tell())
        if documents == 0:
            raise DedupeInputError(f"{input_path} holds no documents (only blank lines)")
        if clusters is not None:
            clusters.commit()
        output.commit()  # last: a complete output means everything else is complete too
    return DedupeSummary(
        documents=documents,
        kept=documents - removed,
        removed=removed,
        clusters=len(clustered),
        input_bytes=input_path.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def _batches(reader: IO[bytes], input_path: Path, text_field: str) -> Iterator[list[_Document]]:
    batch: list[_Document] = []
    for number, raw in enumerate(reader, start=1):
        if not raw.strip():
            continue  # blank lines carry no document
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            reason = getattr(error, "msg", None) or str(error)
            raise DedupeInputError(f"{input_path}:{number}: not valid JSON ({reason})") from error
        if not isinstance(parsed, dict):
            raise DedupeInputError(f"{input_path}:{number}: not a JSON object")
        text = parsed.get(text_field)
        if not isinstance(text, str):
            problem = "missing" if text_field not in parsed else "not a string"
            raise DedupeInputError(
                f"{input_path}:{number}: text field {text_field!r} is {problem} "
                f"(choose another with --text-field)"
            )
        batch.append(_Document(number, raw if raw.endswith(b"\n") else raw + b"\n", parsed, text))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


class _AtomicFile:
    """A temporary file beside `path`, renamed onto it by `commit` and removed otherwise."""

    def __init__(self, path: Path) -> None:
        self.path = path
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".partial", dir=path.parent
        )
        self._temporary = Path(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(descriptor, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
        self.handle = os.fdopen(descriptor, "wb", buffering=1 << 20)
        self._committed = False

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self._temporary, self.path)
        self._committed = True

    def __enter__(self) -> _AtomicFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self.handle.close()
            self._temporary.unlink(missing_ok=True)
