"""`storyloom check` (the kind's gates on text files) and `storyloom calibrate` (the judge
over the shipped gold set; for advice, the comparison judge's position and length bias,
with deliberately biased judges the audit must catch)."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import ScriptedBackend
from storyloom.cli.main import cli
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.advice.transcript import draft_text
from storyloom.stories.calibration import (
    ComparisonAudit,
    audit_comparisons,
    audit_lines,
    make_pairs,
)
from storyloom.stories.inputs import InputError
from storyloom.stories.judging import comparative_reply
from storyloom.stories.kind import ItemView
from storyloom.stories.registry import get_kind
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
    with pytest.raises(InputError, match=r"labels.toml: line 2: story 1 needs 'file', 'role'"):
        load_gold(labels, ("honesty",))
    result = run("calibrate", "--backend", "scripted", "--gold", labels)
    assert result.exit_code == 1 and "line 2: story 1 needs" in result.output


_HEAD = 'persona_name = "Wren"\n'
_ENTRY = 'file = "clean-01-refund.md"\nrole = "clean"\nsections = ["honesty"]\n'


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (_HEAD + "story = [1, 2]\n", "line 2: story 1 is not a table"),
        (_HEAD + "story = [[1], [2]]\n", "line 2: story 1 is not a table"),
        (_HEAD + 'length = ["short"]\n[[story]]\n' + _ENTRY, "unknown length band ['short']"),
        (_HEAD + "[[story]]\n" + _ENTRY + "[[story]]\nfile = 3\n", "line 6: story 2 needs"),
        (_HEAD + "[[story]]\n" + _ENTRY.replace('["honesty"]', '[["honesty"]]'),
         "line 2: story 1 needs"),
    ],
)  # fmt: skip
def test_malformed_gold_labels_are_one_line_naming_file_and_line(
    tmp_path: Path, labels: str, message: str
) -> None:
    (tmp_path / "clean-01-refund.md").write_text((GOLD / "clean-01-refund.md").read_text())
    path = tmp_path / "labels.toml"
    path.write_text(labels)
    result = run("calibrate", "--backend", "scripted", "--gold", path)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert f"Error: {path}: {message}" in result.output


def test_a_misspelled_criterion_label_is_refused_naming_file_line_and_label(
    tmp_path: Path,
) -> None:
    shipped = tomllib.loads(gold_labels_path().read_text())["story"]
    defect = next(entry for entry in shipped if entry.get("fails") == ["Honesty"])
    for name in ("clean-01-refund.md", defect["file"]):
        (tmp_path / name).write_text((GOLD / name).read_text())
    path = tmp_path / "labels.toml"
    path.write_text(
        _HEAD + "[[story]]\n" + _ENTRY + "\n[[story]]\n"
        f'file = "{defect["file"]}"\nrole = "defect"\n'
        f"sections = {defect['sections']!r}\n".replace("'", '"') + 'fails = ["Honsety"]\n'
    )  # fmt: skip
    result = run("calibrate", "--backend", "scripted", "--gold", path)
    assert result.exit_code == 1, result.output
    assert f"Error: {path}: line 11: story {defect['file']!r} fails unknown criterion " \
        "'Honsety'" in result.output  # fmt: skip
    assert "'Honesty'" in result.output  # what it could have been


# --- the comparison judge's audit (advice) ---------------------------------------------


def _pairs(lengths: list[tuple[int, int]]) -> list[ItemView]:
    """Advice pairs made through the scripted path, then given replies of the given
    (rewrite, first draft) lengths in words, so which answer is longer is known."""
    kind = get_kind("advice")
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings(rewrite="always")
    made, unmade = asyncio.run(
        make_pairs(ScriptedBackend(responder=kind.fake_reply), kind, inputs, settings, len(lengths))
    )
    assert unmade == 0 and len(made) == len(lengths)
    pairs = []
    for item, (rewrite, draft) in zip(made, lengths, strict=True):
        turns = len(item.draw["moves"])
        assert item.draft is not None
        pairs.append(
            replace(
                item,
                draft=replace(
                    item.draft, text=draft_text([" ".join(["better"] * rewrite)] * turns)
                ),
                drafts=(
                    replace(item.drafts[0], text=draft_text([" ".join(["plain"] * draft)] * turns)),
                ),
            )
        )
    return pairs


def _versions(request: CompletionRequest) -> tuple[str, str]:
    user = request.messages[-1].content
    a, b = user.split("# Version A\n", 1)[1].split("\n\n# Version B\n", 1)
    return a, b


def _preferring(slot: Callable[[str, str], str]) -> Callable[[CompletionRequest], Any]:
    """A judge that reads only the two versions and picks `slot(a, b)`, scoring both 4."""

    def reply(request: CompletionRequest) -> Any:
        criteria = list(request.metadata["criteria"])
        better = slot(*_versions(request))
        rewrite = request.metadata["rewrite_label"]
        winner = "rewrite" if better == rewrite else "draft"
        return comparative_reply(
            dict.fromkeys(criteria, 4), dict.fromkeys(criteria, 4), rewrite, winner
        )

    return reply


def _audit(pairs: list[ItemView], responder: Callable[[CompletionRequest], Any]) -> ComparisonAudit:
    kind = get_kind("advice")
    backend = ScriptedBackend(responder=responder)
    return asyncio.run(audit_comparisons(backend, kind, pairs, GenerationSettings()))


LENGTHS = [(80, 40), (40, 80), (90, 30), (30, 90), (70, 50), (50, 70), (60, 20), (20, 60)]


def test_the_audit_catches_a_judge_that_prefers_slot_a() -> None:
    audit = _audit(_pairs(LENGTHS), _preferring(lambda a, b: "A"))
    figures = audit.figures()
    assert figures["judgments"] == 16 and figures["pairs"] == 8
    assert figures["slot A win rate"] == 1.0
    assert figures["rewrite win rate shown as A"] == 1.0
    assert figures["rewrite win rate shown as B"] == 0.0
    assert figures["same winner in both orders"] == 0.0
    assert figures["position bias"] and not figures["length bias"]
    assert "Bias found (p < 0.05): position" in audit_lines(audit)


def test_the_audit_catches_a_judge_that_prefers_the_longer_answer() -> None:
    audit = _audit(_pairs(LENGTHS), _preferring(lambda a, b: "A" if len(a) > len(b) else "B"))
    figures = audit.figures()
    assert figures["longer answer win rate"] == 1.0
    assert figures["slot A win rate"] == 0.5 and figures["same winner in both orders"] == 1.0
    assert figures["length bias"] and not figures["position bias"]
    assert "Bias found (p < 0.05): length" in audit_lines(audit)


def test_a_judge_that_sees_the_better_answer_shows_no_bias() -> None:
    """The rewrite wins wherever it is shown and whether it is longer or shorter."""
    audit = _audit(_pairs(LENGTHS), _preferring(lambda a, b: "A" if "better" in a else "B"))
    figures = audit.figures()
    assert figures["slot A win rate"] == 0.5 and figures["longer answer win rate"] == 0.5
    assert figures["same winner in both orders"] == 1.0
    assert not figures["position bias"] and not figures["length bias"]
    assert "No position or length bias found (p < 0.05)" in audit_lines(audit)


def test_calibrate_audits_the_advice_comparison_on_the_scripted_backend() -> None:
    result = run("calibrate", "--kind", "advice", "--backend", "scripted", "--pairs", "6")
    assert result.exit_code == 0, result.output
    assert "6 advice pairs" in result.output and "judged in both orders" in result.output
    assert "Pairs judged in both orders: 6 (12 judgments; 0 pair(s) could not be made" in (
        result.output
    )
    # the fake judge always prefers the rewrite: each slot wins exactly half the time
    assert "the answer shown as A won 6/12 (50%" in result.output
    assert "Same winner in both orders: 6/6 pairs (100%)" in result.output
