"""Values a user controls (a run name, a kind option such as a system prompt, a model
name, a file name) written into Markdown so that they stay text: no HTML element, no
heading, link or table cell of their own, whatever they hold."""

from __future__ import annotations

import re
from typing import Any

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: Characters that open inline markup anywhere (a backslash makes each a literal).
_INLINE = set("\\`*_[]()!|~{}#")
#: Characters that open a block (a list, a heading, a rule) at the start of a line.
_LEADING = re.compile(r"^([-+=#.]|\d+[.)])")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(value: Any) -> str:
    """The value as one line: line breaks and control characters become a space."""
    return _BREAKS.sub(" ", str(value)).strip()


def md_text(value: Any) -> str:
    """`value` as literal inline Markdown text (also safe inside a table cell)."""
    text = "".join(
        _HTML.get(char) or ("\\" + char if char in _INLINE else char) for char in one_line(value)
    )
    return _LEADING.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def md_code(value: Any) -> str:
    """`value` as an inline code span for a table cell: the fence is
    longer than any run of backticks in it, and a `|` is escaped for the table (a code
    span shows its content as text, so no HTML in it is ever an element)."""
    text = one_line(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"
