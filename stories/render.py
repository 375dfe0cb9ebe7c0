"""Turn an accepted story into a standalone document in its framing.

The text a model trains on is prose a pretraining corpus could hold: a titled story,
a chapter, a magazine piece. Metadata stays outside the text.
"""

from __future__ import annotations

import re

_LEADING_HEADING = re.compile(r"^\s*#+\s*(.+?)\s*\n+")


def split_title(story: str, fallback: str) -> tuple[str, str]:
    """The story's own heading if it starts with one, else the planned title."""
    match = _LEADING_HEADING.match(story)
    if match:
        return match.group(1).strip().strip("*"), story[match.end() :].strip()
    return fallback.strip(), story.strip()


def render_document(story: str, *, title: str, framing: str, index: int) -> str:
    title, body = split_title(story, title)
    if framing == "novel chapter":
        return f"Chapter {index % 30 + 1}: {title}\n\n{body}\n"
    if framing == "literary magazine piece":
        return f"{title}\n\nFiction\n\n{body}\n"
    if framing == "fable":
        return f"{title}: A Fable\n\n{body}\n"
    if framing == "diary entries":
        return f"{title}\n\nFrom a diary\n\n{body}\n"
    return f"{title}\n\n{body}\n"
