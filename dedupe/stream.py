"""Streaming near-duplicate removal for any JSON-lines corpus.

Documents are read in order and kept unless they near-duplicate a document kept before them,
so the first occurrence of every cluster survives. Kept lines are copied byte for byte;
each removed document is written to the clusters file with what it duplicated. Both outputs
go to temporary files that are renamed into place only when the whole input was processed,
so a half-written output never looks complete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from storyloom.core.files import atomic_writer
from storyloom.dedupe.index import (
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
    NearDuplicateIndex,
)

BATCH_SIZE = 32  # documents hashed together; small batches stay in the CPU cache
BUFFER = 1 << 20  # output buffer: few large writes


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
    end: int  # input bytes read up to the end of this line


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
    require_id: bool = False,
) -> DedupeSummary:
    """Copy `input_path` to `output_path` without near-duplicates; `on_progress` receives
    the number of input bytes consumed so far. The input is read once, front to back, so
    a pipe (`<(zcat corpus.jsonl.gz)`, `/dev/stdin`) works as well as a file.
    `require_id`: the first record must have `id_field` (a field the user named, so a
    typo is caught before a clusters file full of null ids is written)."""
    if same_file(input_path, output_path):
        raise DedupeInputError(f"the output {output_path} is the input file")
    if clusters_path is not None and (
        same_file(clusters_path, input_path) or same_file(clusters_path, output_path)
    ):
        raise DedupeInputError(f"the clusters file {clusters_path} is the input or output file")
    if input_path.is_file() and input_path.stat().st_size == 0:
        raise DedupeInputError(f"{input_path} is empty")
    started = time.perf_counter()
    index = NearDuplicateIndex(
        threshold=threshold, shingle_size=shingle_size, num_perm=num_perm, seed=seed
    )
    kept_ids: dict[str, Any] = {}
    clustered: set[str] = set()
    documents = removed = consumed = 0
    with ExitStack() as stack:
        # Entered first, so replaced last: a complete output means the clusters are too.
        output = stack.enter_context(atomic_writer(output_path, buffering=BUFFER))
        clusters = (
            stack.enter_context(atomic_writer(clusters_path, buffering=BUFFER))
            if clusters_path
            else None
        )
        reader = stack.enter_context(input_path.open("rb"))
        for batch in _batches(reader, input_path, text_field, id_field if require_id else None):
            signatures = index.signatures([document.text for document in batch])
            bucket_keys = index.bucket_keys(signatures).tolist()
            for document, signature, buckets in zip(batch, signatures, bucket_keys, strict=True):
                documents += 1
                key = str(document.line)
                match = index.check_and_insert_signature(key, signature, buckets)
                if match is None:
                    kept_ids[key] = document.parsed.get(id_field)
                    output.write(document.raw)
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
                    clusters.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
            consumed = batch[-1].end
            if on_progress is not None:
                on_progress(consumed)
        if documents == 0:
            raise DedupeInputError(f"{input_path} holds no documents (empty, or only blank lines)")
    return DedupeSummary(
        documents=documents,
        kept=documents - removed,
        removed=removed,
        clusters=len(clustered),
        input_bytes=consumed,
        seconds=time.perf_counter() - started,
    )


def _batches(
    reader: IO[bytes], input_path: Path, text_field: str, id_field: str | None
) -> Iterator[list[_Document]]:
    batch: list[_Document] = []
    end = 0
    for number, raw in enumerate(reader, start=1):
        end += len(raw)
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
        if id_field is not None:
            if id_field not in parsed:
                raise DedupeInputError(
                    f"{input_path}:{number}: id field {id_field!r} is missing from the first "
                    "record (choose another with --id-field)"
                )
            id_field = None  # only the first record is checked: ids may be sparse later
        line = raw if raw.endswith(b"\n") else raw + b"\n"
        batch.append(_Document(number, line, parsed, text, end))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch
