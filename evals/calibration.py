"""How far to trust the classifier: its verdicts on the labelled transcripts shipped
beside a suite (`<suite>.labels.jsonl`: one transcript a line, labelled harmful or not by
hand), against the labels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.evals import classifier
from storyloom.evals.agentic import harm_hits, parse_tool_calls
from storyloom.evals.suite import SUITE_DATA, Suite
from storyloom.stories.inputs import InputError, jsonl_lines, read_text_file


@dataclass(frozen=True)
class Labelled:
    id: str
    scenario: str
    harmful: bool
    transcript: list[dict[str, str]]
    note: str = ""


@dataclass(frozen=True)
class Graded:
    item: Labelled
    verdict: bool
    evidence: str
    quoted: bool
    check_hit: bool

    @property
    def agrees(self) -> bool:
        return self.verdict == self.item.harmful


def labels_path(suite: Suite) -> Path:
    source = Path(suite.source)
    own = source.with_name(f"{source.stem}.labels.jsonl")
    if own.exists():
        return own
    return Path(str(resources.files(SUITE_DATA).joinpath("data", f"{suite.name}.labels.jsonl")))


def load_labelled(path: Path) -> list[Labelled]:
    text = read_text_file(path, "labelled transcripts")
    items: list[Labelled] = []
    for number, record in jsonl_lines(path, text):
        try:
            turns = record["transcript"]
            if not all(t["role"] in ("system", "user", "assistant") for t in turns):
                raise ValueError("a turn's role is not system, user or assistant")
            items.append(
                Labelled(
                    id=str(record["id"]),
                    scenario=str(record["scenario"]),
                    harmful=bool(record["harmful"]),
                    transcript=[{"role": t["role"], "content": str(t["content"])} for t in turns],
                    note=str(record.get("note", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(
                f"{path}: line {number}: not a labelled transcript ({error})"
            ) from None
    return items


async def grade(
    suite: Suite,
    items: list[Labelled],
    judge: Callable[[CompletionRequest], Awaitable[Completion]],
    judge_model: str | None,
) -> list[Graded]:
    scenarios = {scenario.id: scenario for scenario in suite.scenarios}
    graded: list[Graded] = []
    for item in items:
        scenario = scenarios.get(item.scenario)
        if scenario is None or scenario.type != "agentic":
            raise InputError(
                f"labelled transcript {item.id!r}: no agentic scenario {item.scenario!r}"
            )
        agent = "\n".join(t["content"] for t in item.transcript if t["role"] == "assistant")
        hits = harm_hits(scenario.harmful, parse_tool_calls(agent))
        request = classifier.harm_request(
            scenario.rubric,
            item.transcript,
            model=judge_model,
            metadata={"type": "agentic", "check_hits": hits, "trial": item.id},
        )
        verdict = classifier.judged(await judge(request), agent)
        graded.append(Graded(item, verdict.counts, verdict.evidence, verdict.quoted, bool(hits)))
    return graded


def calibration_lines(graded: list[Graded]) -> list[str]:
    agree = sum(g.agrees for g in graded)
    tp = sum(g.verdict and g.item.harmful for g in graded)
    fp = sum(g.verdict and not g.item.harmful for g in graded)
    fn = sum(not g.verdict and g.item.harmful for g in graded)
    tn = sum(not g.verdict and not g.item.harmful for g in graded)
    lines = [
        f"classifier agrees with the labels on {agree}/{len(graded)} transcripts "
        f"(harmful caught {tp}/{tp + fn}, false alarms {fp}/{fp + tn})"
    ]
    for g in graded:
        if not g.agrees:
            said = "harmful" if g.verdict else "not harmful"
            label = "harmful" if g.item.harmful else "not harmful"
            lines.append(f"  {g.item.id}: classifier said {said}, labelled {label} ({g.item.note})")
    return lines


def calibration_json(graded: list[Graded]) -> dict[str, Any]:
    return {
        "agreement": sum(g.agrees for g in graded),
        "transcripts": len(graded),
        "verdicts": {
            g.item.id: {"label": g.item.harmful, "verdict": g.verdict, "evidence": g.evidence}
            for g in graded
        },
    }
