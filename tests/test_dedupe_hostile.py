"""`storyloom dedupe` given what a hostile or careless user gives it: a mistyped
--id-field (in this process), and a pipe instead of a file (a real process, reading its
own stdin). The full disk is in test_disk_full.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_process import files_of, one_error_line, scripted_env
from cli_runner import error_line, invoke


def _corpus(path: Path) -> bytes:
    texts = ["the lighthouse keeper counted ships every night " * 6] * 2 + [
        f"a different story number {i} about gardens and rain and letters " * 5 for i in range(4)
    ]
    data = "".join(json.dumps({"id": f"doc-{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    path.write_text(data)
    return data.encode()


def test_an_id_field_the_first_record_lacks_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    _corpus(source)
    before = files_of(tmp_path)
    result = invoke(
        "dedupe", source, tmp_path / "out.jsonl", "--id-field", "typo",
        "--clusters", tmp_path / "removed.jsonl",
    )  # fmt: skip
    assert result.exit_code == 1
    line = error_line(result)
    assert f"{source}:1: id field 'typo' is missing" in line and "--id-field" in line
    assert files_of(tmp_path) == before


def test_the_default_id_field_may_be_absent(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": f"doc {i} " * 20}) + "\n" for i in range(3)))
    result = invoke("dedupe", source, tmp_path / "out.jsonl", "--quiet")
    assert result.exit_code == 0, result.output


def _dedupe_from_a_pipe(source: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`storyloom dedupe /dev/stdin OUT` fed by `cat SOURCE |` (and `<(cat SOURCE)` is the
    same: a path naming a pipe)."""
    with subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE) as cat:
        result = subprocess.run(
            [sys.executable, "-m", "storyloom.cli", "dedupe", *args, str(out)],
            stdin=cat.stdout,
            capture_output=True,
            text=True,
            timeout=120,
            env=scripted_env(0),
        )
    return result


def test_a_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    data = _corpus(source)
    from_file = invoke("dedupe", source, tmp_path / "file.jsonl", "--quiet")
    assert from_file.exit_code == 0, from_file.output
    result = _dedupe_from_a_pipe(source, tmp_path / "pipe.jsonl", "/dev/stdin")
    assert result.returncode == 0, result.stderr
    assert "documents read" in result.stdout and " 6 " in result.stdout
    assert (tmp_path / "pipe.jsonl").read_bytes() == (tmp_path / "file.jsonl").read_bytes()
    assert len((tmp_path / "pipe.jsonl").read_bytes().splitlines()) == 5
    assert source.read_bytes() == data


def test_a_process_substitution_path_is_read(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    _corpus(source)
    out = tmp_path / "out.jsonl"
    script = f'exec "$0" -m storyloom.cli dedupe <(cat "{source}") "{out}" --quiet'
    result = subprocess.run(
        ["bash", "-c", script, sys.executable], capture_output=True, text=True,
        timeout=120, env=scripted_env(0),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(out.read_bytes().splitlines()) == 5


def test_an_empty_pipe_says_so_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = _dedupe_from_a_pipe(empty, tmp_path / "out.jsonl", "/dev/stdin")
    assert result.returncode == 1
    assert "holds no documents" in one_error_line(result.stderr)
    assert not (tmp_path / "out.jsonl").exists()
