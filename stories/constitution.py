"""The constitution: a Markdown file of `##` sections, the input every shipped kind reads.

The sample written for this project ships in `data/constitution.md`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from markdown_it import MarkdownIt

from storyloom.stories.inputs import InputError, fingerprint, read_text_file, shipped_sample
from storyloom.stories.kind import InputSpec


def constitution_sample() -> Path:
    """The shipped sample constitution."""
    return shipped_sample("storyloom.stories", "constitution.md")


def constitution_input() -> InputSpec:
    """The constitution input every shipped kind reads (the same sample and wording)."""
    return InputSpec("constitution", "Constitution Markdown (## sections)", constitution_sample())


@dataclass(frozen=True)
class Section:
    title: str
    slug: str
    body: str


@dataclass(frozen=True)
class Constitution:
    preamble: str
    sections: tuple[Section, ...]
    source: str
    fingerprint: str

    def section(self, slug: str) -> Section:
        if (found := self._by_slug.get(slug)) is None:
            raise KeyError(slug)
        return found

    @cached_property
    def _by_slug(self) -> dict[str, Section]:
        """Sections by slug, the first of a repeated slug winning (as `find` would):
        prompts look sections up for every call."""
        by_slug: dict[str, Section] = {}
        for section in self.sections:
            by_slug.setdefault(section.slug, section)
        return by_slug

    @cached_property
    def _whole_markdown(self) -> str:
        """Built once: the copy gate and the prompts read the whole text per item."""
        return "\n\n".join(f"## {s.title}\n{s.body}" for s in self.sections)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(section.slug for section in self.sections)

    def as_markdown(self, slugs: tuple[str, ...] | None = None) -> str:
        if slugs is None:
            return self._whole_markdown
        chosen = tuple(self.section(s) for s in slugs)
        return "\n\n".join(f"## {s.title}\n{s.body}" for s in chosen)


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def _section_headings(text: str) -> list[tuple[str, int, int]]:
    """(title, first line, line after the heading) of every `## ` heading, as Markdown
    reads them: a `## ` line inside a fenced or indented code block is code, not a
    heading. Underlined (setext) headings are not sections: the format is `## `."""
    tokens = MarkdownIt("commonmark").parse(text)
    headings = []
    for position, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2" and token.markup == "##":
            assert token.map is not None
            headings.append((tokens[position + 1].content.strip(), *token.map))
    return headings


def load_constitution(path: Path) -> Constitution:
    text = read_text_file(path, "constitution")
    lines = re.sub(r"\r\n?", "\n", text).split("\n")  # the line map Markdown counts in
    headings = _section_headings(text)
    if not headings:
        raise InputError(f"{path}: constitution has no '## ' sections (one principle group each)")
    sections: list[Section] = []
    seen: set[str] = set()
    for number, (title, _, body_start) in enumerate(headings):
        end = headings[number + 1][1] if number + 1 < len(headings) else len(lines)
        body = "\n".join(lines[body_start:end]).strip()
        slug = slugify(title)
        if slug in seen:
            raise InputError(f"{path}: constitution has two sections named {title!r}")
        if not body:
            raise InputError(f"{path}: constitution section {title!r} is empty")
        seen.add(slug)
        sections.append(Section(title=title, slug=slug, body=body))
    preamble = "\n".join(lines[: headings[0][1]]).strip()
    return Constitution(preamble, tuple(sections), str(path), fingerprint(text))
