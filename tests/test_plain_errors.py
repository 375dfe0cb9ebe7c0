"""Plain errors instead of tracebacks or silence (issue 27): each bad input or situation
is one line naming the file (and line, where there is one) and the problem, with a
non-zero exit."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner, Result
from messages_api_server import MessagesAPIServer

from storyloom.backends.batch_journal import BatchJournal, batch_journal_path
from storyloom.cli.main import cli

KEY = "sk-ant-test-plain-errors"


def _error_lines(result: Result) -> list[str]:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return [line for line in result.output.splitlines() if line.startswith("Error")]


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
        result = CliRunner().invoke(cli, ["batches", str(tmp_path)], env=env)
    assert result.exit_code == 1
    assert "msgbatch_gone  unknown to the API (404)  2 requests" in result.output
    (line,) = _error_lines(result)
    assert "does not know 1 of the run's batches (404)" in line


def test_batches_when_the_api_is_down_is_one_line(tmp_path: Path) -> None:
    _journal_with(tmp_path, "msgbatch_1")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"}
    result = CliRunner().invoke(cli, ["batches", str(tmp_path)], env=env)
    assert result.exit_code == 1
    (line,) = _error_lines(result)
    assert f"could not reach the Anthropic API at http://127.0.0.1:{port}" in line
    assert KEY not in result.output
