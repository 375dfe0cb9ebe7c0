"""The documents kind's three inputs: the constitution (the story kind's loader), the
identity of the AI the documents are about (TOML), and the claims file (JSONL, one claim
a line, each with the reason it holds and a hard case).

The claims are what the documents teach, so a claim must name a section the constitution
has: a user's claims file that names another is refused with its file and line. The
shipped sample claims cover the shipped constitution (and sections it is gaining); with
the sample, only claims for sections of the chosen constitution are drawn.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyloom.stories.constitution import Constitution, constitution_sample, load_constitution
from storyloom.stories.inputs import (
    InputError,
    find,
    fingerprint,
    jsonl_lines,
    read_text_file,
    shipped_samples,
)

SAMPLE_FILES = {"identity": "identity.toml", "claims": "claims.jsonl"}
CLAIM_FIELDS = ("id", "section", "claim", "reason", "hard_case")
#: Marks a claim whose hard case is not for children (a lethal dose, a dangerous gas):
#: never drawn for a document type written for children (`catalog.DocumentType`).
ADULTS_ONLY = "adults_only"
_CLAIM_ID = re.compile(r"^[a-z0-9][a-z0-9-]*/[a-z0-9-]+$")


_own_sample = shipped_samples("storyloom.stories.documents", SAMPLE_FILES)


def documents_sample(name: str) -> Path:
    """A shipped sample input of this kind ('constitution', 'identity' or 'claims')."""
    return constitution_sample() if name == "constitution" else _own_sample(name)


@dataclass(frozen=True)
class Identity:
    """Who the documents are about: its name, its maker and the facts of its situation."""

    name: str
    made_by: str
    summary: str
    facts: tuple[str, ...]
    fingerprint: str

    def as_text(self) -> str:
        lines = [f"{self.name}: {self.summary} Made by {self.made_by}."]
        lines.extend(f"- {fact}" for fact in self.facts)
        return "\n".join(lines)


def load_identity(path: Path) -> Identity:
    text = read_text_file(path, "identity")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML in identity file ({exc})") from exc
    unknown = sorted(set(data) - {"name", "made_by", "summary", "facts"})
    if unknown:
        raise InputError(f"{path}: identity has unknown key(s): {', '.join(unknown)}")
    strings = {}
    for key in ("name", "made_by", "summary"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{path}: identity needs a non-empty string '{key}'")
        strings[key] = value.strip()
    facts = data.get("facts")
    if (
        not isinstance(facts, list)
        or not facts
        or not all(isinstance(fact, str) and fact.strip() for fact in facts)
    ):
        raise InputError(
            f"{path}: identity 'facts' must be a non-empty list of non-empty strings "
            "(its situation: instances, memory, training and correction, operators)"
        )
    return Identity(
        name=strings["name"],
        made_by=strings["made_by"],
        summary=strings["summary"],
        facts=tuple(fact.strip() for fact in facts),
        fingerprint=fingerprint(text),
    )


@dataclass(frozen=True)
class Claim:
    """One thing the documents teach about the AI: the claim, why it holds, a hard case."""

    id: str
    section: str
    claim: str
    reason: str
    hard_case: str
    adults_only: bool = False

    def to_dict(self) -> dict[str, str | bool]:
        data: dict[str, str | bool] = {name: getattr(self, name) for name in CLAIM_FIELDS}
        if self.adults_only:
            data[ADULTS_ONLY] = True
        return data


@dataclass(frozen=True)
class ClaimSet:
    claims: tuple[Claim, ...]
    fingerprint: str

    def by_id(self, claim_id: str) -> Claim:
        return find(self.claims, lambda claim: claim.id, claim_id)

    def for_section(self, slug: str) -> tuple[Claim, ...]:
        return tuple(claim for claim in self.claims if claim.section == slug)


def _claim(path: Path, number: int, record: dict[str, Any]) -> Claim:
    where = f"{path}: line {number}:"
    missing = [name for name in CLAIM_FIELDS if name not in record]
    if missing:
        raise InputError(f"{where} claim lacks {', '.join(missing)}")
    unknown = sorted(set(record) - {*CLAIM_FIELDS, ADULTS_ONLY})
    if unknown:
        raise InputError(f"{where} claim has unknown field(s): {', '.join(unknown)}")
    for name in CLAIM_FIELDS:
        value = record[name]
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where} claim field '{name}' must be a non-empty string")
    adults_only = record.get(ADULTS_ONLY, False)
    if not isinstance(adults_only, bool):
        raise InputError(f"{where} claim field '{ADULTS_ONLY}' must be true or false")
    claim = Claim(
        **{name: str(record[name]).strip() for name in CLAIM_FIELDS}, adults_only=adults_only
    )
    if not _CLAIM_ID.match(claim.id):
        raise InputError(
            f"{where} claim id {claim.id!r} must look like '<section-slug>/<name>' "
            "(lowercase letters, digits and dashes)"
        )
    return claim


def parse_claims(path: Path) -> tuple[ClaimSet, dict[str, int]]:
    """The claims of `path` and the line each id is on (for errors found later)."""
    text = read_text_file(path, "claims")
    claims: list[Claim] = []
    lines: dict[str, int] = {}
    for number, record in jsonl_lines(path, text):
        claim = _claim(path, number, record)
        if claim.id in lines:
            raise InputError(
                f"{path}: line {number}: claim id {claim.id!r} is also on line {lines[claim.id]}"
            )
        lines[claim.id] = number
        claims.append(claim)
    if not claims:
        raise InputError(f"{path}: claims file has no claims")
    return ClaimSet(tuple(claims), fingerprint(text)), lines


def load_claims(path: Path, constitution: Constitution, *, strict: bool = True) -> ClaimSet:
    """The claims of `path` for `constitution`. `strict`: a claim naming a section the
    constitution lacks is an error; otherwise (the shipped sample) it is left out."""
    claims, lines = parse_claims(path)
    known = set(constitution.slugs)
    kept: list[Claim] = []
    for claim in claims.claims:
        if claim.section in known:
            kept.append(claim)
        elif strict:
            raise InputError(
                f"{path}: line {lines[claim.id]}: claim {claim.id!r} names section "
                f"{claim.section!r}, which {constitution.source} does not have "
                f"(its sections: {', '.join(constitution.slugs)})"
            )
    if not kept:
        raise InputError(
            f"{path}: no claim names a section of {constitution.source}; write claims for it "
            f"with `storyloom claims extract --constitution {constitution.source} --out FILE` "
            "and pass --claims FILE"
        )
    return ClaimSet(tuple(kept), claims.fingerprint)


@dataclass(frozen=True)
class DocumentsInputs:
    constitution: Constitution
    identity: Identity
    claims: ClaimSet


def load_documents_inputs(
    constitution: Path | None = None, identity: Path | None = None, claims: Path | None = None
) -> DocumentsInputs:
    """The kind's inputs; None means the shipped sample."""
    loaded_constitution = load_constitution(constitution or documents_sample("constitution"))
    return DocumentsInputs(
        constitution=loaded_constitution,
        identity=load_identity(identity or documents_sample("identity")),
        claims=load_claims(
            claims or documents_sample("claims"), loaded_constitution, strict=claims is not None
        ),
    )
