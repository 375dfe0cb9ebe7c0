"""An item's journey in the terminal (rich): the draw, the plan, each draft (a chat
kind's as turns) with what happened to it, its gate findings, judgment and review as
readable sections, what changed (turn by turn for a chat), then every call with its
requests, tokens and cost. User text is never parsed as markup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from storyloom.dataset.journey import Call, Change, DraftStep, Journey
from storyloom.dataset.readable import outline
from storyloom.stories.judging import critique_entries

#: Characters of a draft (or of a turn) shown unless `full`: the diffs say what changed.
PREVIEW_CHARS = 600
#: Critique fields drawn apart (the scores table and the notes); the rest is an outline.
SHOWN_APART = ("scores", "revision_notes")


def render_journey(journey: Journey, console: Console, *, full: bool = False) -> None:
    status = journey.outcome + (f" ({journey.reason})" if journey.reason else "")
    console.rule(Text(f"{journey.item_id}  {journey.kind}  {status}", style="bold"))
    if journey.detail:
        console.print(Text(f"why: {journey.detail}"))
    console.print(Text(progress_line(journey)))
    console.print(Panel(readable(journey.draw), title="draw", title_align="left"))
    if journey.plan is not None:
        console.print(Panel(readable(journey.plan), title="plan", title_align="left"))
    for avoided in journey.avoided:
        console.print(Text(f"planned again, too close to: {avoided[:200]}", style="yellow"))
    for draft in journey.drafts:
        console.print(_draft_panel(draft, full=full))
    if journey.guard_reasons:
        console.print(Text("kept the better draft: " + "; ".join(journey.guard_reasons)))
    if journey.round_failed:
        console.print(Text(f"a revision round failed: {journey.round_failed}", style="yellow"))
    if journey.conversation:
        console.print(_conversation_panel(journey, full=full))
    console.print(calls_table(journey.calls))


def _conversation_panel(journey: Journey, *, full: bool) -> Panel:
    parts: list[Any] = []
    for turn in journey.conversation:
        parts.append(Text(f"turn {turn.get('turn')}: {turn.get('role')}", style="bold"))
        parts.append(Text(_shown(content_text(turn.get("content")), full)))
    return Panel(Group(*parts), title=CONVERSATION_TITLE, title_align="left")


#: The emitted chat's turns no draft wrote (augment's source chat).
CONVERSATION_TITLE = "the chat as emitted (turns no draft wrote)"


def content_text(content: Any) -> str:
    """A message's content as text: a string, or its content blocks' text and tool use
    as labelled lines."""
    if isinstance(content, str):
        return content
    return readable(content).plain if content is not None else ""


def progress_line(journey: Journey) -> str:
    """Checkpoints, times, drafts, and plan attempts for a kind that plans."""
    plans = f", {journey.plan_attempts} plan attempt(s)" if journey.plan_attempts else ""
    return (
        f"{journey.checkpoints} checkpoints, {journey.started} .. {journey.updated}; "
        f"{len(journey.drafts)} draft(s){plans}"
    )


def draft_marks(draft: DraftStep) -> list[str]:
    """What happened to the draft, as the title of its section says it."""
    marks = [draft.status]
    marks += ["best"] if draft.best else []
    marks += ["cut by the token limit"] if draft.truncated else []
    return marks


def _draft_panel(draft: DraftStep, *, full: bool) -> Panel:
    parts: list[Any] = []
    if draft.diff:
        parts += _change(f"changes from draft {draft.position - 1}", draft.diff_change)
    for turn in draft.turn_changes:
        parts += _change(
            f"turn {turn.turn} ({turn.role}) changed from draft {draft.position - 1}",
            turn.change,
        )
    if draft.turns is not None:
        for number, turn in enumerate(draft.turns, start=1):
            parts.append(Text(f"turn {number}: {turn['role']}", style="bold"))
            parts.append(Text(_shown(turn["content"], full)))
    else:
        parts.append(Text(_shown(draft.text, full)))
    findings = [f"{f.get('kind')}: {f.get('message')}" for f in draft.findings]
    parts.append(Text("gate findings: " + ("; ".join(findings) or "none"), style="bold"))
    if draft.critique is not None:
        parts.append(critique_view(draft.critique))
    if draft.review is not None:
        parts.append(Text("review", style="bold"))
        parts.append(readable(draft.review))
    words = "words" if draft.turns is None else "words written"
    title = (
        f"draft {draft.position} (round {draft.round}, {draft.words} {words}, "
        f"{', '.join(draft_marks(draft))})"
    )
    return Panel(Group(*parts), title=title, title_align="left")


def _change(heading: str, change: Change) -> list[Any]:
    parts: list[Any] = [
        Text(f"{heading}: {change.removed} paragraph(s) out, {change.added} in", style="bold"),
        Syntax("\n".join(change.lines), "diff", word_wrap=True, theme="ansi_dark"),
    ]
    if change.cut:
        parts.append(Text(f"… {change.cut} more diff lines"))
    return parts


def _shown(text: str, full: bool) -> str:
    if full or len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS] + f" … [{len(text) - PREVIEW_CHARS} more characters; --full]"


def readable(value: Any) -> Text:
    """A free-form value as labelled lines (`dataset.readable`), never JSON."""
    if isinstance(value, str):
        return Text(value)
    text = Text()
    for number, line in enumerate(outline(value)):
        if number:
            text.append("\n")
        text.append("  " * line.depth + ("• " if line.bullet else ""))
        if line.label:
            text.append(line.label, style="bold")
            text.append(": " if line.text else ":")
        text.append(line.text)
    return text


def critique_view(critique: Any) -> Any:
    """A judgment: its scores as a table with evidence, its notes, and every other field
    it holds (a comparison, the claims a document makes) as readable sections."""
    rows = critique_entries(critique) if isinstance(critique, Mapping) else []
    if not isinstance(critique, Mapping):
        return Group(Text("judgment", style="bold"), readable(critique))
    parts: list[Any] = [Text("judgment", style="bold")]
    if rows:
        table = Table(title_justify="left")
        for column in ("criterion", "score", "evidence"):
            table.add_column(column)
        for entry in rows:
            evidence = str(entry.get("evidence", ""))[:160]
            table.add_row(str(entry["criterion"]), str(entry["score"]), evidence)
        parts.append(table)
    rest = {k: v for k, v in critique.items() if k not in SHOWN_APART}
    if rest:
        parts.append(readable(rest))
    notes = critique.get("revision_notes") or []
    if notes:
        parts.append(readable({"revision notes": list(notes)}))
    return Group(*parts)


CALL_COLUMNS = ("node", "model", "requests", "in", "out", "cache read", "cache write", "USD")


def calls_table(calls: list[Call]) -> Table:
    table = Table(title="calls (usage.jsonl)", title_justify="left")
    for column in CALL_COLUMNS:
        table.add_column(column, justify="left" if column in ("node", "model") else "right")
    for call in calls:
        table.add_row(
            call.node,
            call.model,
            str(call.requests),
            f"{call.input_tokens:,}",
            f"{call.output_tokens:,}",
            f"{call.cache_read_tokens:,}",
            f"{call.cache_write_tokens:,}",
            f"${call.usd:.4f}",
        )
    table.add_row(
        "total",
        f"{len(calls)} calls",
        f"{sum(c.requests for c in calls)} requests",
        f"{sum(c.input_tokens for c in calls):,}",
        f"{sum(c.output_tokens for c in calls):,}",
        f"{sum(c.cache_read_tokens for c in calls):,}",
        f"{sum(c.cache_write_tokens for c in calls):,}",
        f"${sum(c.usd for c in calls):.4f}",
        style="bold",
    )
    return table
