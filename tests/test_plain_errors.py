"""Plain errors instead of tracebacks or silence (issue 27): each bad input or situation
is one line naming the file (and line, where there is one) and the problem, with a
non-zero exit."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from augment_source import write_source
from cli_runner import error_line, finished_run, invoke
from messages_api_server import MessagesAPIServer
from shard_runs import make_shards

from storyloom.backends.batch_journal import BatchJournal, batch_journal_path

KEY = "sk-ant-test-plain-errors"


def _journal_with(run: Path, batch_id: str) -> None:
    journal = BatchJournal(batch_journal_path(run))
    try:
        submission, _ = journal.write_intent(["k1", "k2"])
        journal.record_batch(submission, batch_id)
    finally:
        journal.close()


def test_batches_the_api_no_longer_knows_are_listed_as_such(tmp_path: Path) -> None:
    _journal_with(tmp_path, "msgbatch_gone")
    with MessagesAPIServer() as server:
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}
        result = invoke("batches", tmp_path, env=env)
    assert result.exit_code == 1
    assert "msgbatch_gone  unknown to the API (404)  2 requests" in result.output
    line = error_line(result)
    assert "does not know 1 of the run's batches (404)" in line


def test_batches_when_the_api_is_down_is_one_line(tmp_path: Path) -> None:
    _journal_with(tmp_path, "msgbatch_1")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"}
    result = invoke("batches", tmp_path, env=env)
    assert result.exit_code == 1
    line = error_line(result)
    assert f"could not reach the Anthropic API at http://127.0.0.1:{port}" in line
    assert KEY not in result.output


@pytest.fixture(scope="module")
def made_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-item run on the scripted backend, only read by the tests using it."""
    return finished_run(tmp_path_factory.mktemp("plain") / "run")


def test_inspect_of_a_negative_index_says_there_is_no_such_item(made_run: Path) -> None:
    line = error_line(invoke("inspect", made_run, "-1"))
    assert "no item '-1'" in line
    assert "No such option" not in line


def test_inspect_names_the_ledger_line_with_a_non_numeric_token_count(
    made_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(made_run, run)
    ledger = run / "usage.jsonl"
    lines = ledger.read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["input_tokens"] = "many"
    lines[1] = json.dumps(entry) + "\n"
    ledger.write_text("".join(lines))
    line = error_line(invoke("inspect", run, "0"))
    assert f"{ledger}: line 2" in line and "input_tokens" in line


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--shard", "", "'' is not K/N"),
        ("--shard", "\u0661/\u0662", "is not K/N"),  # Arabic-Indic digits, which int() reads
        ("--redis", "", "must not be empty"),
        ("--redis", "redis://localhost:6379/abc", "the database must be a number"),
        ("--redis", "redis://localhost:6379/0?db=x", "the database must be a number"),
        ("--redis", "redis://:s3cret@localhost:6379/abc", "the database must be a number"),
        ("--redis", "http://localhost:6379/0", "must be a redis://, rediss:// or unix:// URL"),
    ],
)
def test_shard_and_redis_values_no_run_could_use_are_refused(
    tmp_path: Path, flag: str, value: str, message: str
) -> None:
    run = tmp_path / "run"
    result = invoke("generate", "-n", "1", "--backend", "scripted", "--run-dir", run, flag, value)
    assert result.exit_code == 2
    line = error_line(result)
    assert f"Invalid value for '{flag}'" in line and message in line
    assert "s3cret" not in result.output
    assert not run.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "augment", "--option", 'per_source="2"'),
         "the augment kind's option per_source: input should be a valid integer"),
        (("--kind", "augment", "--option", "per_source=true"),
         "the augment kind's option per_source: input should be a valid integer"),
        (("--option", "framing_headers=1"),
         "the story kind's option framing_headers: input should be a valid boolean"),
        (("--task-model", "juge=claude-haiku-4-5"),
         "task model for 'juge': the story kind has no such task (its tasks: plan, write, "),
        (("--task-model", "write="), "task model for 'write' is empty"),
        (("--task-model", "write=1"), "--task-model write=1: the model must be a model name"),
    ],
)  # fmt: skip
def test_kind_options_and_task_models_are_checked_strictly_before_run_json(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    source = write_source(tmp_path / "chats.jsonl", 4)
    run = tmp_path / "run"
    extra = ("--source", source) if "augment" in args else ()
    result = invoke("generate", "-n", "1", "--backend", "scripted", "--run-dir", run, *args, *extra)
    assert message in error_line(result)
    assert not (run / "run.json").exists()


def test_check_of_the_augment_kind_says_what_it_needs_without_naming_a_flag_it_lacks(
    tmp_path: Path,
) -> None:
    text = tmp_path / "prompt.md"
    text.write_text("You are the support assistant of a bank.\n")
    result = invoke("check", "--kind", "augment", text)
    assert result.exit_code == 2
    line = error_line(result)
    assert "check cannot run the augment kind's gates" in line and "'source' input" in line
    assert "--source" not in line


def test_a_lone_surrogate_in_the_source_names_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "chats.jsonl"
    source.write_text(
        '{"prompt": "a smile \\ud83d\\ude00 is a whole pair", "response": "fine"}\n'
        '{"prompt": "half a pair \\ud800 here", "response": "not text"}\n'
    )
    run = tmp_path / "run"
    result = invoke(
        "generate", "--kind", "augment", "--source", source, "-n", "1",
        "--backend", "scripted", "--run-dir", run,
    )  # fmt: skip
    line = error_line(result)
    assert f"{source}: line 2: holds a lone surrogate \\ud800" in line
    assert "UnicodeEncodeError" not in line
    assert not run.exists()


def test_merge_of_different_runs_names_every_difference_kind_first(
    make_run: Any, tmp_path: Path
) -> None:
    [shard] = make_shards(make_run, shards=1, count=1)
    other = tmp_path / "other"
    shutil.copytree(shard.path, other)
    config = json.loads((other / "run.json").read_text())
    config["kind"] = "advice"
    config["settings"]["seed"] = 9
    next(iter(config["inputs"].values()))["fingerprint"] = "0" * 16
    (other / "run.json").write_text(json.dumps(config))
    result = invoke("merge", shard.path, other, "--out", tmp_path / "merged")
    line = error_line(result)
    assert "not a shard of the same run" in line
    named = line.partition(" (")[2]
    assert named.startswith("kind: 'story' -> 'advice'; ")
    assert "settings.seed: 0 -> 9" in named and "file content differs" in named
    assert not (tmp_path / "merged").exists()
