"""The seam holds: a second kind defined only in this file runs end to end on the scripted
backend, resumes after a kill, dedupes, and shows up in `storyloom stats`, with no change
to anything outside this file.

The toy kind writes one-paragraph "weather notes": a plan (a place and a mood), a note,
a judge with one criterion (declared on its rubric: the judge's schema, pass rule and
parse come from the core). Its fake replies come from request metadata alone.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from cli_process import scripted_env
from click.testing import CliRunner
from pydantic import BaseModel

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.cli.main import cli
from storyloom.stories.draws import balanced_pick
from storyloom.stories.judging import judgment_reply
from storyloom.stories.kind import (
    CorpusKind,
    Criterion,
    Draft,
    Finding,
    ItemView,
    LoadedInputs,
    Rubric,
    Task,
)
from storyloom.stories.registry import register_kind

PLACES = ("harbour", "orchard", "station", "valley", "rooftop")
MOODS = ("calm", "restless", "hopeful")
WORDS = "rain wind cloud sun fog frost thunder drizzle haze gust dew sleet".split()


class Plan(BaseModel):
    place: str
    mood: str
    subject: str


class NonEmpty:
    name = "non_empty"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        return [] if text.strip() else [Finding("length", "the note is empty")]


def _note(rng: random.Random, place: str) -> str:
    return f"At the {place}: " + " ".join(rng.choice(WORDS) for _ in range(40)) + "."


class ToyKind(CorpusKind):
    name: ClassVar[str] = "toy"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = "weather notes (a test kind)"

    def __init__(self) -> None:
        self.rubric = Rubric((Criterion("clarity", "the note is clear"),))
        self.gates = (NonEmpty(),)
        self.tasks = {
            "plan": Task("plan", lambda i: ("Plan a note.", str(i.draw)), _parsed, Plan),
            "write": Task("write", lambda i: ("Write it.", str(i.plan)), _text),
            "judge": self.judge_task(lambda i: ("Judge it.", i.draft.text)),  # type: ignore[union-attr]
            "revise": Task("revise", lambda i: ("Fix it.", i.draft.text), _text),  # type: ignore[union-attr]
        }

    def load_inputs(self, paths: Mapping[str, Path | None]) -> LoadedInputs:
        return LoadedInputs(value=None, paths={}, fingerprints={})

    def draw(self, inputs: Any, run_seed: int, index: int, settings: Any) -> dict[str, Any]:
        place = PLACES[balanced_pick(run_seed, "place", index, len(PLACES))]
        mood = MOODS[balanced_pick(run_seed, "mood", index, len(MOODS))]
        return {"axes": {"place": place, "mood": mood}, "sections": []}

    def dimensions(self, inputs: Any, settings: Any) -> dict[str, tuple[str, ...]]:
        return {"place": PLACES, "mood": MOODS}

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        hints = {"place": item.draw["axes"]["place"], "index": item.index, "round": item.round}
        return {**hints, **self.tasks[task].context_for(item)}

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        return str(plan["subject"])

    def render(self, item: ItemView, best: Draft) -> str:
        return best.text

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        return {"axes": dict(item.draw["axes"]), "sections": [], "plan": item.plan}

    def fake_reply(self, request: CompletionRequest) -> Reply:
        hints = request.metadata
        rng = random.Random(f"{hints['index']}/{hints['round']}/{request.purpose}")
        if request.purpose == "plan":
            subject = " ".join(rng.choice([*WORDS, *PLACES]) for _ in range(12))
            return {"place": hints["place"], "mood": rng.choice(MOODS), "subject": subject}
        if request.purpose == "judge":  # the judge's reply, made from the rubric
            return judgment_reply({name: 4 for name in hints["criteria"]})
        if hints["index"] % 5 == 4:  # every fifth note copies the one before: a duplicate
            rng = random.Random(f"{hints['index'] - 1}/{hints['round']}/write")
        return _note(rng, hints["place"])


def _parsed(completion: Completion, item: ItemView) -> dict[str, Any]:
    if completion.parsed is None:
        raise ValueError("no structured reply")
    return completion.parsed.model_dump()


def _text(completion: Completion, item: ItemView) -> str:
    return completion.text.strip()


register_kind(ToyKind.name, ToyKind)

#: Runs the real CLI in a process that registers this kind first (a user's package would
#: use the `storyloom.kinds` entry point instead).
BOOT = (
    "import sys; sys.path[:0] = sys.argv.pop(1).split('|'); import test_toy_kind; "
    "from storyloom.cli.main import cli; cli(prog_name='storyloom')"
)


def toy_argv(run_dir: Path, count: int) -> list[str]:
    paths = f"{Path(__file__).parent}|{Path(__file__).parent / 'support'}"
    return [
        sys.executable, "-c", BOOT, paths, "generate", "--kind", "toy", "-n", str(count),
        "--backend", "scripted", "--run-dir", str(run_dir), "--concurrency", "4",
    ]  # fmt: skip


def ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def test_toy_kind_runs_dedupes_and_reports(tmp_path: Path) -> None:
    run_dir = tmp_path / "toy"
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--kind",
            "toy",
            "-n",
            "10",
            "--backend",
            "scripted",
            "--run-dir",
            str(run_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    corpus = [json.loads(line) for line in (run_dir / "corpus.jsonl").read_text().splitlines()]
    rejected = [json.loads(line) for line in (run_dir / "rejected.jsonl").read_text().splitlines()]
    assert {r["reason"] for r in rejected} == {"near_duplicate"}
    assert sorted(int(r["id"].rsplit("/", 1)[1]) for r in rejected) == [4, 9]
    assert all(r["metadata"]["kind"] == "toy" and r["text"].startswith("At the ") for r in corpus)
    assert json.loads((run_dir / "run.json").read_text())["kind"] == "toy"

    again = CliRunner().invoke(
        cli, ["generate", "-n", "10", "--backend", "scripted", "--run-dir", str(run_dir)]
    )
    assert again.exit_code == 0, again.output  # the run's own kind, without --kind
    assert len(ids(run_dir / "corpus.jsonl")) == 8

    stats = CliRunner().invoke(cli, ["stats", str(run_dir), "--json", str(tmp_path / "s.json")])
    assert stats.exit_code == 0, stats.output
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["counts"]["emitted"] == 8 and report["counts"]["rejected"] == 2


def test_toy_kind_resumes_after_kills_with_every_item_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    rng = random.Random(3)
    for _ in range(4):
        process = subprocess.Popen(
            toy_argv(run_dir, 60), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=scripted_env(0.05),
        )  # fmt: skip
        time.sleep(rng.uniform(1.5, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    final = subprocess.run(
        toy_argv(run_dir, 60), capture_output=True, env=scripted_env(0.0), timeout=300, check=False
    )
    assert final.returncode == 0, final.stderr.decode()
    done = ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl")
    assert sorted(done) == sorted(f"killed/{i}" for i in range(60))
    assert len(ids(run_dir / "corpus.jsonl")) == 48  # every fifth is its neighbour's copy
