"""Benchmark: `storyloom dedupe` at 200k, 1M and (--ten-million) 10M documents, on one core
and on all, beside datatrove's MinHash pipeline on the same files, in one run.

The corpus is synthetic and made here, fast, with numpy (nothing is downloaded): ~300-word
documents drawn from a Zipf-weighted 30,000-word vocabulary with stock phrases every ~25
words (what pushes unrelated documents together in real corpora), 5% of them planted
near-duplicates (an earlier document with 5-15% of its words replaced in spans of 1-5).
It is written as two shard files; storyloom reads their concatenation through a pipe (so
nothing can seek back), datatrove reads the shards, one task per shard.

`unbounded` is the baseline: the dedupe of before (one process, the whole index in memory).
Each method runs in a fresh subprocess that reports its own peak RSS and the largest peak
RSS among its worker processes (ru_maxrss of the waited-for children), so numbers from one
method never leak into another's. Printed per size: docs/s, peak RSS of the main process
and of one worker, main RSS per document, and documents removed against those planted.

    .venv/bin/python bench/dedupe_scale.py                       # 200k and 1M
    .venv/bin/python bench/dedupe_scale.py --docs 50000          # a quick look
    .venv/bin/python bench/dedupe_scale.py --ten-million         # adds 10M (19 GB of JSONL)
    .venv/bin/python bench/dedupe_scale.py --datatrove-max 200000  # datatrove at 200k only
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

VOCABULARY = 30_000
STOCK_PHRASES = 400
WORDS = 300
DUPLICATES = 0.05
CHUNK = 20_000
SHARDS = 2


def _vocabulary(rng: np.random.Generator) -> np.ndarray:
    syllables = np.array(
        [a + b for a in "bcdfghjklmnprstvwz" for b in ("a", "e", "i", "o", "u", "ai", "ou")]
    )
    lengths = rng.integers(1, 4, size=VOCABULARY)
    picks = rng.integers(0, syllables.size, size=(VOCABULARY, 3))
    words = {
        "".join(syllables[picks[n, : lengths[n]]].tolist()) + str(n % 7 or "")
        for n in range(VOCABULARY)
    }
    return np.array(sorted(words))


def write_corpus(folder: Path, docs: int, seed: int = 7) -> int:
    """Write `docs` documents as SHARDS files in `folder`; return the planted copies."""
    rng = np.random.default_rng(seed)
    vocabulary = _vocabulary(rng)
    ranks = np.arange(1, vocabulary.size + 1, dtype=np.float64)
    weights = ranks**-1.07
    cumulative = np.cumsum(weights / weights.sum())
    phrases = [rng.integers(0, 200, size=rng.integers(3, 7)) for _ in range(STOCK_PHRASES)]
    shards = [(folder / f"part-{n:02d}.jsonl").open("w", encoding="utf-8") for n in range(SHARDS)]
    per_shard = -(-docs // SHARDS)
    planted = 0
    number = 0
    while number < docs:
        count = min(CHUNK, docs - number)
        lengths = rng.integers(WORDS * 9 // 10, WORDS * 11 // 10 + 1, size=count)
        ids = np.searchsorted(cumulative, rng.random((count, WORDS * 11 // 10 + 1)))
        ids = np.minimum(ids, vocabulary.size - 1)
        for row in range(count):
            for place in range(0, int(lengths[row]) - 8, 25):
                phrase = phrases[int(rng.integers(STOCK_PHRASES))]
                start = place + int(rng.integers(0, 15))
                ids[row, start : start + phrase.size] = phrase
        copies = rng.random(count) < DUPLICATES
        copies[0] = False
        for row in np.flatnonzero(copies).tolist():
            source = int(rng.integers(0, row))
            ids[row] = ids[source]
            lengths[row] = lengths[source]
            edited = 0
            target = int(lengths[row] * rng.uniform(0.05, 0.15))
            while edited < target:
                span = int(rng.integers(1, 6))
                start = int(rng.integers(0, lengths[row] - span))
                ids[row, start : start + span] = rng.integers(0, vocabulary.size, size=span)
                edited += span
            planted += 1
        for row in range(count):
            text = " ".join(vocabulary[ids[row, : lengths[row]]].tolist()) + "."
            shard = shards[number // per_shard]
            shard.write(json.dumps({"id": f"doc-{number}", "text": text}) + "\n")
            number += 1
    for shard in shards:
        shard.close()
    return planted


def _peaks() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"main_rss": own, "worker_rss": children}


def run_storyloom(folder: Path, workers: int, memory: str) -> dict[str, Any]:
    from storyloom.dedupe.stream import dedupe_jsonl

    shards = sorted(folder.glob("part-*.jsonl"))
    out = folder / "storyloom-out"
    out.mkdir(exist_ok=True)
    cat = subprocess.Popen(["cat", *map(str, shards)], stdout=subprocess.PIPE)
    assert cat.stdout is not None
    size = int(memory.rstrip("M")) << 20
    started = time.perf_counter()
    summary = dedupe_jsonl(
        Path(f"/dev/fd/{cat.stdout.fileno()}"),
        out / "out.jsonl",
        workers=workers,
        memory_bytes=size,
    )
    seconds = time.perf_counter() - started
    cat.wait()
    shutil.rmtree(out)
    return {
        "docs": summary.documents,
        "removed": summary.removed,
        "seconds": seconds,
        "spills": summary.spills,
        **_peaks(),
    }


def run_unbounded(folder: Path) -> dict[str, Any]:
    """The dedupe of before this bench existed (one process, everything in memory): JSON
    parsed and signed 32 documents at a time, then check-and-insert into a
    NearDuplicateIndex, whose signatures and buckets grow with every kept document."""
    from storyloom.dedupe.index import NearDuplicateIndex

    index = NearDuplicateIndex()
    shards = sorted(folder.glob("part-*.jsonl"))
    cat = subprocess.Popen(["cat", *map(str, shards)], stdout=subprocess.PIPE)
    assert cat.stdout is not None
    kept_ids: dict[str, Any] = {}
    docs = removed = 0
    started = time.perf_counter()
    with (folder / "unbounded-out.jsonl").open("wb") as output:
        batch: list[tuple[int, bytes, dict[str, Any]]] = []
        for number, raw in enumerate([*cat.stdout, b""], start=1):
            if raw:
                batch.append((number, raw, json.loads(raw)))
            if len(batch) < 32 and raw:
                continue
            if not batch:
                break
            signatures = index.signatures([parsed["text"] for _, _, parsed in batch])
            bucket_keys = index.bucket_keys(signatures).tolist()
            for (line, line_bytes, parsed), signature, buckets in zip(
                batch, signatures, bucket_keys, strict=True
            ):
                docs += 1
                key = str(line)
                if index.check_and_insert_signature(key, signature, buckets) is None:
                    kept_ids[key] = parsed.get("id")
                    output.write(line_bytes)
                else:
                    removed += 1
            batch = []
    seconds = time.perf_counter() - started
    cat.wait()
    (folder / "unbounded-out.jsonl").unlink()
    return {"docs": docs, "removed": removed, "seconds": seconds, "spills": None, **_peaks()}


def run_datatrove(folder: Path, workers: int) -> dict[str, Any]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    work = folder / "datatrove"
    config = MinhashConfig()  # datatrove's defaults: 5-grams, 14 buckets x 8 hashes
    # Its logs and completion markers go with the rest of its work, removed at the end.
    common = {"workers": workers, "logging_dir": str(work / "logs"), "skip_completed": False}
    reader = JsonlReader(str(folder), glob_pattern="part-*.jsonl")
    stages = [
        LocalPipelineExecutor(
            [reader, MinhashDedupSignature(output_folder=str(work / "sigs"), config=config)],
            tasks=SHARDS,
            **common,
        ),
        LocalPipelineExecutor(
            [
                MinhashDedupBuckets(
                    input_folder=str(work / "sigs"),
                    output_folder=str(work / "buckets"),
                    config=config,
                )
            ],
            tasks=config.num_buckets,
            **common,
        ),
        LocalPipelineExecutor(
            [
                MinhashDedupCluster(
                    input_folder=str(work / "buckets"),
                    output_folder=str(work / "remove"),
                    config=config,
                )
            ],
            tasks=1,
            **common,
        ),
        LocalPipelineExecutor(
            [
                JsonlReader(str(folder), glob_pattern="part-*.jsonl"),
                MinhashDedupFilter(input_folder=str(work / "remove")),
                JsonlWriter(str(work / "out")),
            ],
            tasks=SHARDS,
            **common,
        ),
    ]
    started = time.perf_counter()
    for stage in stages:
        stage.run()
    seconds = time.perf_counter() - started
    kept = 0
    for path in (work / "out").glob("*.jsonl*"):
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as handle:
            kept += sum(1 for _ in handle)
    docs = sum(sum(1 for _ in path.open("rb")) for path in folder.glob("part-*.jsonl"))
    shutil.rmtree(work)
    return {"docs": docs, "removed": docs - kept, "seconds": seconds, "spills": None, **_peaks()}


def _measure(method: str, folder: Path, workers: int, memory: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--run-one",
        method,
        "--folder",
        str(folder),
        "--workers",
        str(workers),
        "--memory",
        memory,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{method} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="*", default=[200_000, 1_000_000])
    parser.add_argument("--ten-million", action="store_true", help="also 10,000,000 documents")
    parser.add_argument(
        "--datatrove-max",
        type=int,
        default=None,
        help="run datatrove only up to this many documents (it is the slow one)",
    )
    parser.add_argument("--memory", default="512M", help="storyloom's --memory, in M")
    parser.add_argument("--dir", type=Path, default=None, help="where corpora are written")
    parser.add_argument(
        "--run-one", choices=["storyloom", "unbounded", "datatrove"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one == "storyloom":
        print(json.dumps(run_storyloom(args.folder, args.workers, args.memory)))
        return
    if args.run_one == "unbounded":
        print(json.dumps(run_unbounded(args.folder)))
        return
    if args.run_one == "datatrove":
        print(json.dumps(run_datatrove(args.folder, args.workers)))
        return

    sizes = [*args.docs, *([10_000_000] if args.ten_million else [])]
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; storyloom --memory {args.memory}; ~{WORDS}-word documents, ")
    print(f"{DUPLICATES:.0%} planted near-duplicates\n")
    print(
        "| docs | method | processes | docs/s | peak RSS main | peak RSS worker | "
        "main RSS/doc | removed / planted | spills |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for docs in sizes:
        with tempfile.TemporaryDirectory(dir=args.dir) as workdir:
            folder = Path(workdir)
            started = time.perf_counter()
            planted = write_corpus(folder, docs)
            made = time.perf_counter() - started
            megabytes = sum(path.stat().st_size for path in folder.iterdir()) / 1e6
            print(f"<!-- {docs:,} docs: {megabytes:,.0f} MB of JSONL, made in {made:.0f} s -->")
            methods = [("unbounded", 1), ("storyloom", 1), ("storyloom", cores)]
            if args.datatrove_max is None or docs <= args.datatrove_max:
                methods += [("datatrove", 1), ("datatrove", cores)]
            for method, workers in methods:
                result = _measure(method, folder, workers, args.memory)
                worker = (
                    "-"
                    if workers == 1 and method != "datatrove"
                    else (f"{result['worker_rss'] / 1e6:,.0f} MB")
                )
                print(
                    f"| {docs:,} | {method} | {workers} | "
                    f"{result['docs'] / result['seconds']:,.0f} | "
                    f"{result['main_rss'] / 1e6:,.0f} MB | {worker} | "
                    f"{result['main_rss'] / result['docs']:,.0f} B | "
                    f"{result['removed']:,} / {planted:,} | "
                    f"{'-' if result['spills'] is None else result['spills']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
