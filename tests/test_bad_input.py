"""Every bad input: one clear line, a non-zero exit, no traceback (unless --debug), and
nothing an earlier start already produced is lost. The rows here are the table in
docs/reliability.md."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import error_line, finished_run, invoke
from click.testing import Result
from messages_api_server import MessagesAPIServer

from storyloom.graph.sinks import JsonlSink, SinkWriteError
from storyloom.stories.story.inputs import sample_path

FAKE_KEY = "sk-ant-test-bad-input-0000"


def generate(run_dir: Path, *extra: str | Path, count: int = 2, **kwargs: object) -> Result:
    return invoke(
        "generate",
        "-n",
        str(count),
        "--backend",
        "scripted",
        "--run-dir",
        run_dir,
        *extra,
        **kwargs,  # type: ignore[arg-type]
    )


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {
        name: (run_dir / name).read_bytes()
        for name in ("corpus.jsonl", "rejected.jsonl", "run.json")
        if (run_dir / name).exists()
    }


@pytest.fixture
def produced(tmp_path: Path) -> Path:
    """A run directory that already holds finished stories."""
    run_dir = finished_run(tmp_path / "run")
    assert (run_dir / "corpus.jsonl").stat().st_size > 0
    return run_dir


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def axes_without(key: str) -> bytes:
    text = sample_path("axes").read_text()
    return text.replace(f"\n{key} =", f"\nnot_an_axis_{key} =", 1).encode()


INPUT_CASES: list[tuple[str, Callable[[Path], list[str | Path]], str]] = [
    (
        "missing constitution",
        lambda d: ["--constitution", d / "nope.md"],
        "nope.md: constitution file not found",
    ),
    (
        "constitution is a directory",
        lambda d: ["--constitution", d],
        "constitution file is a directory",
    ),
    (
        "empty constitution",
        lambda d: ["--constitution", write(d, "empty.md", b"  \n")],
        "empty.md: constitution file is empty",
    ),
    (
        "binary constitution",
        lambda d: ["--constitution", write(d, "bin.md", b"## A\x00\x01\x02")],
        "bin.md: constitution file is binary, expected UTF-8 text",
    ),
    (
        "constitution not UTF-8",
        lambda d: ["--constitution", write(d, "latin.md", "## Café\nbé".encode("latin-1"))],
        "latin.md: constitution file is not UTF-8 text",
    ),
    (
        "constitution without sections",
        lambda d: ["--constitution", write(d, "flat.md", b"Be good.\n")],
        "flat.md: constitution has no '## ' sections",
    ),
    (
        "invalid persona TOML",
        lambda d: ["--persona", write(d, "p.toml", b"name = \n")],
        "p.toml: invalid TOML in persona file",
    ),
    (
        "persona without a name",
        lambda d: ["--persona", write(d, "p.toml", b'pronouns = "she/her"\n')],
        "p.toml: persona needs a non-empty 'name'",
    ),
    (
        "persona with unknown keys",
        lambda d: ["--persona", write(d, "p.toml", b'name = "Wren"\nmood = "x"\n')],
        "p.toml: persona has unknown key(s): mood",
    ),
    (
        "empty axes file",
        lambda d: ["--axes", write(d, "a.toml", b"")],
        "a.toml: axes file is empty",
    ),
    (
        "an empty axis",
        lambda d: ["--axes", write(d, "a.toml", _with_empty_axis("theme"))],
        "a.toml: axis 'theme' is empty",
    ),
    (
        "unknown axis key",
        lambda d: ["--axes", write(d, "a.toml", axes_without("tone"))],
        "a.toml: unknown axis name(s): not_an_axis_tone",
    ),
    (
        "more sections in play than a judgment or review can hold",
        lambda d: ["--axes", write(d, "a.toml", _with_sections_per_story(5))],
        "a.toml: 'sections_per_story' must be a whole number from 1 to 4",
    ),
]


def _with_sections_per_story(count: int) -> bytes:
    text = sample_path("axes").read_text()
    assert "\nsections_per_story = " in text
    head, tail = text.split("\nsections_per_story = ", 1)
    return f"{head}\nsections_per_story = {count}\n{tail.split(chr(10), 1)[1]}".encode()


def _with_empty_axis(axis: str) -> bytes:
    """(Not `setting`: the agentic settings join it, so an empty list of the others is
    a valid axes file.)"""
    lines = sample_path("axes").read_text().splitlines()
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(f"{axis} ="):
            kept.append(f"{axis} = []")
            skipping = not line.rstrip().endswith("]")
            continue
        if skipping:
            skipping = not line.strip().startswith("]")
            continue
        kept.append(line)
    return ("\n".join(kept) + "\n").encode()


@pytest.mark.parametrize(
    ("case", "args", "message"), INPUT_CASES, ids=[case for case, _, _ in INPUT_CASES]
)
def test_bad_input_file(
    produced: Path,
    tmp_path: Path,
    case: str,
    args: Callable[[Path], list[str | Path]],
    message: str,
) -> None:
    before = snapshot(produced)
    line = error_line(generate(produced, *args(tmp_path), count=4))
    assert message in line
    assert snapshot(produced) == before


def test_unreadable_constitution(
    produced: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where chmod 000 still reads: make the read itself fail.
    target = write(tmp_path, "locked.md", b"## A\nBe kind.\n## B\nBe honest.\n")
    real_read = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    before = snapshot(produced)
    line = error_line(generate(produced, "--constitution", target, count=4))
    assert "locked.md: cannot read constitution file (Permission denied)" in line
    assert snapshot(produced) == before


NUMBER_CASES = [
    (["-n", "0"], "Invalid value for '-n' / '--count': 0 is not in the range x>=1"),
    (["-n", "many"], "Invalid value for '-n' / '--count': 'many' is not a valid integer"),
    (["--concurrency", "0"], "Invalid value for '--concurrency': 0 is not in the range"),
    (["--concurrency", "100000"], "Invalid value for '--concurrency': 100000 is above 512 without"),
    (["--concurrency", "2000000"], "Invalid value for '--concurrency': 2000000 is not in"),
    (["--max-revisions", "-1"], "Invalid value for '--max-revisions': -1 is not in the range"),
    (["--max-revisions", "11"], "Invalid value for '--max-revisions': 11 is not in the range"),
    (["--dedupe-threshold", "0"], "Invalid value for '--dedupe-threshold': 0.0 is not in the"),
    (["--plan-threshold", "1.5"], "Invalid value for '--plan-threshold': 1.5 is not in"),
    (["--premise-threshold", "1.5"], "Invalid value for '--premise-threshold': 1.5 is not in"),
    (["--max-cost", "-1"], "Invalid value for '--max-cost': -1.0 is not in the range x>=0"),
    (["--timeout", "0"], "Invalid value for '--timeout': 0.0 is not in the range 1<=x<=3600"),
    (["--call-timeout", "-5"], "Invalid value for '--call-timeout': -5.0 is not in the range"),
    (["--seed", "x"], "Invalid value for '--seed': 'x' is not a valid integer"),
]


@pytest.mark.parametrize(
    ("args", "message"), NUMBER_CASES, ids=[a[0] + a[1] for a, _ in NUMBER_CASES]
)
def test_invalid_numbers(produced: Path, args: list[str], message: str) -> None:
    before = snapshot(produced)
    result = generate(produced, *args)
    assert result.exit_code == 2
    assert message in error_line(result)
    assert snapshot(produced) == before


def test_unknown_backend(produced: Path) -> None:
    result = invoke("generate", "--backend", "gpt", "--run-dir", produced)
    assert result.exit_code == 2
    assert "Invalid value for '--backend': 'gpt' is not one of" in error_line(result)


def test_model_for_a_backend_that_takes_none(produced: Path) -> None:
    line = error_line(generate(produced, "--model", "claude-x"))
    assert "--model applies to the anthropic and openai backends, not scripted" in line


def test_missing_local_model_file(produced: Path, tmp_path: Path) -> None:
    before = snapshot(produced)
    result = invoke(
        "generate",
        "--backend",
        "llamacpp",
        "--model-path",
        tmp_path / "no.gguf",
        "--run-dir",
        produced,
    )
    assert "no.gguf: GGUF model file not found" in error_line(result)
    assert snapshot(produced) == before


def test_missing_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = invoke("generate", "--backend", "anthropic", "--run-dir", tmp_path / "r")
    assert "ANTHROPIC_API_KEY is not set" in error_line(result)


def test_unknown_anthropic_model_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    with MessagesAPIServer(known_models={"claude-sonnet-5-5"}) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        result = invoke(
            "generate",
            "-n",
            "3",
            "--backend",
            "anthropic",
            "--model",
            "claude-nope",
            "--run-dir",
            tmp_path / "r",
        )
    line = error_line(result)
    assert "model 'claude-nope' was not found (404)" in line
    assert "run stopped" in line


def test_run_dir_under_a_regular_file(tmp_path: Path) -> None:
    # Root can write anywhere, but nobody can create a directory inside a file.
    blocker = write(tmp_path, "blocker", b"a file")
    line = error_line(generate(blocker / "run"))
    assert "blocker/run: cannot create run directory (Not a directory)" in line
    assert blocker.read_bytes() == b"a file"


def test_run_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = write(tmp_path, "runfile", b"precious")
    assert "runfile: run directory is a file" in error_line(generate(blocker))
    assert blocker.read_bytes() == b"precious"


def test_config_changed_on_resume(produced: Path) -> None:
    before = snapshot(produced)
    line = error_line(generate(produced, "--seed", "9"))
    assert "run config changed (settings.seed: 0 -> 9)" in line
    assert "--allow-config-change" in line
    assert snapshot(produced) == before


def test_checkpoint_database_that_is_not_sqlite(produced: Path) -> None:
    database = produced / "checkpoints.sqlite"
    for leftover in ("checkpoints.sqlite-wal", "checkpoints.sqlite-shm"):
        (produced / leftover).unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    before = snapshot(produced)
    line = error_line(generate(produced, count=4))
    assert "checkpoints.sqlite: checkpoint database is corrupted or not SQLite" in line
    assert snapshot(produced) == before


def test_checkpoint_database_damaged_inside(produced: Path) -> None:
    """Damage past the header shows when a story reads it: the run stops, one line."""
    database = produced / "checkpoints.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(database.read_bytes())
    page_size = len(data) // pages
    for page in range(1, pages):  # keep page 0 (header and schema), wreck the rest
        data[page * page_size : (page + 1) * page_size] = b"\xa5" * page_size
    database.write_bytes(bytes(data))
    before = snapshot(produced)
    line = error_line(generate(produced, count=4))
    assert "checkpoints.sqlite" in line
    assert "corrupted" in line or "malformed" in line
    assert snapshot(produced) == before


def test_corpus_line_damaged_by_hand(produced: Path) -> None:
    corpus = produced / "corpus.jsonl"
    lines = corpus.read_bytes().splitlines(keepends=True)
    corpus.write_bytes(b"not json\n" + b"".join(lines))
    before = snapshot(produced)
    line = error_line(generate(produced, count=4))
    assert "corpus.jsonl: line 1 is not valid JSON" in line
    assert snapshot(produced) == before


def test_disk_full_while_writing_the_corpus(
    produced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write fails half-way (ENOSPC): the run stops cleanly with one line, the corpus
    keeps only whole lines, and once there is space again the run finishes exactly once."""
    real_write = os.write

    def full_disk(fd: int, data: bytes | memoryview) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("corpus.jsonl"):
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    before = (produced / "corpus.jsonl").read_bytes()
    monkeypatch.setattr(os, "write", full_disk)
    line = error_line(generate(produced, count=6))
    monkeypatch.undo()
    assert "corpus.jsonl: cannot write (No space left on device)" in line
    assert "run stopped" in line
    after = (produced / "corpus.jsonl").read_bytes()
    assert after == before, "the half-written line was rolled back"

    result = generate(produced, count=6)
    assert result.exit_code == 0, result.output
    ids = [json.loads(x)["id"] for x in (produced / "corpus.jsonl").read_text().splitlines()]
    rejected = produced / "rejected.jsonl"
    if rejected.exists():
        ids += [json.loads(x)["id"] for x in rejected.read_text().splitlines()]
    assert sorted(ids) == sorted(f"run/{i}" for i in range(6))


def test_sink_write_failure_leaves_the_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = JsonlSink(tmp_path / "out.jsonl")
    sink.write({"id": "a", "text": "A."})
    real_write = os.write

    def short_then_full(fd: int, data: bytes | memoryview) -> int:
        real_write(fd, bytes(data[:3]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    with pytest.raises(SinkWriteError, match="No space left on device") as caught:
        sink.write({"id": "b", "text": "B."})
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    assert (tmp_path / "out.jsonl").read_bytes() == b'{"id": "a", "text": "A.", "metadata": {}}\n'
    assert sink.write({"id": "b", "text": "B."}) and "b" in sink.ids


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = invoke(
        "generate",
        "--backend",
        "scripted",
        "--debug",
        "--constitution",
        tmp_path / "nope.md",
        "--run-dir",
        tmp_path / "r",
    )
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "InputError", "raised, so Python prints it"
