"""The advice kind's inputs: the constitution (the story kind's loader) and the dilemma
taxonomy (TOML), whose section mapping is checked against the constitution loaded with it,
so a dilemma never sends the review to a section that does not exist."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyloom.stories.constitution import Constitution, load_constitution
from storyloom.stories.inputs import InputError, find, fingerprint, read_text_file, shipped_sample
from storyloom.stories.judging import MAX_SECTIONS

#: The most messages a simulated person sends in one transcript.
MAX_TURNS = 4
_TOP_KEYS = {"inclinations", "asks", "followups", "turns", "person", "dilemma"}
_DILEMMA_KEYS = {"id", "domain", "summary", "sections", "mirrors_ai"}
_PERSON_KEYS = {"who", "stakes", "never_with"}


def dilemmas_sample() -> Path:
    """The shipped taxonomy."""
    return shipped_sample("storyloom.stories.advice", "dilemmas.toml")


@dataclass(frozen=True)
class Dilemma:
    id: str
    domain: str
    summary: str
    sections: tuple[str, ...]
    mirrors_ai: bool = False


@dataclass(frozen=True)
class Person:
    who: str
    stakes: str
    #: Dilemmas (ids) whose premise contradicts who this person is: never drawn for them.
    never_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """Every drawn dimension; the three described ones map a value to its meaning."""

    dilemmas: tuple[Dilemma, ...]
    people: tuple[Person, ...]
    inclinations: dict[str, str]
    asks: dict[str, str]
    followups: dict[str, str]
    turns: tuple[int, ...]
    fingerprint: str

    def dilemma(self, dilemma_id: str) -> Dilemma:
        return find(self.dilemmas, lambda dilemma: dilemma.id, dilemma_id)

    def person(self, who: str) -> Person:
        return find(self.people, lambda person: person.who, who)


@dataclass(frozen=True)
class AdviceInputs:
    constitution: Constitution
    taxonomy: Taxonomy


def _text(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{path}: {where} must be a non-empty string")
    return value.strip()


def _meanings(data: dict[str, Any], key: str, path: Path) -> dict[str, str]:
    table = data.get(key)
    if not isinstance(table, dict) or not table:
        raise InputError(f'{path}: [{key}] must be a table of value = "what it means" lines')
    return {_text(name, f"a [{key}] name", path): _text(v, f"[{key}] {name!r}", path)
            for name, v in table.items()}  # fmt: skip


def _turns(data: dict[str, Any], path: Path) -> tuple[int, ...]:
    turns = data.get("turns")
    if (
        not isinstance(turns, list)
        or not turns
        or not all(isinstance(t, int) and not isinstance(t, bool) for t in turns)
        or not all(1 <= t <= MAX_TURNS for t in turns)
    ):
        raise InputError(f"{path}: 'turns' must be a list of whole numbers from 1 to {MAX_TURNS}")
    if len(set(turns)) != len(turns):
        raise InputError(f"{path}: 'turns' lists a value twice")
    return tuple(turns)


def _tables(data: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    tables = data.get(key)
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise InputError(f"{path}: needs at least one [[{key}]] table")
    return tables


def _person(table: dict[str, Any], number: int, path: Path) -> Person:
    unknown = sorted(set(table) - _PERSON_KEYS)
    if unknown:
        raise InputError(f"{path}: [[person]] {number} has unknown key(s): {', '.join(unknown)}")
    never_with = table.get("never_with", [])
    if not isinstance(never_with, list):
        raise InputError(f"{path}: [[person]] {number} 'never_with' must be a list of dilemma ids")
    return Person(
        who=_text(table.get("who"), f"[[person]] {number} 'who'", path),
        stakes=_text(table.get("stakes"), f"[[person]] {number} 'stakes'", path),
        never_with=tuple(_text(d, f"[[person]] {number} 'never_with'", path) for d in never_with),
    )


def _dilemma(table: dict[str, Any], number: int, path: Path) -> Dilemma:
    dilemma_id = _text(table.get("id"), f"[[dilemma]] {number} 'id'", path)
    where = f"dilemma {dilemma_id!r}"
    unknown = sorted(set(table) - _DILEMMA_KEYS)
    if unknown:
        raise InputError(f"{path}: {where} has unknown key(s): {', '.join(unknown)}")
    sections = table.get("sections")
    if not isinstance(sections, list) or not sections:
        raise InputError(f"{path}: {where} needs 'sections', a list of constitution section slugs")
    mirrors_ai = table.get("mirrors_ai", False)
    if not isinstance(mirrors_ai, bool):
        raise InputError(f"{path}: {where} 'mirrors_ai' must be true or false")
    slugs = tuple(_text(s, f"{where} section", path) for s in sections)
    if len(set(slugs)) != len(slugs):
        raise InputError(f"{path}: {where} names a section twice")
    if len(slugs) > MAX_SECTIONS:
        raise InputError(f"{path}: {where} names {len(slugs)} sections; at most {MAX_SECTIONS}")
    return Dilemma(
        id=dilemma_id,
        domain=_text(table.get("domain"), f"{where} 'domain'", path),
        summary=_text(table.get("summary"), f"{where} 'summary'", path),
        sections=slugs,
        mirrors_ai=mirrors_ai,
    )


def load_taxonomy(path: Path) -> Taxonomy:
    text = read_text_file(path, "dilemmas")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML in dilemmas file ({exc})") from exc
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InputError(
            f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_TOP_KEYS))})"
        )
    dilemmas = tuple(_dilemma(t, n, path) for n, t in enumerate(_tables(data, "dilemma", path), 1))
    seen: set[str] = set()
    for dilemma in dilemmas:
        if dilemma.id in seen:
            raise InputError(f"{path}: two dilemmas have the id {dilemma.id!r}")
        seen.add(dilemma.id)
    people = tuple(_person(t, n, path) for n, t in enumerate(_tables(data, "person", path), 1))
    if len({p.who for p in people}) != len(people):
        raise InputError(f"{path}: two [[person]] tables have the same 'who'")
    for person in people:
        unknown_ids = sorted(set(person.never_with) - seen)
        if unknown_ids:
            raise InputError(
                f"{path}: person {person.who!r} 'never_with' names unknown dilemma "
                f"{unknown_ids[0]!r}"
            )
    for dilemma in dilemmas:
        if all(dilemma.id in person.never_with for person in people):
            raise InputError(f"{path}: no person is left for dilemma {dilemma.id!r} (never_with)")
    return Taxonomy(
        dilemmas=dilemmas,
        people=people,
        inclinations=_meanings(data, "inclinations", path),
        asks=_meanings(data, "asks", path),
        followups=_meanings(data, "followups", path),
        turns=_turns(data, path),
        fingerprint=fingerprint(text),
    )


def check_mapping(taxonomy: Taxonomy, constitution: Constitution, path: Path) -> None:
    """Every section a dilemma names exists in this constitution (one line if not)."""
    known = set(constitution.slugs)
    for dilemma in taxonomy.dilemmas:
        for slug in dilemma.sections:
            if slug not in known:
                raise InputError(
                    f"{path}: dilemma {dilemma.id!r} names section {slug!r}, which "
                    f"{constitution.source} does not have (it has: {', '.join(constitution.slugs)})"
                )


def load_advice_inputs(constitution: Path, dilemmas: Path) -> AdviceInputs:
    loaded = load_constitution(constitution)
    taxonomy = load_taxonomy(dilemmas)
    check_mapping(taxonomy, loaded, dilemmas)
    return AdviceInputs(constitution=loaded, taxonomy=taxonomy)
