"""Streaming near-duplicate removal for any JSON-lines corpus.

Documents are read in order and kept unless they near-duplicate a document kept before them
(or any document of the `against` corpora, which are read and never written), so the first
occurrence of every cluster survives. Kept lines are copied byte for byte; each removed
document is written to the clusters file with what it duplicated. Both outputs go to
temporary files that are renamed into place only when the whole input was processed, so a
half-written output never looks complete.

Signatures are computed by `parallel.Signer` (on several cores if asked) and decided by a
`bounded.BoundedIndex`, which spills to disk above `memory_bytes`: the outputs are the same
whatever the workers and the budget.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from storyloom.core.files import atomic_writer
from storyloom.dedupe.bounded import Batch, BoundedIndex, Decision, Found
from storyloom.dedupe.index import (
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
)
from storyloom.dedupe.lsh import Banding, BandLayout
from storyloom.dedupe.parallel import Chunk, DedupeInputError, Signer, SignParams
from storyloom.dedupe.semantic import SemanticIndex

__all__ = ["DEFAULT_MEMORY_BYTES", "DedupeInputError", "DedupeSummary", "dedupe_jsonl", "same_file"]

BUFFER = 1 << 20  # output buffer: few large writes
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
#: Enough to dedupe about 80,000 documents before anything spills; measured peak RSS at
#: 1M documents stays well under 1 GB with it (dedupe/README.md).
DEFAULT_MEMORY_BYTES = 512 << 20


@dataclass(frozen=True)
class DedupeSummary:
    documents: int
    kept: int
    removed: int
    clusters: int  # kept documents (or --against ones) that had a near-duplicate removed
    input_bytes: int
    seconds: float
    against_documents: int = 0
    spills: int = 0  # times the index moved its memory tier to disk
    semantic_removed: int = 0  # of `removed`, those only the semantic pass caught


def same_file(first: Path, second: Path) -> bool:
    if first.exists() and second.exists():
        return first.samefile(second)
    return first.resolve() == second.resolve()


def default_workers() -> int:
    """Every core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
    against: Sequence[Path] = (),
    workers: int = 1,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    spill_dir: Path | None = None,
    semantic: SemanticIndex | None = None,
) -> DedupeSummary:
    """Copy `input_path` to `output_path` without near-duplicates; `on_progress` receives
    the number of input bytes consumed so far. The input is read once, front to back, so
    a pipe (`<(zcat corpus.jsonl.gz)`, `/dev/stdin`) works as well as a file.
    `require_id`: the first record must have `id_field` (a field the user named, so a
    typo is caught before a clusters file full of null ids is written).
    `against`: corpora whose documents count as kept before the input's first line; an
    input document near any of them is removed. `spill_dir`: where the index spills
    (default: beside the output); its files are removed at the end. `semantic`: a
    second pass that removes documents whose embedding is near a kept one's (see
    `semantic.SemanticIndex`)."""
    _check_paths(input_path, output_path, clusters_path, against)
    _keep_large_frees_returned()
    started = time.perf_counter()
    layout = BandLayout.for_threshold(threshold, num_perm)
    banding = Banding(layout, num_perm)
    params = SignParams(
        num_perm, shingle_size, seed, layout.bands, layout.rows, text_field, id_field
    )
    spill_parent = spill_dir if spill_dir is not None else output_path.parent
    writer = _Writer(against, text_field, semantic)
    against_documents = 0
    with ExitStack() as stack:
        signer = stack.enter_context(Signer(params, workers))
        index = stack.enter_context(
            BoundedIndex(
                threshold=threshold,
                num_perm=num_perm,
                banding=banding,
                memory_bytes=memory_bytes,
                spill_parent=spill_parent,
            )
        )
        for source, path in enumerate(against, start=1):
            for chunk in signer.chunks(path):
                against_documents += len(chunk.lines)
                batch = _batch(chunk, source, check=False)
                index.submit(batch)
                if semantic is not None:
                    texts = [json.loads(raw)[text_field] for raw in chunk.raws]
                    semantic.check_and_insert(texts, batch.payloads, check=False)
        # Entered first, so replaced last: a complete output means the clusters are too.
        writer.output = stack.enter_context(atomic_writer(output_path, buffering=BUFFER))
        if clusters_path is not None:
            writer.clusters = stack.enter_context(atomic_writer(clusters_path, buffering=BUFFER))
        consumed = 0
        for chunk in signer.chunks(input_path, require_id=require_id):
            writer.write(index.submit(_batch(chunk, 0, check=True)))
            consumed = chunk.end
            if on_progress is not None:
                on_progress(consumed)
        writer.write(index.finish())
        if writer.documents == 0:
            raise DedupeInputError(f"{input_path} holds no documents (empty, or only blank lines)")
        spills = index.spills
    return DedupeSummary(
        documents=writer.documents,
        kept=writer.documents - writer.removed,
        removed=writer.removed,
        clusters=writer.clusters_count(),
        semantic_removed=writer.semantic_removed,
        input_bytes=consumed,
        seconds=time.perf_counter() - started,
        against_documents=against_documents,
        spills=spills,
    )


def _keep_large_frees_returned() -> None:
    """glibc raises its mmap threshold (up to 32 MB) each time a mapped block is freed, after
    which the dedupe's many short-lived numpy buffers come from the heap, fragment it, and
    are never given back: measured at 1M documents, that was 300 MB of peak RSS. Pinning
    the threshold at its default keeps large buffers mapped and returned when freed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator has its own policy


def _check_paths(
    input_path: Path, output_path: Path, clusters_path: Path | None, against: Sequence[Path]
) -> None:
    if same_file(input_path, output_path):
        raise DedupeInputError(f"the output {output_path} is the input file")
    if clusters_path is not None and (
        same_file(clusters_path, input_path) or same_file(clusters_path, output_path)
    ):
        raise DedupeInputError(f"the clusters file {clusters_path} is the input or output file")
    for existing in against:
        for written in (output_path, clusters_path):
            if written is not None and same_file(existing, written):
                raise DedupeInputError(
                    f"{written} is also given with --against: it would be overwritten"
                )
    for path in (input_path, *against):
        if path.is_file() and path.stat().st_size == 0:
            raise DedupeInputError(f"{path} is empty")


def _batch(chunk: Chunk, source: int, *, check: bool) -> Batch:
    """Payload [source, line, id]: what a removed document's record says it duplicated
    (source 0 is the input, n the n-th --against corpus)."""
    return Batch(
        signatures=chunk.signatures,
        bucket_keys=chunk.bucket_keys,
        payloads=[[source, line, id_] for line, id_ in zip(chunk.lines, chunk.ids, strict=True)],
        items=list(zip(chunk.lines, chunk.raws, chunk.ids, strict=True))
        if check
        else [None] * len(chunk.lines),
        check=check,
        sizes=[len(raw) for raw in chunk.raws] if check else [],
    )


class _Writer:
    """Writes decided documents: kept lines to the output, removed ones to the clusters.
    With a semantic index, what MinHash kept is checked against it before it is written."""

    def __init__(
        self, against: Sequence[Path], text_field: str, semantic: SemanticIndex | None
    ) -> None:
        self._against = against
        self._text_field = text_field
        self._semantic = semantic
        self.output: IO[bytes] | None = None
        self.clusters: IO[bytes] | None = None
        self.documents = 0
        self.removed = 0
        self.semantic_removed = 0
        # One bit per entry of each index: it had a near-duplicate removed.
        self._heads = {"minhash": bytearray(), "semantic": bytearray()}

    def write(self, decisions: list[Decision]) -> None:
        assert self.output is not None
        semantic = self._semantic_matches(decisions)
        for (item, found), meaning in zip(decisions, semantic, strict=True):
            line, raw, id_ = item
            self.documents += 1
            by = "minhash" if found is not None else "semantic"
            found = found or meaning
            if found is None:
                self.output.write(raw)
                continue
            self.removed += 1
            self.semantic_removed += by == "semantic"
            heads = self._heads[by]
            byte = found.number >> 3
            if byte >= len(heads):
                heads.extend(bytes(max(byte + 1, 2 * len(heads)) - len(heads)))
            heads[byte] |= 1 << (found.number & 7)
            if self.clusters is not None:
                self.clusters.write(self._record(line, raw, id_, found, by))

    def clusters_count(self) -> int:
        return sum(int.from_bytes(heads, "little").bit_count() for heads in self._heads.values())

    def _semantic_matches(self, decisions: list[Decision]) -> list[Found | None]:
        """For each decision: what the semantic pass found for a document MinHash kept."""
        matches: list[Found | None] = [None] * len(decisions)
        if self._semantic is None:
            return matches
        kept = [place for place, (_, found) in enumerate(decisions) if found is None]
        texts = [json.loads(decisions[place][0][1])[self._text_field] for place in kept]
        payloads = [[0, decisions[place][0][0], decisions[place][0][2]] for place in kept]
        for place, found in zip(
            kept, self._semantic.check_and_insert(texts, payloads), strict=True
        ):
            matches[place] = found
        return matches

    def _record(self, line: int, raw: bytes, id_: Any, found: Found, by: str) -> bytes:
        source, duplicate_line, duplicate_id = found.payload
        duplicate_of: dict[str, Any] = {"line": duplicate_line, "id": duplicate_id}
        if source:
            duplicate_of = {"file": str(self._against[source - 1]), **duplicate_of}
        record: dict[str, Any] = {
            "line": line,
            "id": id_,
            "duplicate_of": duplicate_of,
            "similarity": round(found.similarity, 4),
        }
        if by == "semantic":
            record["by"] = "semantic"  # similarity is then the embeddings' cosine
        record["document"] = json.loads(raw)
        return json.dumps(record, ensure_ascii=False).encode() + b"\n"
