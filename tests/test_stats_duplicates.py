"""`storyloom stats` on a run whose item ids repeat: it still reports, but warns with
the file, line and id, instead of silently counting more finished stories than planned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_process import files_of, still_there
from cli_runner import finished_run, invoke


@pytest.fixture(scope="module")
def made_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finished_run(tmp_path_factory.mktemp("made") / "run", 3)


@pytest.fixture
def run(made_run: Path, tmp_path: Path) -> Path:
    """A fresh copy of one finished 3-story run (generating it once is the slow part)."""
    return Path(shutil.copytree(made_run, tmp_path / "run"))


def test_stats_warns_on_an_id_appended_twice_and_touches_nothing(run: Path) -> None:
    corpus = run / "corpus.jsonl"
    first = corpus.read_text().splitlines()[0]
    corpus.write_text(corpus.read_text() + first + "\n")
    before = files_of(run)
    result = invoke("stats", run)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    story_id = json.loads(first)["id"]
    assert warnings == [
        f"Warning: {corpus}: line 4 repeats item id {story_id!r} (first on line 1); "
        "the counts include it twice"
    ]
    assert still_there(before, run)


def test_stats_warns_on_an_id_in_both_corpus_and_rejected(run: Path, tmp_path: Path) -> None:
    record = json.loads((run / "corpus.jsonl").read_text().splitlines()[1])
    rejected = run / "rejected.jsonl"
    lines = rejected.read_text().splitlines() if rejected.exists() else []
    entry = {"id": record["id"], "reason": "max_revisions", "detail": "", "findings": []}
    rejected.write_text("\n".join([*lines, json.dumps(entry)]) + "\n")
    result = invoke("stats", run, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    expected = (
        f"{rejected}: line {len(lines) + 1} repeats item id {record['id']!r} "
        f"(first on {run / 'corpus.jsonl'}: line 2); the counts include it twice"
    )
    assert f"Warning: {expected}" in result.stderr.splitlines()
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == [expected]


def test_a_clean_run_has_no_warning(run: Path) -> None:
    result = invoke("stats", run)
    assert result.exit_code == 0 and "Warning" not in result.stderr
