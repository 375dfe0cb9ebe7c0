"""`storyloom claims extract`: writes a claims file that loads as `generate` reads it,
with the scripted backend answering through the documents kind's fake responder; never
replaces a file unasked, never writes over its input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from storyloom.cli.main import cli
from storyloom.stories.constitution import load_constitution
from storyloom.stories.documents.inputs import documents_sample, load_claims


def _extract(*args: str) -> object:
    return CliRunner().invoke(cli, ["claims", "extract", "--backend", "scripted", *args])


def test_extract_writes_five_to_fifteen_claims_per_section_that_load(tmp_path: Path) -> None:
    out = tmp_path / "claims.jsonl"
    result = _extract("--out", str(out))
    assert result.exit_code == 0, result.output
    constitution = load_constitution(documents_sample("constitution"))
    claims = load_claims(out, constitution)
    for slug in constitution.slugs:
        assert 5 <= len(claims.for_section(slug)) <= 15
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"id", "section", "claim", "reason", "hard_case"}
    assert first["id"] == f"{constitution.slugs[0]}/1"
    assert "review them" in result.output


def test_extract_refuses_to_replace_a_file_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "claims.jsonl"
    out.write_text("my reviewed claims\n")
    refused = _extract("--out", str(out))
    assert refused.exit_code == 1
    assert f"{out}: already exists; pass --force" in refused.output
    assert out.read_text() == "my reviewed claims\n"
    forced = _extract("--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert out.read_text() != "my reviewed claims\n"


def test_extract_never_writes_over_its_constitution(tmp_path: Path) -> None:
    constitution = tmp_path / "mine.md"
    constitution.write_text("# Mine\n\n## Candour\nThe AI says what it thinks.\n")
    before = constitution.read_bytes()
    result = _extract("--constitution", str(constitution), "--out", str(constitution), "--force")
    assert result.exit_code == 1
    assert "is an input of this command" in result.output
    assert constitution.read_bytes() == before


def test_a_bad_constitution_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    constitution = tmp_path / "flat.md"
    constitution.write_text("no sections here\n")
    out = tmp_path / "claims.jsonl"
    result = _extract("--constitution", str(constitution), "--out", str(out))
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"Error: {constitution}: constitution has no '## ' sections (one principle group each)"
    )
    assert not out.exists()
