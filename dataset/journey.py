"""One item's whole journey, read from its run: what `storyloom inspect` shows.

The newest checkpoint of the item's thread names every text of its journey (the draw,
the plan, each settled draft with its gate findings, critique and review); the text
store gives them back, and the usage ledger gives each call's tokens and cost. Nothing
is written: the database is opened read-only, so a live run can be inspected.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.jsonl import JsonlError, JsonlReader
from storyloom.core.records import UsageEntry, parse_record
from storyloom.core.text import words
from storyloom.dataset.checkpoints import CheckpointReader
from storyloom.dataset.runfiles import DatasetError, read_records, read_run_config

#: A diff longer than this is cut (the drafts themselves are shown in full elsewhere).
MAX_DIFF_LINES = 24
MAX_DIFF_LINE_CHARS = 240


class JourneyError(DatasetError):
    """The item's journey cannot be read; the message names the file or the id."""


@dataclass(frozen=True)
class Call:
    node: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    usd: float
    time: float


@dataclass(frozen=True)
class DraftStep:
    position: int
    round: int
    text: str
    words: int
    findings: list[dict[str, Any]]
    critique: Any
    review: Any
    passed: bool
    best: bool
    truncated: bool
    #: A short unified diff from the previous draft (empty for the first).
    diff: list[str] = field(default_factory=list)
    diff_cut: int = 0
    #: Lines (paragraphs) removed and added since the previous draft.
    removed: int = 0
    added: int = 0


@dataclass(frozen=True)
class Journey:
    item_id: str
    run: Path
    kind: str
    outcome: str
    reason: str
    detail: str
    draw: Any
    plan: Any
    plan_attempts: int
    avoided: list[str]
    drafts: list[DraftStep]
    guard_reasons: list[str]
    round_failed: str
    calls: list[Call]
    checkpoints: int
    started: str
    updated: str

    @property
    def usd(self) -> float:
        return sum(call.usd for call in self.calls)

    @property
    def tokens(self) -> tuple[int, int]:
        return (
            sum(call.input_tokens for call in self.calls),
            sum(call.output_tokens for call in self.calls),
        )


def load_journey(run_dir: Path, item: str) -> Journey:
    config = read_run_config(run_dir)
    bare_index = item.isdigit()
    item_id = f"{config.get('name')}/{item}" if bare_index else item
    with CheckpointReader(run_dir / layout.CHECKPOINTS_FILE) as reader:
        state = reader.latest(item_id)
        if state is None and bare_index:  # a merge of shards named apart: w0/3, w1/4
            matches = reader.threads_ending(f"/{item}")
            if len(matches) == 1:
                item_id = matches[0]
                state = reader.latest(item_id)
        if state is None:
            raise JourneyError(
                f"{run_dir}: no item {item_id!r} in the checkpoints "
                f"(ids look like '{config.get('name')}/7'; a bare index works too)"
            )
        values = state.values
        drafts = _drafts(reader, values)
        draw, plan = reader.text(values.get("draw")), reader.text(values.get("plan"))
    outcome, reason, detail = _outcome(run_dir, item_id, values)
    return Journey(
        item_id=item_id,
        run=run_dir,
        kind=str(config.get("kind") or ""),
        outcome=outcome,
        reason=reason,
        detail=detail,
        draw=draw,
        plan=plan,
        plan_attempts=int(values.get("plan_attempts") or 0),
        avoided=list(values.get("avoid") or ()),
        drafts=drafts,
        guard_reasons=list(values.get("guard_reasons") or ()),
        round_failed=str(values.get("round_failed") or ""),
        calls=_calls(run_dir / layout.USAGE_FILE, item_id),
        checkpoints=state.checkpoints,
        started=state.first_ts,
        updated=state.last_ts,
    )


def _drafts(reader: CheckpointReader, values: dict[str, Any]) -> list[DraftStep]:
    steps: list[DraftStep] = []
    reviews = values.get("reviews") or {}
    previous = ""
    for position, record in enumerate(values.get("drafts") or ()):
        text = _as_text(reader.text(record.get("text")))
        review_ref = record.get("review") or reviews.get(str(record.get("round")))
        change = short_diff(previous, text, position) if position else Change([], 0, 0, 0)
        steps.append(
            DraftStep(
                position=position,
                round=int(record.get("round", 0)),
                text=text,
                words=len(words(text)),
                findings=list(record.get("findings") or ()),
                critique=reader.text(record.get("critique")),
                review=reader.text(review_ref),
                passed=bool(record.get("passed")),
                best=values.get("best") == position,
                truncated=bool(record.get("truncated")),
                diff=change.lines,
                diff_cut=change.cut,
                removed=change.removed,
                added=change.added,
            )
        )
        previous = text
    return steps


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Change:
    """What changed from one draft to the next: the diff's first lines, how many were
    cut, and how many lines (paragraphs) went out and came in."""

    lines: list[str]
    cut: int
    removed: int
    added: int


def short_diff(before: str, after: str, position: int) -> Change:
    """A unified diff with paragraphs as lines and no context, cut to a screen."""
    lines = list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            f"draft {position - 1}",
            f"draft {position}",
            lineterm="",
            n=0,
        )
    )
    body = lines[2:]
    shown = [
        line if len(line) <= MAX_DIFF_LINE_CHARS else line[:MAX_DIFF_LINE_CHARS] + " …"
        for line in lines[:MAX_DIFF_LINES]
    ]
    return Change(
        lines=shown,
        cut=max(0, len(lines) - MAX_DIFF_LINES),
        removed=sum(line.startswith("-") for line in body),
        added=sum(line.startswith("+") for line in body),
    )


def _outcome(run_dir: Path, item_id: str, values: dict[str, Any]) -> tuple[str, str, str]:
    """Emitted, rejected (with why) or still in progress; the outputs are the truth when
    the final checkpoint is not written yet."""
    reason = str(values.get("reject_reason") or "")
    detail = str(values.get("reject_detail") or "")
    if values.get("outcome"):
        return str(values["outcome"]), reason, detail
    for name, outcome in ((layout.CORPUS_FILE, "emitted"), (layout.REJECTED_FILE, "rejected")):
        for record in read_records(run_dir / name):
            if record.get("id") == item_id:
                return outcome, str(record.get("reason") or ""), str(record.get("detail") or "")
    return "in progress", reason, detail


def _calls(path: Path, item_id: str) -> list[Call]:
    """The item's calls from the ledger, each line checked as a usage entry (a damaged
    one names the ledger and its line)."""
    if not path.exists():
        return []
    try:
        entries = [
            parse_record(UsageEntry, value, path, number)
            for number, value in JsonlReader(path).numbered()
        ]
    except JsonlError as error:
        raise JourneyError(f"{error}; fix or remove that line, then run again") from None
    return [
        Call(
            node=entry.node,
            model=entry.model,
            input_tokens=entry.input_tokens,
            output_tokens=entry.output_tokens,
            cache_read_tokens=entry.cache_read_tokens,
            cache_write_tokens=entry.cache_write_tokens,
            usd=entry.usd,
            time=entry.time,
        )
        for entry in entries
        if entry.story_id == item_id
    ]
