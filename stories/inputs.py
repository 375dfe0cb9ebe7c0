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


_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$", re.MULTILINE)


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def load_constitution(path: Path) -> Constitution:
    text = read_text_file(path, "constitution")
    matches = list(_HEADING.finditer(text))
    if not matches:
        raise InputError(f"{path}: constitution has no '## ' sections (one principle group each)")
    sections: list[Section] = []
    seen: set[str] = set()
    for number, match in enumerate(matches):
        end = matches[number + 1].start() if number + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        title = match.group(1).strip()
        slug = slugify(title)
        if slug in seen:
            raise InputError(f"{path}: constitution has two sections named {title!r}")
        if not body:
            raise InputError(f"{path}: constitution section {title!r} is empty")
        seen.add(slug)
        sections.append(Section(title=title, slug=slug, body=body))
    preamble = text[: matches[0].start()].strip()
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
        """Every name the character may be given; the first is the default."""
        return (self.name, *(v for v in self.name_variants if v != self.name))


def _string_list(data: dict[str, object], key: str, path: Path, what: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{path}: {what} '{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def load_persona(path: Path) -> Persona:
    text = read_text_file(path, "persona")
    data = _read_toml(path, "persona")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{path}: persona needs a non-empty 'name'")
    pronouns = data.get("pronouns", "they/them")
    description = data.get("description", "")
    if not isinstance(pronouns, str) or not isinstance(description, str):
        raise InputError(f"{path}: persona 'pronouns' and 'description' must be strings")
    known = {"name", "pronouns", "description", "traits", "name_variants"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{path}: persona has unknown key(s): {', '.join(unknown)}")
    return Persona(
        name=name.strip(),
        pronouns=pronouns.strip(),
        description=description.strip(),
        traits=_string_list(data, "traits", path, "persona"),
        name_variants=_string_list(data, "name_variants", path, "persona"),
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
