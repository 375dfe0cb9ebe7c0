"""The three files a user edits: constitution (Markdown), persona and premise axes (TOML).

Loaders raise `InputError` with one line naming the file and the problem, so the CLI can
show it as is. Samples written for this project ship in `data/`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field, replace
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
#: Axes an axes file may add; drawn like the others when present.
OPTIONAL_AXIS_NAMES = ("act", "outcome", "facing")
#: Tables beside the axes: settings that are agentic (they join `setting`), the sections
#: each dilemma engages, and axis-value pairs never drawn together.
_AXES_TABLES = ("agentic_settings", "dilemma_sections", "never_together")

LENGTH_BANDS = {"short": (250, 600), "medium": (500, 1100), "long": (900, 1800)}


@dataclass(frozen=True)
class NeverTogether:
    """No draw pairs a value of `axis` in `values` with a value of `parent` in
    `parent_values`: `axis` is drawn among what the drawn `parent` value allows."""

    axis: str
    values: tuple[str, ...]
    parent: str
    parent_values: tuple[str, ...]


@dataclass(frozen=True)
class Axes:
    values: dict[str, tuple[str, ...]]
    sections_per_story: int
    fingerprint: str
    #: Values of `setting` in which the AI acts as an agent with tools and permissions.
    agentic: frozenset[str] = frozenset()
    #: The constitution sections (slugs) each dilemma engages; see `seeds`.
    dilemma_sections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    never_together: tuple[NeverTogether, ...] = ()


def _never_together(
    path: Path, raw: object, values: dict[str, tuple[str, ...]]
) -> tuple[NeverTogether, ...]:
    if not isinstance(raw, list):
        raise InputError(f"{path}: 'never_together' must be a list of tables ([[never_together]])")
    rules: list[NeverTogether] = []
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or len(entry) != 2:
            raise InputError(f"{path}: never_together entry {number} must name exactly two axes")
        (axis, chosen), (parent, parent_chosen) = entry.items()
        for name, listed in ((axis, chosen), (parent, parent_chosen)):
            if name not in values:
                raise InputError(
                    f"{path}: never_together entry {number} names unknown axis {name!r}"
                )
            if not isinstance(listed, list) or not set(listed) <= set(values[name]) or not listed:
                raise InputError(
                    f"{path}: never_together entry {number}: {name!r} must list values of that axis"
                )
        rules.append(NeverTogether(axis, tuple(chosen), parent, tuple(parent_chosen)))
    conditioned = {rule.axis: rule.parent for rule in rules}
    for rule in rules:
        if rule.parent in conditioned or conditioned.get(rule.axis, rule.parent) != rule.parent:
            raise InputError(
                f"{path}: never_together: {rule.axis!r} may depend on one axis, and "
                f"{rule.parent!r} must not depend on another"
            )
        allowed = set(values[rule.axis]) - set(rule.values)
        if not allowed:
            raise InputError(f"{path}: never_together leaves no {rule.axis!r} value to draw")
    return tuple(rules)


def _dilemma_sections(
    path: Path, raw: object, dilemmas: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: 'dilemma_sections' must be a table of dilemma = [slugs]")
    unknown = sorted(set(raw) - set(dilemmas))
    if unknown:
        raise InputError(f"{path}: dilemma_sections names unknown dilemma {unknown[0]!r}")
    mapping: dict[str, tuple[str, ...]] = {}
    for dilemma, slugs in raw.items():
        if not isinstance(slugs, list) or not all(isinstance(s, str) and s for s in slugs):
            raise InputError(f"{path}: dilemma_sections[{dilemma!r}] must be a list of slugs")
        if len(set(slugs)) != len(slugs):
            raise InputError(f"{path}: dilemma_sections[{dilemma!r}] lists a section twice")
        mapping[dilemma] = tuple(slugs)
    return mapping


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
    tables = {name: data.pop(name) for name in _AXES_TABLES if name in data}
    known = (*AXIS_NAMES, *OPTIONAL_AXIS_NAMES)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(
            f"{path}: unknown axis name(s): {', '.join(unknown)} (known: {', '.join(known)})"
        )
    values: dict[str, tuple[str, ...]] = {}
    for axis in known:
        if axis not in data:
            if axis in OPTIONAL_AXIS_NAMES:
                continue
            raise InputError(f"{path}: axis '{axis}' is missing")
        chosen = _string_list(data, axis, path, "axis")
        if axis == "setting":
            chosen += _string_list(tables, "agentic_settings", path, "axes")
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
    never_together = _never_together(path, tables.get("never_together", []), values)
    if "dilemma_sections" in tables and any(r.axis == "dilemma" for r in never_together):
        raise InputError(f"{path}: with dilemma_sections, 'dilemma' cannot depend on another axis")
    return Axes(
        values=values,
        sections_per_story=sections_per_story,
        fingerprint=fingerprint(text),
        agentic=frozenset(_string_list(tables, "agentic_settings", path, "axes")),
        dilemma_sections=_dilemma_sections(
            path, tables.get("dilemma_sections", {}), values["dilemma"]
        ),
        never_together=never_together,
    )


def _check_dilemma_sections(
    path: Path, axes: Axes, constitution: Constitution, *, shipped_axes: bool = False
) -> Axes:
    """The mapping against the constitution in use. The shipped axes' mapping is written
    for the shipped constitution: with a user's own constitution that lacks any of its
    sections it is set aside, so every section can be drawn. A user's own mapping (or one
    naming none of the sections) must name only real ones, enough for each story."""
    named = {slug for slugs in axes.dilemma_sections.values() for slug in slugs}
    if not named & set(constitution.slugs) or (
        shipped_axes and not named <= set(constitution.slugs)
    ):
        return replace(axes, dilemma_sections={})
    for dilemma, slugs in axes.dilemma_sections.items():
        missing = [slug for slug in slugs if slug not in constitution.slugs]
        if missing:
            raise InputError(
                f"{path}: dilemma_sections[{dilemma!r}] names section {missing[0]!r}, which "
                f"{constitution.source} does not have"
            )
        if len(slugs) < axes.sections_per_story:
            raise InputError(
                f"{path}: dilemma_sections[{dilemma!r}] lists {len(slugs)} section(s); each "
                f"story needs sections_per_story = {axes.sections_per_story}"
            )
    return axes


@dataclass(frozen=True)
class StoryInputs:
    constitution: Constitution
    persona: Persona
    axes: Axes


def load_inputs(
    constitution: Path | None = None, persona: Path | None = None, axes: Path | None = None
) -> StoryInputs:
    axes_path = axes or sample_path("axes")
    loaded = StoryInputs(
        constitution=load_constitution(constitution or sample_path("constitution")),
        persona=load_persona(persona or sample_path("persona")),
        axes=load_axes(axes_path),
    )
    loaded = replace(
        loaded,
        axes=_check_dilemma_sections(
            axes_path, loaded.axes, loaded.constitution, shipped_axes=axes is None
        ),
    )
    if loaded.axes.sections_per_story > len(loaded.constitution.sections):
        raise InputError(
            f"{axes or sample_path('axes')}: sections_per_story is "
            f"{loaded.axes.sections_per_story} but the constitution has only "
            f"{len(loaded.constitution.sections)} sections"
        )
    return loaded
