"""Nothing a user already had is destroyed: a folder that is not a run, a command's own
input, a run's files (issue 11, data loss). Each case runs the real CLI in a process and
checks the exit code, the one line, and every byte the user had."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import generate_argv, scripted_env


def _storyloom(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storyloom.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=scripted_env(0),
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _users_corpus(path: Path) -> bytes:
    data = "".join(json.dumps({"prompt": f"q{i}", "answer": f"a{i}"}) + "\n" for i in range(1000))
    path.write_text(data)
    return data.encode()


def test_a_folder_with_outputs_but_no_run_json_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    before = _users_corpus(folder / "corpus.jsonl")
    result = subprocess.run(
        generate_argv(folder, 2), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )
    assert result.returncode == 1
    line = _error_line(result)
    assert "corpus.jsonl" in line and "not a storyloom run" in line
    assert (folder / "corpus.jsonl").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["corpus.jsonl"]  # not even a lock


def test_an_empty_run_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = _storyloom(
        "generate", "-n", "1", "--backend", "scripted", "--run-dir", "", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--run-dir" in result.stderr and "must not be empty" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--json", "--html"])
def test_stats_never_writes_over_its_input(tmp_path: Path, flag: str) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "one two three four five"}) + "\n")
    before = corpus.read_bytes()
    for spelling in (str(corpus), str(tmp_path / "." / "c.jsonl")):
        result = _storyloom("stats", str(corpus), flag, spelling)
        assert result.returncode == 1
        assert "is an input of this command" in _error_line(result)
        assert corpus.read_bytes() == before


def test_stats_never_writes_over_a_run_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    made = subprocess.run(
        generate_argv(run, 2), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )
    assert made.returncode == 0, made.stderr
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    for name in ("corpus.jsonl", "rejected.jsonl", "usage.jsonl", "run.json"):
        result = _storyloom("stats", str(run), "--html", str(run / name))
        assert result.returncode == 1
        assert "is a file of the run" in _error_line(result)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: {**c, "count": "ten"}, "count"),
        (lambda c: {**c, "settings": "fast"}, "settings"),
        (lambda c: {**c, "settings": {**c["settings"], "story_dedupe_threshold": 7}}, "threshold"),
        (lambda c: {**c, "colour": "blue"}, "colour"),
    ],
)
def test_a_hand_edited_run_json_is_one_line_naming_the_field(
    tmp_path: Path, edit: object, field: str
) -> None:
    run = tmp_path / "run"
    made = subprocess.run(
        generate_argv(run, 1), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )
    assert made.returncode == 0, made.stderr
    config = run / "run.json"
    config.write_text(json.dumps(edit(json.loads(config.read_text()))))  # type: ignore[operator]
    before = config.read_bytes()
    result = subprocess.run(
        generate_argv(run, 1), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )
    assert result.returncode == 1
    line = _error_line(result)
    assert "run.json" in line and field in line
    assert config.read_bytes() == before


def test_a_truncated_run_json_is_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text('{"name": "run", "backe')
    result = subprocess.run(
        generate_argv(run, 1), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )
    assert result.returncode == 1
    assert "run.json: run config is unreadable" in _error_line(result)
