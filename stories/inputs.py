"""The three files a user edits: constitution (Markdown), persona and premise axes (TOML).

Loaders raise `InputError` with one line naming the file and the problem, so the CLI can
show it as is. Samples written for this project ship in `data/`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from markdown_it import MarkdownIt

from storyloom.core.text import nfc

SAMPLE_FILES = {
    "constitution": "constitution.md",
    "persona": "persona.toml",
    "axes": "axes.toml",
}


class InputError(ValueError):
    """A user-supplied input file is missing, unreadable or malformed."""


def sample_path(kind: str) -> Path:
    """The shipped sample for `kind` ('constitution', 'persona' or 'axes')."""
    resource = resources.files("storyloom.stories").joinpath("data", SAMPLE_FILES[kind])
    return Path(str(resource))


def read_text_file(path: Path, what: str) -> str:
    if not path.exists():
        raise InputError(f"{path}: {what} file not found")
    if path.is_dir():
        raise InputError(f"{path}: {what} file is a directory")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} file ({exc.strerror})") from exc
    if b"\x00" in raw:
        raise InputError(f"{path}: {what} file is binary, expected UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} file is not UTF-8 text") from exc
    text = text.removeprefix("\ufeff")  # a BOM would hide the first heading or key
    if not text.strip():
        raise InputError(f"{path}: {what} file is empty")
    return text


def _read_toml(path: Path, what: str) -> dict[str, object]:
    text = read_text_file(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML in {what} file ({exc})") from exc


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


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
        for section in self.sections:
            if section.slug == slug:
                return section
        raise KeyError(slug)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(section.slug for section in self.sections)

    def as_markdown(self, slugs: tuple[str, ...] | None = None) -> str:
        chosen = self.sections if slugs is None else tuple(self.section(s) for s in slugs)
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


@dataclass(frozen=True)
class Persona:
    name: str
    pronouns: str
    description: str
    traits: tuple[str, ...]
    name_variants: tuple[str, ...]
    fingerprint: str

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the character may be given; the first is the default (the loader
        refuses a variant equal to the name or to another variant)."""
        return (self.name, *self.name_variants)


def _string_list(data: dict[str, object], key: str, path: Path, what: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{path}: {what} '{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


#: A name that opens like a chat turn would be read as one in every story and prompt.
_ROLE_LABEL = re.compile(r"\b(user|assistant|human|system)\s*:", re.IGNORECASE)


def _check_name(name: str, path: Path, key: str) -> str:
    """`name` in NFC (as models write it), or an InputError: a name is one line of
    printable text and no chat role label."""
    if not name.isprintable():
        raise InputError(
            f"{path}: persona {key} {name!r} must be one line of printable text "
            "(no newlines, tabs or control characters)"
        )
    if label := _ROLE_LABEL.search(name):
        raise InputError(
            f"{path}: persona {key} {name!r} contains the chat role label "
            f"{label.group(0)!r}; choose a plain name"
        )
    return nfc(name)


def _name_variants(data: dict[str, object], name: str, path: Path) -> tuple[str, ...]:
    """The variants, each a valid name, none repeated and none equal to `name` (a
    repeat would make byte-identical documents)."""
    variants: list[str] = []
    for raw in _string_list(data, "name_variants", path, "persona"):
        variant = _check_name(raw, path, "name variant")
        if variant == name:
            raise InputError(f"{path}: persona 'name_variants' lists the name {name!r} itself")
        if variant in variants:
            raise InputError(f"{path}: persona 'name_variants' lists {variant!r} twice")
        variants.append(variant)
    return tuple(variants)


def load_persona(path: Path) -> Persona:
    text = read_text_file(path, "persona")
    data = _read_toml(path, "persona")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{path}: persona needs a non-empty 'name'")
    name = _check_name(name.strip(), path, "name")
    pronouns = data.get("pronouns", "they/them")
    description = data.get("description", "")
    if not isinstance(pronouns, str) or not isinstance(description, str):
        raise InputError(f"{path}: persona 'pronouns' and 'description' must be strings")
    known = {"name", "pronouns", "description", "traits", "name_variants"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{path}: persona has unknown key(s): {', '.join(unknown)}")
    return Persona(
        name=name,
        pronouns=nfc(pronouns.strip()),
        description=nfc(description.strip()),
        traits=tuple(nfc(trait) for trait in _string_list(data, "traits", path, "persona")),
        name_variants=_name_variants(data, name, path),
        fingerprint=fingerprint(text),
    )


AXIS_NAMES = (
    "setting",
    "dilemma",
    "theme",
    "point_of_view",
    "tone",
    "framing",
    "length",
)

LENGTH_BANDS = {"short": (250, 600), "medium": (500, 1100), "long": (900, 1800)}


@dataclass(frozen=True)
class Axes:
    values: dict[str, tuple[str, ...]]
    sections_per_story: int
    fingerprint: str


def load_axes(path: Path) -> Axes:
    text = read_text_file(path, "axes")
    data = _read_toml(path, "axes")
    sections_per_story = data.pop("sections_per_story", 2)
    if (
        isinstance(sections_per_story, bool)
        or not isinstance(sections_per_story, int)
        or sections_per_story < 1
    ):
        raise InputError(f"{path}: 'sections_per_story' must be a whole number >= 1")
    unknown = sorted(set(data) - set(AXIS_NAMES))
    if unknown:
        raise InputError(
            f"{path}: unknown axis name(s): {', '.join(unknown)} (known: {', '.join(AXIS_NAMES)})"
        )
    values: dict[str, tuple[str, ...]] = {}
    for axis in AXIS_NAMES:
        if axis not in data:
            raise InputError(f"{path}: axis '{axis}' is missing")
        chosen = _string_list(data, axis, path, "axis")
        if not chosen:
            raise InputError(f"{path}: axis '{axis}' is empty")
        if len(set(chosen)) != len(chosen):
            raise InputError(f"{path}: axis '{axis}' lists a value twice")
        values[axis] = chosen
    bad_lengths = sorted(set(values["length"]) - set(LENGTH_BANDS))
    if bad_lengths:
        raise InputError(
            f"{path}: unknown length band(s): {', '.join(bad_lengths)} "
            f"(known: {', '.join(LENGTH_BANDS)})"
        )
    return Axes(values=values, sections_per_story=sections_per_story, fingerprint=fingerprint(text))


@dataclass(frozen=True)
class StoryInputs:
    constitution: Constitution
    persona: Persona
    axes: Axes


def load_inputs(
    constitution: Path | None = None, persona: Path | None = None, axes: Path | None = None
) -> StoryInputs:
    loaded = StoryInputs(
        constitution=load_constitution(constitution or sample_path("constitution")),
        persona=load_persona(persona or sample_path("persona")),
        axes=load_axes(axes or sample_path("axes")),
    )
    if loaded.axes.sections_per_story > len(loaded.constitution.sections):
        raise InputError(
            f"{axes or sample_path('axes')}: sections_per_story is "
            f"{loaded.axes.sections_per_story} but the constitution has only "
            f"{len(loaded.constitution.sections)} sections"
        )
    return loaded
