"""Benchmark `storyloom stats` on a synthetic run of 100,000 documents (by default).

    .venv/bin/python bench/stats.py                      # 100,000 docs, temp dir
    .venv/bin/python bench/stats.py --docs 3000 --html /tmp/report.html --keep /tmp/run

The run is synthesised deterministically (seed 0): story-like prose with a Zipf
vocabulary, function words, recurring character names, stock openings and stock phrases
(the "LLM tics" the report looks for), italic inner monologue, metadata as the workflow
writes it, ~12% rejected stories and a usage ledger. The stats are then computed in a
child process so its peak memory (ru_maxrss) is the report's alone. Prints seconds,
documents per second and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.stories.constitution import constitution_sample
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.story.inputs import load_inputs, sample_path

SEED = 0
_FUNCTION_TEXT = (
    "the and a to of was she in it that he her had for on with as at but not is his you "
    "they we said be this from what all there would could one so if were out when them "
    "then no about into just like over only back now down some than too very"
)
FUNCTION_WORDS = _FUNCTION_TEXT.split()
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "sa",
    "tor",
    "vel",
    "an",
    "dri",
    "ost",
    "pe",
    "qua",
    "lin",
    "mor",
    "ce",
    "ith",
    "bra",
    "nu",
    "el",
    "ga",
    "hol",
    "ris",
    "ty",
    "fen",
]
STOCK_OPENINGS = [
    "The message arrived at",
    "It was late when",
    "The first thing I",
    "Nobody noticed the",
    "The hospital was quiet",
    "Rain had been falling",
    "The request came in",
    "She had been",
    "At three in the",
    "The logs showed that",
    "When the lights",
    "There is a moment",
]
TICS = [
    "took a deep breath",
    "for a long moment",
    "the weight of it",
    "a quiet hum of",
    "something shifted in",
    "let the silence sit",
    "it was enough for now",
    "held that thought",
    "a testament to the",
    "the truth was simpler",
]
CRAFT = ["shows_why", "psychological_health", "not_preachy"]
REASONS = [
    "max_revisions",
    "near_duplicate",
    "plan_duplicate",
    "invalid_premise",
    "backend_error",
]
REASON_WEIGHTS = [0.5, 0.3, 0.1, 0.05, 0.05]
FINDINGS = ["length", "monologue", "repetition", "truncated", "chat_format", "persona_name"]


class Synth:
    """Deterministic story-like documents and their metadata."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = np.array(SYLLABLES)
        made = {
            "".join(self.rng.choice(syllables, size=self.rng.integers(1, 4))) for _ in range(12_000)
        }
        content = sorted(made - set(FUNCTION_WORDS))[:8_000]
        self.rng.shuffle(content)
        self.vocab = np.array(FUNCTION_WORDS + content, dtype=object)
        weights = 1.0 / np.arange(1, len(self.vocab) + 1) ** 1.05
        self.cumulative = np.cumsum(weights / weights.sum())
        self.names = np.array(
            sorted({w.capitalize() for w in content[:600] if len(w) > 3})[:400], dtype=object
        )
        name_weights = 1.0 / np.arange(1, len(self.names) + 1)
        self.name_cumulative = np.cumsum(name_weights / name_weights.sum())
        inputs = load_inputs()
        self.inputs = inputs
        self.sections = inputs.constitution.sections

    def _words(self, count: int) -> list[str]:
        ids = np.searchsorted(self.cumulative, self.rng.random(count))
        return list(self.vocab[np.minimum(ids, len(self.vocab) - 1)])

    def _name(self) -> str:
        index = int(np.searchsorted(self.name_cumulative, self.rng.random()))
        return str(self.names[min(index, len(self.names) - 1)])

    def story(self, persona: str, target: int) -> tuple[str, float]:
        words = self._words(target + 50)
        cursor = 0
        paragraphs: list[str] = []
        written = inner = 0
        first = True
        while written < target:
            sentences = []
            for _ in range(int(self.rng.integers(3, 6))):
                length = int(self.rng.integers(8, 18))
                chunk = words[cursor : cursor + length] or ["quiet"]
                cursor = (cursor + length) % max(len(words) - 20, 1)
                if self.rng.random() < 0.35:
                    chunk[len(chunk) // 2] = self._name() if self.rng.random() < 0.6 else persona
                if self.rng.random() < 0.12:
                    chunk += TICS[int(self.rng.integers(len(TICS)))].split()
                text = " ".join(chunk)
                if first and self.rng.random() < 0.5:
                    text = STOCK_OPENINGS[int(self.rng.integers(len(STOCK_OPENINGS)))] + " " + text
                elif first:
                    text = persona + " " + text
                first = False
                sentences.append(text[0].upper() + text[1:] + ".")
                written += len(chunk)
            if self.rng.random() < 0.7:
                thought = " ".join(self._words(int(self.rng.integers(5, 12))))
                sentences.append(f"*{thought.capitalize()}.*")
                inner += thought.count(" ") + 1
            paragraphs.append(" ".join(sentences))
        return "\n\n".join(paragraphs), inner / max(written + inner, 1)

    def metadata(self, index: int, words: int, monologue: float) -> dict[str, Any]:
        axes = {
            axis: str(self.rng.choice(values)) for axis, values in self.inputs.axes.values.items()
        }
        chosen = self.rng.choice(len(self.sections), size=2, replace=False)
        sections = [self.sections[i] for i in chosen]
        revisions = int(self.rng.choice([0, 1, 2], p=[0.6, 0.3, 0.1]))
        scores = {
            s.title: int(self.rng.choice([2, 3, 4, 5], p=[0.05, 0.2, 0.5, 0.25])) for s in sections
        }
        scores.update({c: int(self.rng.choice([3, 4, 5], p=[0.2, 0.5, 0.3])) for c in CRAFT})
        persona = str(self.rng.choice(["Wren", "Ada", "Sol"], p=[0.8, 0.1, 0.1]))
        return {
            "index": index,
            "title": f"Story {index}",
            "axes": axes,
            "persona": persona,
            "sections": [s.slug for s in sections],
            "premise": {"title": f"Story {index}"},
            "scores": scores,
            "revisions": revisions,
            "first_pass": revisions == 0,
            "gate_findings": [],
            "words": words,
            "monologue_share": round(monologue, 4),
            "model": "claude-sonnet-4-5",
        }


def _usage(rng: np.random.Generator, story_id: str, revisions: int) -> list[dict[str, Any]]:
    nodes = ["plan", "write", "judge"] + ["revise", "judge"] * revisions
    lines = []
    for node in nodes:
        tokens_in = int(rng.integers(600, 4000))
        tokens_out = int(rng.integers(100, 2400))
        cached = int(rng.integers(0, 2000)) if node != "plan" else 0
        usd = (tokens_in * 3 + tokens_out * 15 + cached * 0.3) / 1e6
        lines.append(
            {
                "time": 0.0,
                "story_id": story_id,
                "node": node,
                "model": "claude-sonnet-4-5",
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "cache_write_tokens": 0,
                "cache_read_tokens": cached,
                "usd": round(usd, 6),
            }
        )
    return lines


def synthesise(run: Path, documents: int, seed: int = SEED) -> int:
    """Write a run with `documents` emitted stories; returns the planned story count."""
    run.mkdir(parents=True, exist_ok=True)
    synth = Synth(seed)
    rng = synth.rng
    bands = list(LENGTH_BANDS)
    emitted = index = 0
    with (
        (run / "corpus.jsonl").open("w", encoding="utf-8") as corpus,
        (run / "rejected.jsonl").open("w", encoding="utf-8") as rejected,
        (run / "usage.jsonl").open("w", encoding="utf-8") as usage,
    ):
        while emitted < documents:
            story_id = f"bench/{index}"
            band = bands[index % len(bands)]
            low, high = LENGTH_BANDS[band]
            target = int(rng.integers(int(low * 0.9), int(high * 1.05)))
            meta = synth.metadata(index, 0, 0.0)
            meta["axes"]["length"] = band
            body, monologue = synth.story(meta["persona"], target)
            meta["words"] = len(body.split())
            meta["monologue_share"] = round(monologue, 4)
            text = f"Story {index}\n\n{body}\n"
            if rng.random() < 0.12:
                reason = str(rng.choice(REASONS, p=REASON_WEIGHTS))
                kinds = list(rng.choice(FINDINGS, size=int(rng.integers(0, 3)), replace=False))
                meta["first_pass"] = False if reason != "invalid_premise" else None
                meta["gate_findings"] = kinds
                rejected.write(
                    json.dumps(
                        {
                            "id": story_id,
                            "reason": reason,
                            "detail": reason,
                            "findings": [{"kind": k, "message": k} for k in kinds],
                            "last_draft": body,
                            "metadata": meta,
                        }
                    )
                    + "\n"
                )
            else:
                corpus.write(json.dumps({"id": story_id, "text": text, "metadata": meta}) + "\n")
                emitted += 1
            for line in _usage(rng, story_id, meta["revisions"]):
                usage.write(json.dumps(line) + "\n")
            index += 1
    inputs = synth.inputs
    config = {
        "name": "bench",
        "backend": "anthropic",
        "model": "claude-sonnet-4-5",
        "settings": {"seed": seed, "dedupe_threshold": 0.5},
        "constitution": {
            "path": str(constitution_sample()),
            "fingerprint": inputs.constitution.fingerprint,
        },
        "persona": {"path": str(sample_path("persona")), "fingerprint": inputs.persona.fingerprint},
        "axes": {"path": str(sample_path("axes")), "fingerprint": inputs.axes.fingerprint},
    }
    (run / "run.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return index


def measure(run: Path, sample: int, html: Path | None) -> None:
    """Runs in the child process: compute, then print figures as one JSON line."""
    from storyloom.report.compute import StatsOptions, compute_stats
    from storyloom.report.output import write_html
    from storyloom.report.source import open_input

    started = time.perf_counter()
    report = compute_stats(open_input(run), StatsOptions(sample=sample))
    computed = time.perf_counter() - started
    html_seconds = None
    if html is not None:
        started = time.perf_counter()
        write_html(report, html)
        html_seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "documents": report.size.documents,
                "seconds": computed,
                "html_seconds": html_seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="write the run here and keep it")
    parser.add_argument("--html", type=Path, help="also write (and time) the HTML report")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.sample, args.html)
        return
    with tempfile.TemporaryDirectory() as scratch:
        run = args.keep or Path(scratch) / "run"
        started = time.perf_counter()
        planned = synthesise(run, args.docs)
        print(
            f"synthesised {args.docs:,} documents ({planned:,} stories) in "
            f"{time.perf_counter() - started:.1f}s; corpus "
            f"{(run / 'corpus.jsonl').stat().st_size / 1e6:.0f} MB"
        )
        command = [sys.executable, __file__, "--measure", str(run), "--sample", str(args.sample)]
        if args.html:
            command += ["--html", str(args.html)]
        child = subprocess.run(command, capture_output=True, text=True, check=True)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    docs, seconds = figures["documents"], figures["seconds"]
    print(
        f"stats: {docs:,} documents in {seconds:.1f}s = {docs / seconds:,.0f} docs/s; "
        f"peak memory {figures['peak_rss_mb']:.0f} MB, each tokenizer worker at most "
        f"{figures['worker_peak_rss_mb']:.0f} MB (sample {args.sample})"
    )
    if figures["html_seconds"] is not None:
        print(f"html: {figures['html_seconds']:.1f}s -> {args.html}")


if __name__ == "__main__":
    main()
