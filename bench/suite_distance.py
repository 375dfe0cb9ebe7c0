"""The shipped evaluation suites' distance from the shipped generators' output and inputs.

For each kind, runs `storyloom generate --backend scripted` (augment over a synthetic
source of chats) and audits the corpus against every shipped suite; then audits the
generators' shipped inputs themselves (each claim with its reason and hard case, each
constitution section, each advice dilemma, each story setting and dilemma), which is
what a real model's output is written from. Prints, per corpus and suite: items, the
nearest-neighbour similarity (median, 99th percentile, max), items sharing a 13-gram,
flagged pairs, and the seconds the audit took beside the seconds `storyloom dedupe`
takes over the same corpus (the baseline: the same signatures, one pass).

    .venv/bin/python bench/suite_distance.py               # 100 items per kind
    .venv/bin/python bench/suite_distance.py --items 300 --throughput 20000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from augment_source import write_source
from dedupe_corpus import build_corpus

from storyloom.dataset.audit import audit_corpus
from storyloom.dataset.audit_sources import EvalSet, corpus_items, eval_set_of
from storyloom.dedupe.stream import dedupe_jsonl
from storyloom.evals.suite import load_suite, shipped_suites

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("story", "documents", "advice", "augment")


def scripted_corpus(kind: str, items: int, folder: Path) -> Path:
    run = folder / kind
    extra: list[str] = []
    if kind == "augment":
        extra = ["--source", str(write_source(folder / "chats.jsonl", items))]
    command = [sys.executable, "-m", "storyloom.cli", "generate", "--kind", kind, "-n",
               str(items), "--backend", "scripted", "--run-dir", str(run), *extra]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return run / "corpus.jsonl"


def input_texts(folder: Path) -> dict[str, Path]:
    """The shipped inputs as corpora of one text per claim, section, dilemma, setting."""
    corpora: dict[str, list[str]] = {}
    claims = ROOT / "stories" / "documents" / "data" / "claims.jsonl"
    corpora["claims file"] = [
        " ".join(str(r[k]) for k in ("claim", "reason", "hard_case"))
        for r in map(json.loads, claims.read_text().splitlines())
    ]
    constitution = (ROOT / "stories" / "data" / "constitution.md").read_text()
    corpora["constitution"] = constitution.split("\n## ")[1:]
    dilemmas = tomllib.loads((ROOT / "stories" / "advice" / "data" / "dilemmas.toml").read_text())
    corpora["advice dilemmas"] = [str(entry["summary"]) for entry in dilemmas["dilemma"]]
    axes = tomllib.loads((ROOT / "stories" / "story" / "data" / "axes.toml").read_text())
    corpora["story settings+dilemmas"] = [*axes.get("setting", []), *axes.get("dilemma", [])]
    paths = {}
    for name, texts in corpora.items():
        path = folder / f"{name.replace(' ', '_')}.jsonl"
        path.write_text(
            "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts))
        )
        paths[name] = path
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--throughput", type=int, default=0, metavar="DOCS",
                        help="also time the audit of DOCS synthetic documents")  # fmt: skip
    args = parser.parse_args()
    suites: list[EvalSet] = [eval_set_of(load_suite(name)) for name in shipped_suites()]
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        corpora = {
            f"{kind} (scripted)": scripted_corpus(kind, args.items, folder) for kind in KINDS
        }
        corpora.update(input_texts(folder))
        print(f"{'corpus':<26} {'suite':<24} {'items':>6} {'p50':>6} {'p99':>6} {'max':>6} "
              f"{'13-gram':>8} {'flagged':>8} {'audit s':>8} {'dedupe s':>9}")  # fmt: skip
        for name, path in corpora.items():
            started = time.perf_counter()
            items = [(i, t) for i, t, _ in corpus_items(path)]
            summary = audit_corpus(items, suites)
            audit_seconds = time.perf_counter() - started
            started = time.perf_counter()
            dedupe_jsonl(path, folder / "deduped.jsonl")
            dedupe_seconds = time.perf_counter() - started
            for suite in summary.suites:
                q = suite.quantiles()
                print(f"{name:<26} {suite.suite:<24} {summary.corpus_items:>6} "
                      f"{q['p50']:>6.3f} {q['p99']:>6.3f} {q['max']:>6.3f} "
                      f"{suite.items_with_shared_ngrams:>8} {len(suite.flagged):>8} "
                      f"{audit_seconds:>8.2f} {dedupe_seconds:>9.2f}")  # fmt: skip
        if args.throughput:
            throughput(args.throughput, suites, folder)


def throughput(docs: int, suites: list[EvalSet], folder: Path) -> None:
    """Audit speed on `docs` synthetic 800-word documents, beside dedupe's on the same file."""
    path = folder / "synthetic.jsonl"
    build_corpus(docs, seed=3).write_jsonl(path)
    megabytes = path.stat().st_size / 1e6
    started = time.perf_counter()
    audit_corpus(((i, t) for i, t, _ in corpus_items(path)), suites)
    audit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    dedupe_jsonl(path, folder / "deduped.jsonl")
    dedupe_seconds = time.perf_counter() - started
    evals = sum(len(suite.items) for suite in suites)
    print(f"\n{docs:,} documents ({megabytes:.0f} MB) against {evals} evaluation items:")
    print(f"  audit  {audit_seconds:6.1f} s  {docs / audit_seconds:8,.0f} docs/s")
    print(f"  dedupe {dedupe_seconds:6.1f} s  {docs / dedupe_seconds:8,.0f} docs/s  (baseline)")


if __name__ == "__main__":
    main()
