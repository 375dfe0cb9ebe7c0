"""The story kind's own inputs: the persona and the premise axes (TOML), beside the
shared constitution. Samples written for this project ship in `data/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from storyloom.core.text import nfc
from storyloom.stories.constitution import Constitution, constitution_sample, load_constitution
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.inputs import (
    InputError,
    fingerprint,
    read_text_file,
    read_toml,
    shipped_samples,
)
from storyloom.stories.judging import MAX_SECTIONS

SAMPLE_FILES = {"persona": "persona.toml", "axes": "axes.toml"}
#: The shipped sample of the story input `name` ('persona' or 'axes').
sample_path = shipped_samples("storyloom.stories.story", SAMPLE_FILES)


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
    data = read_toml(path, "persona")
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


@dataclass(frozen=True)
class NeverTogether:
    """No draw pairs a value of `axis` in `values` with a value of `parent` in
    `parent_values`: `axis` is drawn after `parent`, among what the values drawn before
    it allow."""

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
    #: Each axis a `never_together` rule restricts, with the chain of axes it is drawn
    #: within (outermost first, the last one its parent), in drawing order.
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _parse_rules(
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
    return tuple(rules)


def _chains(path: Path, rules: tuple[NeverTogether, ...]) -> dict[str, tuple[str, ...]]:
    """The chain each restricted axis is drawn within, in drawing order. An axis's rules
    may name several axes only if they lie on one chain (one of them is drawn within
    the others): its parent is the innermost, so it stays balanced within each value of
    the whole chain, and its occurrence count there is known without drawing any other
    story (see `draws`)."""
    partners: dict[str, set[str]] = {}
    for rule in rules:
        partners.setdefault(rule.axis, set()).add(rule.parent)
    chains: dict[str, tuple[str, ...]] = {}
    pending = dict(partners)
    while pending:
        ready = [axis for axis, named in pending.items() if not named & set(pending)]
        if not ready:
            raise InputError(
                f"{path}: never_together rules make {', '.join(map(repr, sorted(pending)))} "
                "depend on each other in a circle"
            )
        for axis in sorted(ready):
            named = pending.pop(axis)
            paths = {parent: (*chains.get(parent, ()), parent) for parent in named}
            longest = max(paths.values(), key=len)
            if not named <= set(longest):
                raise InputError(
                    f"{path}: never_together: {axis!r} depends on "
                    f"{', '.join(map(repr, sorted(named)))}, which are not drawn one within "
                    "another; add a rule between them or drop one"
                )
            chains[axis] = longest
    return chains


def _check_drawable(
    path: Path,
    values: dict[str, tuple[str, ...]],
    rules: tuple[NeverTogether, ...],
    chains: dict[str, tuple[str, ...]],
) -> None:
    """Every axis keeps a value to draw under every reachable combination of its chain."""

    def allowed(axis: str, drawn: dict[str, str]) -> list[str]:
        excluded = {
            value
            for rule in rules
            if rule.axis == axis and drawn.get(rule.parent) in rule.parent_values
            for value in rule.values
        }
        return [value for value in values[axis] if value not in excluded]

    def walk(axis: str, chain: tuple[str, ...], drawn: dict[str, str]) -> None:
        if not chain:
            if not allowed(axis, drawn):
                shown = ", ".join(f"{name} = {value!r}" for name, value in drawn.items())
                raise InputError(
                    f"{path}: never_together leaves no {axis!r} value to draw when {shown}"
                )
            return
        head, *rest = chain
        for value in allowed(head, drawn):
            walk(axis, tuple(rest), {**drawn, head: value})

    for axis, chain in chains.items():
        walk(axis, chain, {})


def _never_together(
    path: Path, raw: object, values: dict[str, tuple[str, ...]]
) -> tuple[tuple[NeverTogether, ...], dict[str, tuple[str, ...]]]:
    rules = _parse_rules(path, raw, values)
    chains = _chains(path, rules)
    _check_drawable(path, values, rules, chains)
    return rules, chains


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


def axes_dimensions(path: Path) -> tuple[dict[str, tuple[str, ...]], str]:
    """The axes file's values and fingerprint, for `stats` when a run's persona or
    constitution is gone (`ReportProfile.dimensions_input`)."""
    axes = load_axes(path)
    return axes.values, axes.fingerprint


def load_axes(path: Path) -> Axes:
    text = read_text_file(path, "axes")
    data = read_toml(path, "axes")
    sections_per_story = data.pop("sections_per_story", 2)
    if (
        isinstance(sections_per_story, bool)
        or not isinstance(sections_per_story, int)
        or not 1 <= sections_per_story <= MAX_SECTIONS
    ):
        raise InputError(
            f"{path}: 'sections_per_story' must be a whole number from 1 to {MAX_SECTIONS}"
        )
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
    never_together, chains = _never_together(path, tables.get("never_together", []), values)
    if "dilemma_sections" in tables and "dilemma" in chains:
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
        chains=chains,
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
        constitution=load_constitution(constitution or constitution_sample()),
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
