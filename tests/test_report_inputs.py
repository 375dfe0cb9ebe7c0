"""`storyloom stats` on inputs other than a tidy finished run: bare corpora, runs in
progress, odd or missing fields, and bad input (one line naming the file and problem)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from jsonl_files import write_jsonl
from stats_cli import run_stats, stats_json

from storyloom.report import names
from storyloom.report.compute import StatsOptions, compute_stats
from storyloom.report.html import render_html
from storyloom.report.source import open_input
from storyloom.report.tokens import TokenCounter, count_tokens

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "run"
STORY = "Title\n\nMara opened the door. *Careful now,* she thought, and waited for Tomas.\n"


def _error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_bare_corpus_with_only_text(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": STORY}, {"text": STORY + " Again."}])
    report = stats_json(tmp_path, [str(corpus)])
    assert report["source"]["kind"] == "corpus"
    assert report["cost"] is None
    assert report["counts"]["emitted"] == 2
    assert report["counts"]["planned"] is None
    assert report["counts"]["revision_rounds"] == {}
    assert report["coverage"]["heatmap"] is None
    assert report["quality"]["first_pass_rate"] is None
    assert list(report["size"]["length_bands"]) == ["n/a"]
    # no metadata: the monologue share is measured from the text (2 of 13 and 2 of 14 words)
    monologue = report["diversity"]["monologue_share"]
    assert (monologue["min"], monologue["max"]) == (0.1429, 0.1538)
    assert report["diversity"]["names"]["top"][0]["value"] == "Tomas"


def test_terminal_tables_show_na_for_unknowns(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": STORY}])
    result = run_stats([str(corpus), "--full"])
    assert result.exit_code == 0, result.output
    for heading in ("Counts", "Size", "Cost", "Quality", "Coverage", "Diversity"):
        assert heading in result.output
    assert "usage ledger" in result.output and "n/a" in result.output


def test_nested_text_field(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"doc": {"body": STORY}}])
    report = stats_json(tmp_path, [str(corpus), "--text-field", "doc.body"])
    assert report["size"]["words"]["total"] == 13.0


def test_missing_text_field_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": STORY}, {"content": STORY}])
    message = _error(run_stats([str(corpus)]))
    assert str(corpus) in message and "line 2" in message and "'text'" in message
    assert "--text-field" in message


def test_invalid_json_in_the_middle_is_an_error(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps({"text": STORY}) + "\n{oops\n" + json.dumps({"text": STORY}) + "\n"
    )
    message = _error(run_stats([str(corpus)]))
    assert str(corpus) in message and "line 2 is not valid JSON" in message


def test_non_object_line_is_an_error(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('["a list"]\n')
    assert "line 1 is not a JSON object" in _error(run_stats([str(corpus)]))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing", "no such file or directory"),
        (lambda p: p, "not a run directory"),
    ],
)
def test_bad_paths(tmp_path: Path, make: Any, expected: str) -> None:
    target = make(tmp_path)
    message = _error(run_stats([str(target)]))
    assert str(target) in message and expected in message


def test_unreadable_run_config(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{not json")
    message = _error(run_stats([str(tmp_path)]))
    assert "run.json" in message and "unreadable" in message


def test_run_in_progress_with_torn_last_lines(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    for name in ("corpus.jsonl", "rejected.jsonl", "usage.jsonl"):
        with (run / name).open("a", encoding="utf-8") as handle:
            handle.write('{"id": "fx/8", "te')  # killed mid-write: no newline
    report = stats_json(tmp_path, [str(run)])
    assert report["counts"]["emitted"] == 4
    assert report["counts"]["rejected"] == 3
    assert report["cost"]["total"]["calls"] == 11
    assert report["source"]["skipped_lines"] == 3
    assert any("torn" in note for note in report["notes"])


def test_run_just_started_has_no_documents(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIXTURE / "run.json", run / "run.json")
    report = stats_json(tmp_path, [str(run)])
    assert report["counts"]["finished"] == 0
    assert report["size"]["words"] == {
        "count": 0,
        "total": None,
        "mean": None,
        "min": None,
        "median": None,
        "p90": None,
        "max": None,
    }
    assert report["diversity"]["similarity"] is None
    assert any("no usage ledger" in note for note in report["notes"])
    html = render_html(compute_stats(open_input(run), StatsOptions()))
    assert "n/a" in html


def test_odd_field_types_never_crash(tmp_path: Path) -> None:
    odd = {
        "id": 7,
        "text": STORY,
        "metadata": {
            "axes": "setting=library",
            "scores": [4, 5],
            "revisions": "two",
            "first_pass": "yes",
            "sections": "honesty",
            "persona": None,
            "monologue_share": "high",
            "gate_findings": {"kind": "length"},
        },
    }
    corpus = write_jsonl(tmp_path / "c.jsonl", [odd, {"text": STORY, "metadata": None}])
    report = stats_json(tmp_path, [str(corpus)])
    assert report["counts"]["emitted"] == 2
    assert report["counts"]["revision_rounds"] == {"n/a": 1}
    assert report["quality"]["criteria"] == {}
    assert report["quality"]["judged"] == 0
    assert report["coverage"]["persona_names"] == {}


def test_heatmap_axes_option(tmp_path: Path) -> None:
    report = stats_json(tmp_path, [str(FIXTURE), "--axes", "tone,theme"])
    heat = report["coverage"]["heatmap"]
    assert (heat["x_axis"], heat["y_axis"]) == ("tone", "theme")
    # emitted: warm/boundary x3 (fx/0, fx/2, fx/3), tense/flattery x1 (fx/1)
    assert heat["counts"] == [[3, 0], [0, 1]]


def test_unknown_heatmap_axes_leave_a_note(tmp_path: Path) -> None:
    report = stats_json(tmp_path, [str(FIXTURE), "--axes", "setting,weather"])
    assert report["coverage"]["heatmap"] is None
    assert any("weather" in note for note in report["notes"])


@pytest.mark.parametrize("value", ["setting", "setting,setting", "a,b,c", ","])
def test_bad_axes_option_is_a_usage_error(value: str) -> None:
    result = run_stats([str(FIXTURE), "--axes", value])
    assert result.exit_code == 2
    assert "two different axis names" in result.output


def test_sample_limits_the_sampled_metrics_and_says_so(tmp_path: Path) -> None:
    report = stats_json(tmp_path, [str(FIXTURE), "--sample", "2"])
    assert report["diversity"]["sample_documents"] == 2
    assert report["diversity"]["similarity"]["pairs"] == 1
    assert report["size"]["documents"] == 4  # size and openings still cover every document
    assert report["diversity"]["opening_distinct"] == 3
    assert any("sample of 2 of 4 documents" in note for note in report["notes"])


def test_planned_count_when_the_config_records_it(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    config = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**config, "count": 10}))
    assert stats_json(tmp_path, [str(run)])["counts"]["planned"] == 10


def test_edited_constitution_is_not_used_for_section_titles(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    with (run / "constitution.md").open("a", encoding="utf-8") as handle:
        handle.write("\n## Added later\nA section the run never saw.\n")
    report = stats_json(tmp_path, [str(run)])
    assert "added-later" not in report["quality"]["sections"]
    assert report["coverage"]["uncovered_sections"] == []


def test_unwritable_output_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "out.json"
    message = _error(run_stats([str(FIXTURE), "--json", str(target)]))
    assert str(target) in message and "cannot write" in message


def test_trained_pipeline_is_preferred_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy.util  # the report imports spaCy on first use, so patch it where it lives

    monkeypatch.setattr(spacy.util, "get_installed_models", lambda: ["en_core_web_md"])
    assert names.trained_pipeline_name() == "en_core_web_md"
    monkeypatch.setattr(spacy.util, "get_installed_models", lambda: ["de_core_news_sm"])
    assert names.trained_pipeline_name() is None


def test_heuristic_names_skip_sentence_starts_and_common_words() -> None:
    body = (
        "Hope was gone. Later, Wren asked Priya about the Window. A window opened.\n\n"
        "Then she called Tomas, and Tomas came; Priya did not."
    )
    # "Hope", "Later", "A", "Then": sentence or paragraph starts. "Window": used in lower case.
    assert names.heuristic_names(body) == {"Wren", "Priya", "Tomas"}


def test_token_counts_in_worker_processes_match_one_process() -> None:
    texts = [f"Doc {i}: Mara didn't wait.\n\n*Fine,* she said {i} times." for i in range(30)]
    batches = [texts[i : i + 7] for i in range(0, len(texts), 7)]
    with TokenCounter(workers=2) as parallel:
        for batch in batches:
            parallel.submit(batch)
        counted = parallel.finish()
    # "Doc 3 : Mara did n't wait ." = 8; "* Fine , * she said 3 times ." = 9
    assert sorted(counted) == [17] * 30
    assert sorted(counted) == sorted(count_tokens(texts))
