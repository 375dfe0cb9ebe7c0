"""Document framings: how the writer is asked to shape a story, and how an accepted story
becomes a standalone document.

The text a model trains on is prose a pretraining corpus could hold: a titled story, a
chapter, a magazine piece, a fable, diary entries, letters, a memoir excerpt. The
document is what the writer wrote, its Markdown headings kept as written (as in every
kind): nothing the model did not write is added unless the user asks for the framing's
header (the story kind's `framing_headers` option: a "Chapter Three" line numbered by
the item index, a "Fiction" or "A Fable" line, the planned title when the story has
none). Every piece of metadata (axes, scores, ids) stays in the JSON record beside the
text. Interior thought stays marked with *asterisks*, as Markdown emphasis.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_LEADING_TITLE = re.compile(
    r"\A\s*(?:#+\s*(?P<heading>.+?)|title\s*:\s*(?P<label>.+?)|\*\*(?P<bold>[^*\n]+)\*\*)"
    r"\s*(?:\n+|\Z)",
    re.IGNORECASE,
)
_MARKDOWN_HEADING = re.compile(r"^#+\s*", re.MULTILINE)
_CHAPTER_LINE = re.compile(r"\A\s*chapter\b", re.IGNORECASE)

_NUMBER_WORDS = (
    "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen",
    "Eighteen", "Nineteen", "Twenty",
)  # fmt: skip


@dataclass(frozen=True)
class Framing:
    name: str
    #: One line for the writer: what the document is and how it is laid out.
    guidance: str
    #: The lines that open the document, given the title and the story's index.
    header: Callable[[str, int], str]


def _title_only(title: str, index: int) -> str:
    return title


FRAMINGS: dict[str, Framing] = {
    framing.name: framing
    for framing in (
        Framing("titled short story", "a complete short story", _title_only),
        Framing(
            "novel chapter",
            "one chapter of a longer novel; it may mention earlier events but must make "
            "sense on its own",
            lambda title, index: f"Chapter {_NUMBER_WORDS[index % len(_NUMBER_WORDS)]}\n{title}",
        ),
        Framing(
            "literary magazine piece",
            "a piece of short fiction for a literary magazine: restrained, precise, ending "
            "on an image rather than an explanation",
            lambda title, index: f"{title}\n\nFiction",
        ),
        Framing(
            "fable",
            "a fable: plain and simple, a little timeless, its lesson shown only by what "
            "happens, never stated as a moral",
            lambda title, index: f"{title}\n\nA Fable",
        ),
        Framing(
            "diary entries",
            "three to five diary entries kept by the point-of-view character, each "
            "starting with its date on a line of its own",
            _title_only,
        ),
        Framing(
            "letters",
            "two to four letters between the characters, each opening with a greeting to "
            "its addressee and signed",
            _title_only,
        ),
        Framing(
            "memoir excerpt",
            "an excerpt from a memoir written years later by someone who was there",
            lambda title, index: f"{title}\n\nfrom a memoir",
        ),
    )
}


def framing_for(name: str) -> Framing:
    """The known framing called `name`, or a plain titled document for one a user added."""
    return FRAMINGS.get(name) or Framing(name, f"a {name}", _title_only)


def split_title(story: str, fallback: str) -> tuple[str, str]:
    """The story's own leading title ('# T', 'Title: T' or '**T**') and the body after
    it; the planned title when the story has none."""
    match = _LEADING_TITLE.match(story)
    if match:
        title = next(group for group in match.group("heading", "label", "bold") if group)
        title = title.strip().strip("*_").strip()
        if title:
            return title, story[match.end() :].strip()
    return fallback.strip(), story.strip()


def render_document(
    story: str, *, title: str, framing: str, index: int, headers: bool = False
) -> str:
    """The standalone document: the story as written; with `headers`, the framing's
    header (added text: title, chapter number, label), a blank line, and the body with
    its Markdown headings as plain lines."""
    if not headers:
        return f"{story.strip()}\n"
    title, body = split_title(story, title)
    body = _MARKDOWN_HEADING.sub("", body)
    spec = framing_for(framing)
    header = spec.header(title, index)
    if spec.name == "novel chapter" and _CHAPTER_LINE.match(body):
        header = title  # the writer numbered the chapter itself
    return f"{header}\n\n{body}\n"
