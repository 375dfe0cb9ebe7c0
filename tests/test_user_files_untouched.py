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
    """The one error line (the run's header line may stand before it), no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
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
        (lambda c: {**c, "settings": {**c["settings"], "dedupe_threshold": 7}}, "threshold"),
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


def _finished_run(tmp_path: Path, count: int = 3) -> Path:
    run = tmp_path / "run"
    made = subprocess.run(
        generate_argv(run, count), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )
    assert made.returncode == 0, made.stderr
    return run


def _rerun(run: Path, count: int = 4) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        generate_argv(run, count), capture_output=True, text=True, timeout=120, env=scripted_env(0)
    )


def _snapshot(run: Path) -> dict[str, bytes]:
    names = ("corpus.jsonl", "rejected.jsonl", "usage.jsonl", "run.json")
    return {name: (run / name).read_bytes() for name in names if (run / name).exists()}


def test_a_story_id_appended_twice_is_refused_naming_file_line_and_id(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    first = corpus.read_text().splitlines()[0]
    corpus.write_text(corpus.read_text() + first + "\n")
    before = _snapshot(run)
    result = _rerun(run)
    assert result.returncode == 1
    line = _error_line(result)
    story_id = json.loads(first)["id"]
    assert "corpus.jsonl: line 4 repeats item id" in line and story_id in line
    assert _snapshot(run) == before


def test_a_story_in_both_corpus_and_rejected_is_refused(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    first = (run / "corpus.jsonl").read_text().splitlines()[0]
    record = json.loads(first)
    rejected = {"id": record["id"], "reason": "max_revisions", "detail": "", "findings": []}
    with (run / "rejected.jsonl").open("a") as handle:
        handle.write(json.dumps(rejected) + "\n")
    before = _snapshot(run)
    result = _rerun(run)
    assert result.returncode == 1
    assert "which" in _error_line(result) and "also holds" in _error_line(result)
    assert _snapshot(run) == before


def test_a_corpus_line_without_text_stops_before_any_call(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    lines = corpus.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["text"]
    corpus.write_text("\n".join([lines[0], json.dumps(broken), *lines[2:]]) + "\n")
    for journal in run.glob("dedupe-*.jsonl"):
        journal.unlink()
    before = _snapshot(run)
    result = _rerun(run, 6)
    assert result.returncode == 1
    line = _error_line(result)
    assert "corpus.jsonl" in line and "line 2" in line and "text" in line
    assert _snapshot(run) == before  # usage.jsonl too: no call was paid for


def test_a_damaged_middle_line_of_the_ledger_names_file_and_line(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    usage = run / "usage.jsonl"
    lines = usage.read_text().splitlines()
    lines[2] = '{"story_id": '
    usage.write_text("\n".join(lines) + "\n")
    before = _snapshot(run)
    result = _rerun(run)
    assert result.returncode == 1
    line = _error_line(result)
    assert "usage.jsonl" in line and "line 3" in line
    assert _snapshot(run) == before


def test_only_a_torn_last_line_is_cut_and_its_bytes_are_kept_aside(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    torn = b'{"id": "run/9", "text": "half a li'
    corpus.write_bytes(corpus.read_bytes() + torn)
    result = _rerun(run, 3)
    assert result.returncode == 0, result.stderr
    assert (run / "corpus.jsonl.torn").read_bytes().rstrip(b"\n") == torn
    assert "corpus.jsonl.torn" in result.stderr
    assert all(json.loads(line) for line in corpus.read_text().splitlines())


def test_a_damaged_last_line_that_is_whole_is_an_error_not_a_cut(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    corpus.write_bytes(corpus.read_bytes() + b"edited by hand\n")
    before = _snapshot(run)
    result = _rerun(run, 3)
    assert result.returncode == 1
    assert "corpus.jsonl" in _error_line(result) and "line 4" in _error_line(result)
    assert _snapshot(run) == before
