"""How far to trust the judge: run it over a labelled gold set and measure it.

The gold set (`data/gold/labels.toml` and its stories) holds clean stories, controls
that only look defective (quoted logs, a TODO in a quoted diff) and single-defect
variants of clean stories, each labelled with the criterion it should fail. Each story
is gated and judged twice; from that come the judge's recall on each labelled criterion,
its false-fail rate on clean stories and controls, and how often its two samples agree.
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from storyloom.backends.base import Backend
from storyloom.stories.calibration import judge
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.inputs import InputError, read_text_file
from storyloom.stories.judging import criterion_key, critique_scores, pass_scores
from storyloom.stories.kind import CorpusKind, Draft, ItemView

Role = Literal["clean", "control", "defect"]
GATE_PREFIX = "gate:"
ROLES = ("clean", "control", "defect")


def gold_labels_path() -> Path:
    """The shipped gold set's labels file."""
    gold = resources.files("storyloom.stories.story").joinpath("data", "gold")
    return Path(str(gold.joinpath("labels.toml")))


@dataclass(frozen=True)
class GoldStory:
    file: str
    role: Role
    sections: tuple[str, ...]
    text: str
    fails: tuple[str, ...] = ()
    framing: str = "titled short story"
    #: The labels file's line naming each label of `fails`, for messages.
    label_lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GoldSet:
    persona_name: str
    length: str
    stories: tuple[GoldStory, ...]
    path: Path = Path("labels.toml")


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


_STORY_HEADER = re.compile(r"^\s*\[\[\s*story\s*\]\]", re.MULTILINE)
_STORY_KEY = re.compile(r"^\s*story\s*=", re.MULTILINE)


def _story_lines(text: str, count: int) -> list[int]:
    """The line of each of `count` story entries: its `[[story]]` header, else (an
    inline `story = [...]`) the line of the `story` key for all of them."""
    headers = [text.count("\n", 0, m.start()) + 1 for m in _STORY_HEADER.finditer(text)]
    if len(headers) == count:
        return headers
    key = _STORY_KEY.search(text)
    return [text.count("\n", 0, key.start()) + 1 if key else 1] * count


def _line_of(text: str, start: int, needle: str) -> int:
    """The first line at or after line `start` that holds `needle` quoted, else `start`."""
    lines = text.splitlines()
    for number in range(start, len(lines) + 1):
        if f'"{needle}"' in lines[number - 1] or f"'{needle}'" in lines[number - 1]:
            return number
    return start


def load_gold(labels: Path, section_slugs: Sequence[str]) -> GoldSet:
    """The gold set described by `labels`; one `InputError` line for anything wrong,
    naming the file and the line of the story entry at fault."""
    raw = read_text_file(labels, "gold labels")
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{labels}: invalid TOML in gold labels file ({exc})") from exc
    persona_name, length = data.get("persona_name"), data.get("length", "short")
    if not isinstance(persona_name, str) or not persona_name:
        raise InputError(f"{labels}: gold labels need a 'persona_name'")
    if not isinstance(length, str) or length not in LENGTH_BANDS:
        raise InputError(f"{labels}: unknown length band {length!r}")
    entries = data.get("story")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{labels}: gold labels list no [[story]]")
    stories = []
    for number, (entry, line) in enumerate(
        zip(entries, _story_lines(raw, len(entries)), strict=True), 1
    ):
        where = f"{labels}: line {line}: story {number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} is not a table; write each as [[story]] with 'file', "
                             "'role', 'sections'")  # fmt: skip
        file, role = entry.get("file"), entry.get("role")
        sections, fails = _strings(entry.get("sections")), _strings(entry.get("fails", []))
        if not isinstance(file, str) or role not in ROLES or sections is None or fails is None:
            raise InputError(
                f"{where} needs 'file', 'role' ({'/'.join(ROLES)}), 'sections' (a list of "
                "names) and, for a defect, 'fails' (a list of names)"
            )
        unknown = [slug for slug in sections if slug not in section_slugs]
        if unknown:
            raise InputError(f"{where} names unknown constitution section {unknown[0]!r}")
        if (role == "defect") != bool(fails):
            raise InputError(f"{where}: a defect names what it 'fails'; only a defect does")
        text = read_text_file(labels.parent / file, "gold story")
        framing = str(entry.get("framing", "titled short story"))
        lines = {label: _line_of(raw, line, label) for label in fails}
        stories.append(GoldStory(file, role, sections, text, fails, framing, lines))
    return GoldSet(persona_name, length, tuple(stories), labels)


def check_labels(kind: CorpusKind, inputs: Any, gold: GoldSet, settings: Any) -> None:
    """Refuse a defect labelled with a criterion the judge never scores for it (a
    misspelling, or a section not in play), which would otherwise be silently never
    counted. `gate:` labels name a finding kind, which may legitimately go uncaught."""
    for story in gold.stories:
        if story.role != "defect":
            continue
        item = gold_item(kind, inputs, gold, story, settings)
        criteria = kind.criteria(item)
        known = {criterion_key(criterion.name) for criterion in criteria}
        for label in story.fails:
            if label.startswith(GATE_PREFIX) or criterion_key(label) in known:
                continue
            names = ", ".join(repr(criterion.name) for criterion in criteria)
            raise InputError(
                f"{gold.path}: line {story.label_lines.get(label, 0)}: story {story.file!r} "
                f"fails unknown criterion {label!r}; the judge scores it on {names} "
                f"(or 'gate:<finding>')"
            )


def gold_item(
    kind: CorpusKind, inputs: Any, gold: GoldSet, story: GoldStory, settings: Any
) -> ItemView:
    """The item a story would be judged as in a run: its sections in play, the gold
    set's persona name and length band, its gate findings on its draft."""
    draw = {
        "index": 0,
        "axes": {"framing": story.framing, "length": gold.length},
        "persona_name": gold.persona_name,
        "sections": list(story.sections),
        "sampling_seed": 0,
    }
    item = ItemView(f"gold/{story.file}", 0, draw, inputs, settings)
    findings = tuple(kind.check(story.text, replace(item, draft=Draft(story.text))))
    return replace(item, draft=Draft(story.text, findings=findings))


@dataclass
class Calibration:
    """The measurements; `labelled[c]` / `caught[c]` per labelled criterion or gate."""

    stories: int = 0
    labelled: dict[str, int] = field(default_factory=dict)
    caught: dict[str, int] = field(default_factory=dict)
    clean: int = 0
    false_fails: int = 0
    compared: int = 0
    agreed: int = 0
    score_gap: float = 0.0
    verdicts_compared: int = 0
    verdicts_agreed: int = 0

    def recall(self, criterion: str) -> float:
        return self.caught.get(criterion, 0) / self.labelled[criterion]


def _failed(critique: Mapping[str, Any], item: ItemView, kind: CorpusKind) -> set[str]:
    """Criterion keys the critique scored under their pass score."""
    required = pass_scores(kind.rubric, kind.criteria(item))
    scores = {criterion_key(k): v for k, v in critique_scores(critique).items()}
    return {name for name, need in required.items() if scores.get(name, 0) < need}


def measure(
    kind: CorpusKind,
    judged: Sequence[tuple[GoldStory, ItemView, Sequence[Mapping[str, Any]]]],
) -> Calibration:
    """The figures from each story's item and its judgments (the first is the verdict;
    a second, when present, is compared with it)."""
    result = Calibration(stories=len(judged))
    for story, item, samples in judged:
        assert item.draft is not None
        first = samples[0]
        failed = _failed(first, item, kind)
        found = {finding.kind for finding in item.draft.findings}
        if story.role == "defect":
            for label in story.fails:
                result.labelled[label] = result.labelled.get(label, 0) + 1
                if label.startswith(GATE_PREFIX):
                    hit = label.removeprefix(GATE_PREFIX) in found
                else:
                    hit = criterion_key(label) in failed
                result.caught[label] = result.caught.get(label, 0) + hit
        else:
            result.clean += 1
            result.false_fails += not kind.passes(first, item)
        if len(samples) > 1:
            second = samples[1]
            other = _failed(second, item, kind)
            a = {criterion_key(k): v for k, v in critique_scores(first).items()}
            b = {criterion_key(k): v for k, v in critique_scores(second).items()}
            for name in pass_scores(kind.rubric, kind.criteria(item)):
                result.compared += 1
                result.agreed += (name in failed) == (name in other)
                result.score_gap += abs(a.get(name, 0) - b.get(name, 0))
            result.verdicts_compared += 1
            result.verdicts_agreed += kind.passes(first, item) == kind.passes(second, item)
    return result


async def calibrate(
    backend: Backend,
    kind: CorpusKind,
    inputs: Any,
    gold: GoldSet,
    settings: Any,
    *,
    samples: int = 2,
    model: str | None = None,
    concurrency: int = 4,
) -> Calibration:
    """Judge every gold story `samples` times and measure the judge."""
    slots = asyncio.Semaphore(concurrency)

    async def one(story: GoldStory) -> tuple[GoldStory, ItemView, list[dict[str, Any]]]:
        item = gold_item(kind, inputs, gold, story, settings)
        judged = []
        for sample in range(samples):
            async with slots:
                judged.append(
                    await judge(backend, kind, item, settings, sample=sample, model=model)
                )
        return story, item, judged

    results = await asyncio.gather(*(one(story) for story in gold.stories))
    return measure(kind, results)


def report_lines(result: Calibration) -> list[str]:
    """The figures as the lines `storyloom calibrate` prints."""
    lines = ["Recall on planted defects (the judge, or the gate, failed what was planted):"]
    width = max((len(name) for name in result.labelled), default=10) + 2
    lines.append(f"  {'criterion'.ljust(width)}labelled  caught  recall")
    for name in sorted(result.labelled):
        lines.append(
            f"  {name.ljust(width)}{result.labelled[name]:>8}  {result.caught.get(name, 0):>6}"
            f"  {result.recall(name):>6.0%}"
        )
    rate = result.false_fails / result.clean if result.clean else 0.0
    lines.append(
        f"False-fail rate on clean stories and controls: {result.false_fails}/{result.clean} "
        f"({rate:.0%})"
    )
    if result.compared:
        lines.append(
            f"Agreement between two samples: {result.agreed / result.compared:.0%} of criterion "
            f"pass/fail calls, mean |score difference| {result.score_gap / result.compared:.2f}, "
            f"{result.verdicts_agreed / result.verdicts_compared:.0%} of story verdicts"
        )
    return lines
