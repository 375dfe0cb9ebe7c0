"""One item's whole journey, read from its run: what `storyloom inspect` shows.

The newest checkpoint of the item's thread names every text of its journey (the draw,
the plan, each settled draft with its gate findings, critique and review); the text
store gives them back, and the usage ledger gives each call's tokens, cost and requests
(a repair turn is a request of its own). A chat kind's drafts are read as turns (the
kind's `draft_turns`) and diffed turn by turn. Nothing is written: the database is
opened read-only, so a live run can be inspected.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.records import UsageEntry
from storyloom.core.text import words
from storyloom.dataset.checkpoints import CheckpointReader
from storyloom.dataset.runfiles import (
    DatasetError,
    read_checked_records,
    read_records,
    read_run_config,
)
from storyloom.stories.kind import CorpusKind
from storyloom.stories.registry import get_kind

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
    #: Requests the call sent (2: the reply did not fit and a repair turn followed).
    requests: int = 1


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
    #: A chat kind's draft as turns (`role`, `content`); None for a document.
    turns: list[dict[str, str]] | None = None
    #: For turns: what changed in each turn that changed since the previous draft.
    turn_changes: list[TurnChange] = field(default_factory=list)

    @property
    def diff_change(self) -> Change:
        return Change(self.diff, self.diff_cut, self.removed, self.added)

    @property
    def status(self) -> str:
        """What happened to the draft: judged (passed or failed), stopped by the gates, or
        not judged at all (a kind that judges only rewrites, or a round that failed)."""
        if self.critique is not None:
            return "passed" if self.passed else "failed"
        if self.findings:
            return "failed the gates"
        return "passed the gates (no judge)" if self.passed else "not judged"


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
    #: The emitted conversation's other turns (each with its `turn` number in the whole
    #: chat), for a chat kind whose drafts hold none of the person's turns (augment
    #: drafts the system prompt; the chat comes unchanged).
    conversation: list[dict[str, Any]] = field(default_factory=list)

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
    kind = _kind(str(config.get("kind") or ""))
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
        draw, plan = reader.text(values.get("draw")), reader.text(values.get("plan"))
        drafts = _drafts(reader, values, kind, plan if isinstance(plan, dict) else None)
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
        conversation=_conversation(run_dir, item_id, drafts) if outcome == "emitted" else [],
    )


def _kind(name: str) -> CorpusKind | None:
    """The run's kind, when this install has it (otherwise drafts are shown as text)."""
    try:
        return get_kind(name)
    except Exception:  # an unknown kind, or a plug-in that fails to load
        return None


def _drafts(
    reader: CheckpointReader,
    values: dict[str, Any],
    kind: CorpusKind | None,
    plan: dict[str, Any] | None,
) -> list[DraftStep]:
    steps: list[DraftStep] = []
    reviews = values.get("reviews") or {}
    previous = ""
    previous_turns: list[dict[str, str]] | None = None
    for position, record in enumerate(values.get("drafts") or ()):
        text = _as_text(reader.text(record.get("text")))
        review_ref = record.get("review") or reviews.get(str(record.get("round")))
        turns = kind.draft_turns(text, plan) if kind is not None else None
        change = Change([], 0, 0, 0)
        turn_changes: list[TurnChange] = []
        if position and turns is not None and previous_turns is not None:
            turn_changes = turn_diffs(previous_turns, turns, position)
        elif position:
            change = short_diff(previous, text, position)
        own = [t["content"] for t in turns or () if t["role"] != "user"]
        steps.append(
            DraftStep(
                position=position,
                round=int(record.get("round", 0)),
                text=text,
                words=len(words("\n\n".join(own) if turns is not None else text)),
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
                turns=turns,
                turn_changes=turn_changes,
            )
        )
        previous, previous_turns = text, turns
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


@dataclass(frozen=True)
class TurnChange:
    """One turn that changed between two drafts of a chat: its number (from 1), its role
    and the diff of its content."""

    turn: int
    role: str
    change: Change


def turn_diffs(
    before: list[dict[str, str]], after: list[dict[str, str]], position: int
) -> list[TurnChange]:
    """Each turn whose content changed, diffed on its own (a turn only one side has is
    diffed against nothing)."""
    changes = []
    for index in range(max(len(before), len(after))):
        old = before[index]["content"] if index < len(before) else ""
        new = after[index]["content"] if index < len(after) else ""
        if old == new:
            continue
        role = (after[index] if index < len(after) else before[index])["role"]
        changes.append(TurnChange(index + 1, role, short_diff(old, new, position)))
    return changes


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


def _conversation(run_dir: Path, item_id: str, drafts: list[DraftStep]) -> list[dict[str, Any]]:
    """The emitted record's turns beyond the drafted ones, when the drafts are turns that
    leave the person out (read from the corpus only then: it is a pass over the file)."""
    last = drafts[-1].turns if drafts else None
    if last is None or any(turn["role"] == "user" for turn in last):
        return []
    drafted = {turn["role"] for turn in last}
    for record in read_records(run_dir / layout.CORPUS_FILE):
        if record.get("id") == item_id:
            messages = record.get("messages") or []
            return [
                {**m, "turn": number}  # numbered as in the whole chat
                for number, m in enumerate(messages, start=1)
                if isinstance(m, dict) and m.get("role") not in drafted
            ]
    return []


def _calls(path: Path, item_id: str) -> list[Call]:
    """The item's calls from the ledger, each line checked as a usage entry (a damaged
    one names the ledger and its line)."""
    calls = []
    for entry in read_checked_records(path, UsageEntry):
        if entry.get("story_id") != item_id:
            continue
        calls.append(
            Call(
                node=str(entry.get("node") or ""),
                model=str(entry.get("model") or ""),
                input_tokens=int(entry.get("input_tokens") or 0),
                output_tokens=int(entry.get("output_tokens") or 0),
                cache_read_tokens=int(entry.get("cache_read_tokens") or 0),
                cache_write_tokens=int(entry.get("cache_write_tokens") or 0),
                usd=float(entry.get("usd") or 0.0),
                time=float(entry.get("time") or 0.0),
                requests=int(entry.get("requests") or 1),
            )
        )
    return calls
