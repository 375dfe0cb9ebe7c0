"""The documents kind's inputs: the shipped samples, and one plain line naming the file
(and line) for every bad identity or claims file."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from storyloom.stories.constitution import load_constitution
from storyloom.stories.documents.inputs import (
    documents_sample,
    load_claims,
    load_documents_inputs,
    load_identity,
    parse_claims,
)
from storyloom.stories.inputs import InputError

#: Sections the shipped constitution gains with issue 12 (slugs assumed until it lands):
#: the sample claims cover them already, and drop them while the constitution lacks them.
UPCOMING_SECTIONS = {"helpfulness", "whom-the-ai-answers-to", "cautious-legitimate-action"}

GOOD = (
    '{"id": "honesty/1", "section": "honesty", "claim": "It tells the truth.", '
    '"reason": "Trust.", "hard_case": "A kind lie."}'
)


def test_the_sample_claims_cover_every_sample_section_with_five_to_fifteen() -> None:
    constitution = load_constitution(documents_sample("constitution"))
    claims, _lines = parse_claims(documents_sample("claims"))
    per_section = Counter(claim.section for claim in claims.claims)
    for slug in constitution.slugs:
        assert 5 <= per_section[slug] <= 15, f"{slug} has {per_section[slug]} sample claims"
    assert set(per_section) - set(constitution.slugs) <= UPCOMING_SECTIONS


def test_the_samples_load_together_and_keep_only_the_constitution_s_sections() -> None:
    inputs = load_documents_inputs()
    assert inputs.identity.name == "Wren" and len(inputs.identity.facts) >= 4
    assert {c.section for c in inputs.claims.claims} == set(inputs.constitution.slugs)


def _claims_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ((GOOD, "{not json"), r"line 2 is not valid JSON"),
        ((GOOD, "[1, 2]"), r"line 2 is not a JSON object"),
        (('{"id": "honesty/2", "section": "honesty"}',), r"line 1: claim lacks claim, reason"),
        ((GOOD.replace('{"id"', '{"extra": 1, "id"'),), r"unknown field"),
        ((GOOD.replace('"Trust."', '"  "'),), r"line 1: claim field 'reason' must be a non-empty"),
        ((GOOD.replace("honesty/1", "Honesty 1"),), r"line 1: claim id 'Honesty 1' must look"),
        ((GOOD, "", GOOD), r"line 3: claim id 'honesty/1' is also on line 1"),
        (
            (GOOD, GOOD.replace("honesty/1", "x/1").replace('"honesty"', '"candour"')),
            r"line 2: claim 'x/1' names section 'candour', which .* does not have",
        ),
    ],
)
def test_a_bad_claims_file_is_one_line_naming_file_and_line(
    tmp_path: Path, lines: tuple[str, ...], problem: str
) -> None:
    path = _claims_file(tmp_path, *lines)
    before = path.read_bytes()
    with pytest.raises(InputError) as error:
        load_documents_inputs(claims=path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert re.search(problem, message), message
    assert path.read_bytes() == before


def test_an_empty_claims_file_and_one_for_another_constitution(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match=r"empty"):
        load_documents_inputs(claims=empty)
    other = tmp_path / "other.md"
    other.write_text("# Other\n\n## Frugality\nThe AI spends little.\n")
    with pytest.raises(InputError, match=r"no claim names a section of .*other.md.*claims extract"):
        load_claims(documents_sample("claims"), load_constitution(other), strict=False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = "Wren"\nmade_by = "X"\nsummary = "Y"\n', r"'facts' must be a non-empty list"),
        ('name = ""\nmade_by = "X"\nsummary = "Y"\nfacts = ["a"]\n', r"non-empty string 'name'"),
        ('name = "W"\nmade_by = "X"\nsummary = "Y"\nfacts = ["a"]\nage = 3\n', r"unknown key"),
        ('name = "W\nmade_by', r"invalid TOML"),
    ],
)
def test_a_bad_identity_file_is_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "identity.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as error:
        load_identity(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


def test_inputs_are_fingerprinted_by_name() -> None:
    from storyloom.stories.registry import get_kind

    loaded = get_kind("documents").load_inputs({})
    assert set(loaded.fingerprints) == {"constitution", "identity", "claims"}
    assert loaded.paths["claims"] == str(documents_sample("claims"))
