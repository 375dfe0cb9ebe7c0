"""An item's journey as one self-contained HTML page (no script, no external file), so it
can be attached to a bug report or a data review and opened anywhere. It says what the
terminal view says (`inspect_terminal`): drafts by what happened to them, a chat kind's
drafts as turns diffed turn by turn, judgments and reviews as readable sections, and
every call with its requests."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from storyloom.dataset.inspect_terminal import (
    CALL_COLUMNS,
    CONVERSATION_TITLE,
    SHOWN_APART,
    content_text,
    draft_marks,
    progress_line,
)
from storyloom.dataset.journey import Call, Change, DraftStep, Journey
from storyloom.dataset.readable import outline
from storyloom.stories.judging import critique_entries

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
section.draft { border: 1px solid #ccc; border-radius: 6px; padding: 0 1rem 1rem; margin: 1rem 0; }
.passed { color: #176d2c; } .failed { color: #a4262c; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .6rem; border-radius: 4px; }
pre.diff .add { background: #e6ffec; display: block; }
pre.diff .del { background: #ffebe9; display: block; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #ddd; padding: .2rem .5rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
div.outline p { margin: .1rem 0; } .turn { font-weight: bold; margin-top: .6rem; }
"""


def journey_html(journey: Journey) -> str:
    status = journey.outcome + (f" ({journey.reason})" if journey.reason else "")
    body = [
        f"<h1>{escape(journey.item_id)} "
        f"<small>{escape(journey.kind)}: {escape(status)}</small></h1>",
        f"<p>{escape(journey.detail)}</p>" if journey.detail else "",
        f"<p>{escape(progress_line(journey))}. Run: {escape(str(journey.run))}</p>",
        "<h2>Draw</h2>",
        readable(journey.draw),
    ]
    if journey.plan is not None:
        body += ["<h2>Plan</h2>", readable(journey.plan)]
    body += [f"<p>Planned again, too close to: {escape(a)}</p>" for a in journey.avoided]
    body.append("<h2>Drafts</h2>")
    body += [_draft(draft) for draft in journey.drafts]
    if journey.guard_reasons:
        body.append(f"<p>Kept the better draft: {escape('; '.join(journey.guard_reasons))}</p>")
    if journey.round_failed:
        body.append(f"<p>A revision round failed: {escape(journey.round_failed)}</p>")
    if journey.conversation:
        turns = "".join(
            f"<p class='turn'>Turn {escape(str(t.get('turn')))}: {escape(str(t.get('role')))}</p>"
            f"{_pre(content_text(t.get('content')))}"
            for t in journey.conversation
        )
        body.append(f"<h2>{escape(CONVERSATION_TITLE.capitalize())}</h2>{turns}")
    body += ["<h2>Calls</h2>", _calls(journey.calls)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(journey.item_id)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _draft(draft: DraftStep) -> str:
    verdict = "passed" if draft.status.startswith("passed") else "failed"
    first, *rest = draft_marks(draft)
    marks = [f'<span class="{verdict}">{escape(first)}</span>', *map(escape, rest)]
    words = "words" if draft.turns is None else "words written"
    parts = [
        f"<section class='draft'><h3>Draft {draft.position} (round {draft.round}, "
        f"{draft.words} {words}): {', '.join(marks)}</h3>"
    ]
    if draft.diff:
        parts.append(_change(f"Changes from draft {draft.position - 1}", draft.diff_change))
    for turn in draft.turn_changes:
        heading = f"Turn {turn.turn} ({turn.role}) changed from draft {draft.position - 1}"
        parts.append(_change(heading, turn.change))
    if draft.turns is not None:
        turns = "".join(
            f"<p class='turn'>Turn {n}: {escape(t['role'])}</p>{_pre(t['content'])}"
            for n, t in enumerate(draft.turns, start=1)
        )
        parts.append(f"<details><summary>Turns</summary>{turns}</details>")
    else:
        parts.append(f"<details><summary>Text</summary>{_pre(draft.text)}</details>")
    findings = "".join(
        f"<li>{escape(str(f.get('kind')))}: {escape(str(f.get('message')))}</li>"
        for f in draft.findings
    )
    parts.append(
        f"<p>Gate findings:</p><ul>{findings}</ul>" if findings else "<p>Gate findings: none</p>"
    )
    if draft.critique is not None:
        parts.append(_critique(draft.critique))
    if draft.review is not None:
        parts.append(f"<p>Review:</p>{readable(draft.review)}")
    parts.append("</section>")
    return "".join(parts)


def _change(heading: str, change: Change) -> str:
    more = f"<p>… {change.cut} more diff lines</p>" if change.cut else ""
    return (
        f"<p>{escape(heading)}: {change.removed} paragraph(s) out, {change.added} in</p>"
        f"{_diff(change.lines)}{more}"
    )


def _critique(critique: Any) -> str:
    if not isinstance(critique, Mapping):
        return f"<p>Judgment:</p>{readable(critique)}"
    entries = critique_entries(critique)
    parts = ["<p>Judgment:</p>"]
    if entries:
        rows = "".join(
            f"<tr><td>{escape(str(e['criterion']))}</td><td class='num'>{escape(str(e['score']))}"
            f"</td><td>{escape(str(e.get('evidence', '')))}</td></tr>"
            for e in entries
        )
        parts.append(
            f"<table><tr><th>criterion</th><th>score</th><th>evidence</th></tr>{rows}</table>"
        )
    rest = {k: v for k, v in critique.items() if k not in SHOWN_APART}
    if rest:
        parts.append(readable(rest))
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in critique.get("revision_notes") or [])
    if notes:
        parts.append(f"<p>Revision notes:</p><ul>{notes}</ul>")
    return "".join(parts)


def _calls(calls: list[Call]) -> str:
    head = "".join(f"<th>{h}</th>" for h in CALL_COLUMNS)
    rows = "".join(
        f"<tr><td>{escape(c.node)}</td><td>{escape(c.model)}</td>"
        f"<td class='num'>{c.requests}</td>"
        f"<td class='num'>{c.input_tokens:,}</td><td class='num'>{c.output_tokens:,}</td>"
        f"<td class='num'>{c.cache_read_tokens:,}</td><td class='num'>{c.cache_write_tokens:,}</td>"
        f"<td class='num'>${c.usd:.4f}</td></tr>"
        for c in calls
    )
    total = (
        f"<tr><th>total</th><th>{len(calls)} calls</th>"
        f"<th>{sum(c.requests for c in calls)} requests</th>"
        f"<th>{sum(c.input_tokens for c in calls):,}</th>"
        f"<th>{sum(c.output_tokens for c in calls):,}</th>"
        f"<th>{sum(c.cache_read_tokens for c in calls):,}</th>"
        f"<th>{sum(c.cache_write_tokens for c in calls):,}</th>"
        f"<th>${sum(c.usd for c in calls):.4f}</th></tr>"
    )
    return f"<table><tr>{head}</tr>{rows}{total}</table>"


def _diff(lines: list[str]) -> str:
    def line(text: str) -> str:
        kind = "add" if text.startswith("+") else "del" if text.startswith("-") else ""
        return f'<span class="{kind}">{escape(text)}</span>' if kind else escape(text) + "\n"

    return f"<pre class='diff'>{''.join(line(t) for t in lines)}</pre>"


def readable(value: Any) -> str:
    """A free-form value as labelled lines (`dataset.readable`), never JSON."""
    if isinstance(value, str):
        return _pre(value)
    lines = "".join(
        f"<p style='margin-left: {1.2 * line.depth:.1f}rem'>"
        + ("• " if line.bullet else "")
        + (f"<b>{escape(line.label)}</b>: " if line.label else "")
        + f"{escape(line.text)}</p>"
        for line in outline(value)
    )
    return f"<div class='outline'>{lines}</div>"


def _pre(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"
