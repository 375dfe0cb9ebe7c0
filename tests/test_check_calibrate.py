"""`storyloom check` (the kind's gates on text files) and `storyloom calibrate` (the judge
over the shipped gold set) through the CLI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyloom.cli.main import cli
from storyloom.stories.inputs import InputError
from storyloom.stories.story.calibration import gold_labels_path, load_gold
from storyloom.stories.story.inputs import load_inputs

GOLD = gold_labels_path().parent


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def test_check_exits_0_on_clean_files_and_says_which_gates_it_skipped() -> None:
    result = run("check", GOLD / "clean-01-refund.md", GOLD / "control-01-migration-log.md")
    assert result.exit_code == 0, result.output
    assert "clean-01-refund.md: clean" in result.output
    assert "skipped: length (needs --length BAND)" in result.output
    assert "skipped: names (needs --persona or --persona-name)" in result.output


def test_check_exits_1_and_prints_each_finding(tmp_path: Path) -> None:
    story = tmp_path / "story.md"
    story.write_text("# T\n\nUser: hi\nAssistant: hello, [Name].\n\nSure, Claude said and left")
    result = run("check", story, "--persona-name", "Wren", "--length", "short")
    assert result.exit_code == 1, result.output
    for kind in ("length:", "chat_format:", "placeholder:", "truncated:", "other_name:"):
        assert f"  {kind}" in result.output
    assert "skipped" not in result.output


def test_check_exits_2_on_bad_input(tmp_path: Path) -> None:
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\x00\x01")
    cases = [
        (["check", tmp_path / "missing.md"], "missing.md: text file not found"),
        (["check", binary], "b.md: text file is binary"),
        (["check", GOLD / "clean-01-refund.md", "--length", "huge"], "Invalid value"),
        (["check", GOLD / "clean-01-refund.md", "--kind", "poems"], "unknown kind 'poems'"),
        (
            ["check", GOLD / "clean-01-refund.md", "--persona-name", "A", "--persona", binary],
            "not both",
        ),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output


def test_every_shipped_gold_story_passes_the_gates_unless_labelled_with_one() -> None:
    labels = tomllib.loads(gold_labels_path().read_text())
    gated = {
        s["file"] for s in labels["story"] if any(f.startswith("gate:") for f in s.get("fails", []))
    }
    clean = [GOLD / s["file"] for s in labels["story"] if s["file"] not in gated]
    result = run("check", *clean, "--persona-name", "Wren", "--length", "short")
    assert result.exit_code == 0, result.output
    assert len(clean) >= 30 and len(labels["story"]) - len(clean) == len(gated)


def test_the_gold_set_covers_every_defect_the_issue_names() -> None:
    inputs = load_inputs()
    gold = load_gold(gold_labels_path(), inputs.constitution.slugs)
    roles = [story.role for story in gold.stories]
    assert roles.count("clean") >= 20 and roles.count("control") >= 2
    defects = {entry["defect"] for entry in tomllib.loads(gold_labels_path().read_text())["story"]
               if entry["role"] == "defect"}  # fmt: skip
    assert len(defects) == 10


def test_calibrate_on_the_scripted_backend_prints_every_figure() -> None:
    result = run("calibrate", "--backend", "scripted")
    assert result.exit_code == 0, result.output
    assert "33 gold stories" in result.output and "2 sample(s)" in result.output
    # the fake judge scores everything 4: it catches nothing, fails nothing, always agrees
    assert re.search(r"ending_without_moral\s+2\s+0\s+0%", result.output)
    assert re.search(r"gate:other_name\s+1\s+1\s+100%", result.output)
    assert "False-fail rate on clean stories and controls: 0/22 (0%)" in result.output
    assert "Agreement between two samples: 100% of criterion pass/fail calls" in result.output


def test_bad_gold_labels_are_one_line(tmp_path: Path) -> None:
    labels = tmp_path / "labels.toml"
    labels.write_text('persona_name = "Wren"\n[[story]]\nfile = "x.md"\nrole = "clean"\n')
    with pytest.raises(InputError, match=r"labels.toml: story 1 needs 'file', 'role'"):
        load_gold(labels, ("honesty",))
    result = run("calibrate", "--backend", "scripted", "--gold", labels)
    assert result.exit_code == 1 and "story 1 needs" in result.output
