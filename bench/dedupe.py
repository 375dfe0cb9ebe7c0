"""Benchmark: storyloom's near-duplicate detection against naive datasketch, in one run.

Builds a deterministic story-like corpus (nothing downloaded; see tests/support/
dedupe_corpus.py): by default 20,000 documents of about 800 words, 10% of them planted
near-duplicates made by editing 5-15% of another document's words in short spans. Then:

  naive      datasketch as usually written: regex words, 5-word shingle strings, one
             MinHash.update() per shingle, MinHashLSH(threshold=0.8) deciding alone.
             Timed on --naive-docs documents (a tenth of them whole planted pairs) and
             extrapolated: it is far slower.
  storyloom  NearDuplicateIndex with its defaults: batched vectorised signatures, LSH bands
             chosen for the threshold, every candidate verified (texts already in memory).
  jsonl      storyloom.dedupe.stream.dedupe_jsonl, file to file, JSON parsing included
             (what `storyloom dedupe` does).

Reports docs/s, MB/s of text, peak memory (tracemalloc, in a separate untimed pass), and
precision and recall against the planted pairs. `--sweep` also prints the measurements the
defaults were chosen from (exact Jaccard of planted and of distinct pairs, and precision and
recall per shingle size and threshold).

    .venv/bin/python bench/dedupe.py                 # the full run (about 2 minutes here)
    .venv/bin/python bench/dedupe.py --docs 2000     # smaller
    .venv/bin/python bench/dedupe.py --sweep
"""

from __future__ import annotations

import argparse
import gc
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from dedupe_corpus import PlantedCorpus, build_corpus

from storyloom.dedupe.index import (
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
    NearDuplicateIndex,
)
from storyloom.dedupe.normalise import tokens
from storyloom.dedupe.parallel import SIGN_BATCH as BATCH_SIZE
from storyloom.dedupe.stream import dedupe_jsonl

TARGET_SPEEDUP = 30.0
TARGET_PRECISION = 0.99
TARGET_RECALL = 0.95
NAIVE_THRESHOLD = 0.8
_WORD = re.compile(r"\w+")

Pairs = set[tuple[int, int]]


@dataclass
class Result:
    name: str
    docs: int
    seconds: float
    text_bytes: int
    found: Pairs
    peak_bytes: int | None = None

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.seconds

    @property
    def megabytes_per_second(self) -> float:
        return self.text_bytes / 1e6 / self.seconds


def naive_dedupe(texts: Sequence[str], shingle_size: int = DEFAULT_SHINGLE_SIZE) -> Pairs:
    """The usual datasketch recipe; the LSH bucket hit decides on its own."""
    lsh = MinHashLSH(threshold=NAIVE_THRESHOLD, num_perm=128)
    found: Pairs = set()
    for number, text in enumerate(texts):
        tokens = _WORD.findall(text.lower())
        minhash = MinHash(num_perm=128, seed=1)
        for shingle in {
            " ".join(tokens[i : i + shingle_size]) for i in range(len(tokens) - shingle_size + 1)
        }:
            minhash.update(shingle.encode("utf-8"))
        hits = lsh.query(minhash)
        if hits:
            found.add((min(hits), number))
        else:
            lsh.insert(number, minhash)
    return found


def storyloom_dedupe(texts: Sequence[str], **params: float) -> Pairs:
    index = NearDuplicateIndex(**params)  # type: ignore[arg-type]
    found: Pairs = set()
    for start in range(0, len(texts), BATCH_SIZE):
        signatures = index.signatures(texts[start : start + BATCH_SIZE])
        bucket_keys = index.bucket_keys(signatures).tolist()
        for offset, (signature, buckets) in enumerate(zip(signatures, bucket_keys, strict=True)):
            number = start + offset
            match = index.check_and_insert_signature(str(number), signature, buckets)
            if match is not None:
                found.add((int(match.key), number))
    return found


def jsonl_dedupe(corpus_path: Path, workdir: Path) -> Pairs:
    clusters = workdir / "removed.jsonl"
    dedupe_jsonl(corpus_path, workdir / "out.jsonl", clusters_path=clusters)
    import json

    found: Pairs = set()
    with clusters.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            found.add((record["duplicate_of"]["line"] - 1, record["line"] - 1))
    return found


def timed(name: str, docs: int, text_bytes: int, run: Callable[[], Pairs]) -> Result:
    gc.collect()
    started = time.perf_counter()
    found = run()
    return Result(name, docs, time.perf_counter() - started, text_bytes, found)


def peak_memory(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def precision_recall(found: Pairs, planted: Pairs) -> tuple[float, float]:
    normalised = {tuple(sorted(pair)) for pair in found}
    hits = len(normalised & planted)
    precision = hits / len(normalised) if normalised else 1.0
    recall = hits / len(planted) if planted else 1.0
    return precision, recall


def naive_subset(corpus: PlantedCorpus, docs: int) -> tuple[list[str], Pairs]:
    """`docs` documents in corpus order holding a tenth of them as whole planted pairs, so the
    naive baseline's precision and recall rest on more than a handful of pairs."""
    chosen: set[int] = set()
    for pair in sorted(corpus.planted_pairs)[: docs // 20]:
        chosen.update(pair)
    for number in range(len(corpus.texts)):
        if len(chosen) >= docs:
            break
        chosen.add(number)
    ordered = sorted(chosen)
    position = {number: place for place, number in enumerate(ordered)}
    pairs = {
        (position[a], position[b])
        for a, b in corpus.planted_pairs
        if a in position and b in position
    }
    return [corpus.texts[number] for number in ordered], pairs


def shingle_sets(texts: Sequence[str], size: int) -> list[set[tuple[bytes, ...]]]:
    sets = []
    for text in texts:
        found = tokens(text)
        sets.append({tuple(found[i : i + size]) for i in range(len(found) - size + 1)})
    return sets


def exact_jaccards(
    corpus: PlantedCorpus, size: int, sample: int
) -> tuple[list[float], list[float]]:
    """Exact Jaccard of every planted pair, and each of the first `sample` documents' highest
    Jaccard with any other of them it was not planted with (found via an inverted index)."""
    planted = []
    for first, second in sorted(corpus.planted_pairs):
        a, b = shingle_sets([corpus.texts[first], corpus.texts[second]], size)
        planted.append(len(a & b) / len(a | b))
    sets = shingle_sets(corpus.texts[:sample], size)
    postings: dict[tuple[bytes, ...], list[int]] = defaultdict(list)
    for number, shingles in enumerate(sets):
        for shingle in shingles:
            postings[shingle].append(number)
    highest = [0.0] * len(sets)
    for number, shingles in enumerate(sets):
        shared: dict[int, int] = defaultdict(int)
        for shingle in shingles:
            for other in postings[shingle]:
                if other > number:
                    shared[other] += 1
        for other, count in shared.items():
            if (number, other) in corpus.planted_pairs:
                continue
            jaccard = count / (len(shingles) + len(sets[other]) - count)
            highest[number] = max(highest[number], jaccard)
            highest[other] = max(highest[other], jaccard)
    return planted, highest


def sweep(corpus: PlantedCorpus, sample: int) -> None:
    print(
        f"\n## Exact Jaccard by shingle size (all planted pairs; distinct pairs among the "
        f"first {sample} documents)"
    )
    print(
        "| k | planted pairs: min / 1% / 5% / median / max | distinct: median / 99% / max "
        "of each doc's closest |"
    )
    print("|---|---|---|")
    for size in (2, 3, 4, 5, 6):
        planted, highest = exact_jaccards(corpus, size, sample)
        p = np.percentile(planted, [0, 1, 5, 50, 100])
        d = np.percentile(highest, [50, 99, 100])
        print(
            f"| {size} | {p[0]:.3f} / {p[1]:.3f} / {p[2]:.3f} / {p[3]:.3f} / {p[4]:.3f} "
            f"| {d[0]:.3f} / {d[1]:.3f} / {d[2]:.3f} |"
        )
    print(f"\n## Precision / recall on all {len(corpus.texts)} documents")
    thresholds = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    print("| k | " + " | ".join(f"t={t}" for t in thresholds) + " |")
    print("|---|" + "---|" * len(thresholds))
    planted = set(corpus.planted_pairs)
    for size in (3, 4, 5):
        cells = []
        for threshold in thresholds:
            found = storyloom_dedupe(corpus.texts, threshold=threshold, shingle_size=size)
            precision, recall = precision_recall(found, planted)
            cells.append(f"{precision:.3f} / {recall:.3f}")
        print(f"| {size} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="corpus size")
    parser.add_argument(
        "--words",
        type=int,
        default=800,
        help="average words per document (about 80 mimics premises)",
    )
    parser.add_argument(
        "--naive-docs",
        type=int,
        default=1_000,
        help="documents the naive baseline is timed on (then extrapolated)",
    )
    parser.add_argument("--seed", type=int, default=7, help="corpus seed")
    parser.add_argument(
        "--sweep", action="store_true", help="also print the measurements behind the defaults"
    )
    parser.add_argument(
        "--sweep-docs",
        type=int,
        default=2_000,
        help="documents used for the exact-Jaccard part of --sweep",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    corpus = build_corpus(args.docs, seed=args.seed, words_per_doc=args.words)
    built = time.perf_counter() - started
    texts = corpus.texts
    text_bytes = [len(text.encode("utf-8")) for text in texts]
    planted = set(corpus.planted_pairs)
    naive_texts, naive_planted = naive_subset(corpus, min(args.naive_docs, len(texts)))
    naive_docs = len(naive_texts)
    print(
        f"corpus: {len(texts):,} docs, {sum(text_bytes) / 1e6:.1f} MB of text, "
        f"{np.mean([len(t.split()) for t in texts]):.0f} words/doc on average, "
        f"{len(planted):,} planted near-duplicate pairs (built in {built:.1f} s)"
    )
    print(
        f"storyloom defaults: threshold {DEFAULT_THRESHOLD}, shingle size "
        f"{DEFAULT_SHINGLE_SIZE}, layout {NearDuplicateIndex().layout}"
    )

    naive = timed(
        f"naive datasketch ({naive_docs:,} docs, extrapolated)",
        naive_docs,
        sum(len(text.encode()) for text in naive_texts),
        lambda: naive_dedupe(naive_texts),
    )
    naive.peak_bytes = peak_memory(lambda: naive_dedupe(naive_texts))
    ours = timed(
        "storyloom NearDuplicateIndex", len(texts), sum(text_bytes), lambda: storyloom_dedupe(texts)
    )
    ours.peak_bytes = peak_memory(lambda: storyloom_dedupe(texts))
    with tempfile.TemporaryDirectory() as workdir:
        corpus_path = Path(workdir) / "corpus.jsonl"
        corpus.write_jsonl(corpus_path)
        file_bytes = corpus_path.stat().st_size
        jsonl = timed(
            "storyloom dedupe_jsonl (file to file)",
            len(texts),
            file_bytes,
            lambda: jsonl_dedupe(corpus_path, Path(workdir)),
        )

    print("\n| method | docs/s | MB/s | peak memory | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    for result, reference in ((naive, naive_planted), (ours, planted), (jsonl, planted)):
        precision, recall = precision_recall(result.found, reference)
        memory = f"{result.peak_bytes / 1e6:.0f} MB" if result.peak_bytes is not None else "-"
        print(
            f"| {result.name} | {result.docs_per_second:,.0f} | "
            f"{result.megabytes_per_second:.2f} | {memory} | {precision:.4f} | "
            f"{recall:.4f} |"
        )
    print(
        f"\n(naive precision/recall are over the {len(naive_planted)} planted pairs inside its "
        f"{naive_docs:,} documents; jsonl MB/s counts JSON bytes; peak memory is "
        f"tracemalloc's peak in a separate untimed pass, naive on its subset)"
    )
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")

    speedup = ours.docs_per_second / naive.docs_per_second
    precision, recall = precision_recall(ours.found, planted)
    print(
        f"\nspeedup over naive: {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x) "
        f"{'OK' if speedup >= TARGET_SPEEDUP else 'MISSED'}"
    )
    print(
        f"precision: {precision:.4f} (target >= {TARGET_PRECISION}) "
        f"{'OK' if precision >= TARGET_PRECISION else 'MISSED'}"
    )
    print(
        f"recall: {recall:.4f} (target >= {TARGET_RECALL}) "
        f"{'OK' if recall >= TARGET_RECALL else 'MISSED'}"
    )
    if args.sweep:
        sweep(corpus, min(args.sweep_docs, len(texts)))


if __name__ == "__main__":
    main()
