"""An item's journey in the terminal (rich): the draw, the plan, each draft with its gate
findings, critique, review and what changed, then the calls with tokens and cost."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from storyloom.dataset.journey import Call, DraftStep, Journey
from storyloom.stories.judging import critique_entries

#: Characters of a draft shown unless `full`: the diffs say what changed.
PREVIEW_CHARS = 600


def render_journey(journey: Journey, console: Console, *, full: bool = False) -> None:
    status = journey.outcome + (f" ({journey.reason})" if journey.reason else "")
    console.rule(Text(f"{journey.item_id}  {journey.kind}  {status}", style="bold"))
    if journey.detail:
        console.print(Text(f"why: {journey.detail}"))
    console.print(
        Text(
            f"{journey.checkpoints} checkpoints, {journey.started} .. {journey.updated}; "
            f"{len(journey.drafts)} draft(s), {journey.plan_attempts} plan attempt(s)"
        )
    )
    console.print(Panel(Text(_pretty(journey.draw)), title="draw", title_align="left"))
    if journey.plan is not None:
        console.print(Panel(Text(_pretty(journey.plan)), title="plan", title_align="left"))
    for avoided in journey.avoided:
        console.print(Text(f"planned again, too close to: {avoided[:200]}", style="yellow"))
    for draft in journey.drafts:
        console.print(_draft_panel(draft, full=full))
    if journey.guard_reasons:
        console.print(Text("kept the better draft: " + "; ".join(journey.guard_reasons)))
    if journey.round_failed:
        console.print(Text(f"a revision round failed: {journey.round_failed}", style="yellow"))
    console.print(calls_table(journey.calls))


def _draft_panel(draft: DraftStep, *, full: bool) -> Panel:
    marks = ["passed" if draft.passed else "failed"]
    marks += ["best"] if draft.best else []
    marks += ["cut by the token limit"] if draft.truncated else []
    parts: list[Any] = []
    if draft.diff:
        parts.append(
            Text(
                f"changes from draft {draft.position - 1}: {draft.removed} paragraph(s) "
                f"out, {draft.added} in",
                style="bold",
            )
        )
        parts.append(Syntax("\n".join(draft.diff), "diff", word_wrap=True, theme="ansi_dark"))
        if draft.diff_cut:
            parts.append(Text(f"… {draft.diff_cut} more diff lines"))
    text = draft.text if full or len(draft.text) <= PREVIEW_CHARS else _preview(draft.text)
    parts.append(Text(text))
    findings = [f"{f.get('kind')}: {f.get('message')}" for f in draft.findings]
    parts.append(Text("gate findings: " + ("; ".join(findings) or "none"), style="bold"))
    if draft.critique is not None:
        parts.append(critique_table(draft.critique))
    if draft.review is not None:
        parts.append(Text("review: " + _pretty(draft.review), style="italic"))
    title = f"draft {draft.position} (round {draft.round}, {draft.words} words, {', '.join(marks)})"
    return Panel(Group(*parts), title=title, title_align="left")


def _preview(text: str) -> str:
    return text[:PREVIEW_CHARS] + f" … [{len(text) - PREVIEW_CHARS} more characters; --full]"


def critique_table(critique: Any) -> Any:
    """A judge's critique: scores with evidence, the verdict and the notes; anything else
    a kind's judge returns is shown as JSON."""
    rows = critique_entries(critique) if isinstance(critique, Mapping) else []
    if not rows:
        return Text("critique: " + _pretty(critique))
    table = Table(title=f"critique: {critique.get('verdict', '')}", title_justify="left")
    for column in ("criterion", "score", "evidence"):
        table.add_column(column)
    for entry in rows:
        evidence = str(entry.get("evidence", ""))[:160]
        table.add_row(str(entry["criterion"]), str(entry["score"]), evidence)
    notes = critique.get("revision_notes") or []
    if not notes:
        return table
    return Group(table, Text("notes: " + "; ".join(map(str, notes))))


def calls_table(calls: list[Call]) -> Table:
    table = Table(title="calls (usage.jsonl)", title_justify="left")
    for column in ("node", "model", "in", "out", "cache r", "cache w", "USD"):
        table.add_column(column, justify="left" if column in ("node", "model") else "right")
    for call in calls:
        table.add_row(
            call.node,
            call.model,
            f"{call.input_tokens:,}",
            f"{call.output_tokens:,}",
            f"{call.cache_read_tokens:,}",
            f"{call.cache_write_tokens:,}",
            f"${call.usd:.4f}",
        )
    table.add_row(
        "total",
        f"{len(calls)} calls",
        f"{sum(c.input_tokens for c in calls):,}",
        f"{sum(c.output_tokens for c in calls):,}",
        f"{sum(c.cache_read_tokens for c in calls):,}",
        f"{sum(c.cache_write_tokens for c in calls):,}",
        f"${sum(c.usd for c in calls):.4f}",
        style="bold",
    )
    return table


def _pretty(value: Any) -> str:
    """A string as it is; a mapping as `key: value` lines (nested values as compact
    JSON), which reads better than indented JSON for a draw or a plan."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "\n".join(f"{key}: {_compact(item)}" for key, item in value.items())
    return json.dumps(value, ensure_ascii=False, indent=2)


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
