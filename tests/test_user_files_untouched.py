"""Nothing a user already had is destroyed: a folder that is not a run, a command's own
input, a run's files (issue 11, data loss). Each case runs the CLI (in this process: no
case needs one of its own) and checks the exit code, the one line, and every byte the
user had."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from cli_runner import error_line, finished_run, invoke
from click.testing import Result

GENERATE = ("generate", "--backend", "scripted", "--run-dir")


def _generate(run: Path, count: int) -> Result:
    return invoke(*GENERATE, run, "-n", str(count))


def _users_corpus(path: Path) -> bytes:
    data = "".join(json.dumps({"prompt": f"q{i}", "answer": f"a{i}"}) + "\n" for i in range(1000))
    path.write_text(data)
    return data.encode()


def test_a_folder_with_outputs_but_no_run_json_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    before = _users_corpus(folder / "corpus.jsonl")
    result = _generate(folder, 2)
    assert result.exit_code == 1
    line = error_line(result)
    assert "corpus.jsonl" in line and "not a storyloom run" in line
    assert (folder / "corpus.jsonl").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["corpus.jsonl"]  # not even a lock


def test_an_empty_run_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(*GENERATE, "", "-n", "1", cwd=tmp_path)
    assert result.exit_code == 2
    assert "--run-dir" in result.stderr and "must not be empty" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--json", "--html"])
def test_stats_never_writes_over_its_input(tmp_path: Path, flag: str) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "one two three four five"}) + "\n")
    before = corpus.read_bytes()
    for spelling in (str(corpus), str(tmp_path / "." / "c.jsonl")):
        result = invoke("stats", corpus, flag, spelling)
        assert result.exit_code == 1
        assert "is an input of this command" in error_line(result)
        assert corpus.read_bytes() == before


def test_stats_never_writes_over_a_run_file(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "run")
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    for name in ("corpus.jsonl", "rejected.jsonl", "usage.jsonl", "run.json"):
        result = invoke("stats", run, "--html", run / name)
        assert result.exit_code == 1
        assert "is a file of the run" in error_line(result)
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
    run = finished_run(tmp_path / "run", 1)
    config = run / "run.json"
    config.write_text(json.dumps(edit(json.loads(config.read_text()))))  # type: ignore[operator]
    before = config.read_bytes()
    result = _generate(run, 1)
    assert result.exit_code == 1
    line = error_line(result)
    assert "run.json" in line and field in line
    assert config.read_bytes() == before


def test_a_truncated_run_json_is_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text('{"name": "run", "backe')
    result = _generate(run, 1)
    assert result.exit_code == 1
    assert "run.json: run config is unreadable" in error_line(result)


def _finished_run(tmp_path: Path) -> Path:
    return finished_run(tmp_path / "run", 3)


def _rerun(run: Path, count: int = 4) -> Result:
    return _generate(run, count)


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
    assert result.exit_code == 1
    line = error_line(result)
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
    assert result.exit_code == 1
    assert "which" in error_line(result) and "also holds" in error_line(result)
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
    assert result.exit_code == 1
    line = error_line(result)
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
    assert result.exit_code == 1
    line = error_line(result)
    assert "usage.jsonl" in line and "line 3" in line
    assert _snapshot(run) == before


def test_only_a_torn_last_line_is_cut_and_its_bytes_are_kept_aside(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    torn = b'{"id": "run/9", "text": "half a li'
    corpus.write_bytes(corpus.read_bytes() + torn)
    result = _rerun(run, 3)
    assert result.exit_code == 0, result.output
    assert (run / "corpus.jsonl.torn").read_bytes().rstrip(b"\n") == torn
    assert "corpus.jsonl.torn" in result.stderr
    assert all(json.loads(line) for line in corpus.read_text().splitlines())


def test_a_damaged_last_line_that_is_whole_is_an_error_not_a_cut(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    corpus.write_bytes(corpus.read_bytes() + b"edited by hand\n")
    before = _snapshot(run)
    result = _rerun(run, 3)
    assert result.exit_code == 1
    assert "corpus.jsonl" in error_line(result) and "line 4" in error_line(result)
    assert _snapshot(run) == before


def test_a_last_line_cut_by_hand_is_set_aside_and_said_with_its_item(tmp_path: Path) -> None:
    """It was cut silently; now the summary names the item, the .torn file and how the
    item was made whole (here from its checkpoint: the same bytes, no new call)."""
    run = _finished_run(tmp_path)
    corpus, usage = run / "corpus.jsonl", run / "usage.jsonl"
    whole, paid = corpus.read_bytes(), usage.read_bytes()
    last = whole[whole.rstrip(b"\n").rfind(b"\n") + 1 :]
    corpus.write_bytes(whole[: len(whole) - len(last) // 2])
    result = _rerun(run, 3)
    assert result.exit_code == 0, result.output
    assert (
        f"set aside {corpus}: its last line (item 'run/2', {len(last) - len(last) // 2} bytes) "
        f"was cut short, by a crash mid-write or by hand, and is kept in {corpus}.torn; its "
        "line was written again from its checkpoint (the same text, no new call)"
    ) in " ".join(result.stderr.split())
    assert corpus.read_bytes() == whole and usage.read_bytes() == paid


def test_an_item_cut_by_hand_is_never_made_again_silently(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    (run / "checkpoints.sqlite").unlink()
    corpus.write_bytes(corpus.read_bytes()[:-100])
    result = _rerun(run, 3)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "(item 'run/2'," in said and f"kept in {corpus}.torn" in said
    assert "no checkpoint held it, so it was generated again (new calls, a new text)" in said


def test_a_last_line_whose_newline_an_editor_dropped_is_kept(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    whole = corpus.read_bytes()
    corpus.write_bytes(whole.rstrip(b"\n"))
    usage = (run / "usage.jsonl").read_bytes()
    result = _rerun(run, 3)
    assert result.exit_code == 0, result.output
    assert corpus.read_bytes() == whole and (run / "usage.jsonl").read_bytes() == usage
    assert not (run / "corpus.jsonl.torn").exists() and "set aside" not in result.stderr


@pytest.mark.parametrize(
    "damage",
    [b"[" * 100_000, b'{"id": ' + b"9" * 5000 + b"}"],
    ids=["nested too deeply", "a number of 5000 digits"],
)
def test_any_damaged_middle_line_names_file_and_line(tmp_path: Path, damage: bytes) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    lines = corpus.read_bytes().splitlines(keepends=True)
    corpus.write_bytes(b"".join([lines[0], damage + b"\n", *lines[2:]]))
    before = _snapshot(run)
    result = _rerun(run, 3)
    line = error_line(result)
    assert line.startswith(f"Error: {corpus}: line 2 is not valid JSON (")
    assert _snapshot(run) == before


def test_a_damaged_line_before_a_torn_one_names_both(tmp_path: Path) -> None:
    run = _finished_run(tmp_path)
    corpus = run / "corpus.jsonl"
    lines = corpus.read_bytes().splitlines(keepends=True)
    corpus.write_bytes(b"".join([*lines[:-1], b"edited\n", b'{"id": "run/3", "te']))
    line = error_line(_rerun(run, 4))
    assert f"{corpus}: line 3 is not valid JSON" in line
    assert f"its torn last line, 19 bytes, was set aside in {corpus}.torn" in line
    assert (run / "corpus.jsonl.torn").read_bytes() == b'{"id": "run/3", "te\n'


def _stats_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "one two three four five"}) + "\n")
    return corpus


@pytest.mark.parametrize(("flag", "name"), [("--html", "notes.html"), ("--json", "results.json")])
def test_stats_never_writes_over_a_file_it_did_not_write(
    tmp_path: Path, flag: str, name: str
) -> None:
    corpus = _stats_corpus(tmp_path)
    users = tmp_path / name
    users.write_text("my own notes\n")
    result = invoke("stats", corpus, flag, users)
    assert result.exit_code == 1
    assert error_line(result) == (
        f"Error: {users}: exists and was not written by storyloom; choose another "
        "output file, or pass --force to replace it"
    )
    assert users.read_text() == "my own notes\n"

    assert invoke("stats", corpus, flag, users, "--force").exit_code == 0
    report = users.read_bytes()
    assert report != b"my own notes\n"
    assert invoke("stats", corpus, flag, users).exit_code == 0  # its own report: replaced
    assert users.read_bytes() == report


def test_stats_writes_through_a_symlink_and_into_a_fifo(tmp_path: Path) -> None:
    corpus = _stats_corpus(tmp_path)
    target, link = tmp_path / "reports" / "stats.json", tmp_path / "latest.json"
    target.parent.mkdir()
    link.symlink_to(target)
    assert invoke("stats", corpus, "--json", link).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["generator"] == "storyloom stats"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = invoke("stats", corpus, "--json", fifo)
    reader.join(timeout=60)
    assert result.exit_code == 0
    assert fifo.is_fifo() and json.loads(received[0])["counts"]


def test_stats_never_replaces_a_device_node(tmp_path: Path) -> None:
    """As root, `--html` onto a character device deleted it and put a file in its place."""
    corpus = _stats_corpus(tmp_path)
    null, block = tmp_path / "null", tmp_path / "disk"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
        os.mknod(block, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    except PermissionError:
        pytest.skip("making device nodes needs root")
    assert invoke("stats", corpus, "--html", null).exit_code == 0
    assert null.is_char_device()
    for force in ((), ("--force",)):
        result = invoke("stats", corpus, "--html", block, *force)
        assert result.exit_code == 1
        assert error_line(result) == (
            f"Error: {block}: is not a regular file; choose another output file"
        )
        assert block.is_block_device()
