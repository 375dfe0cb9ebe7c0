"""A server whose context is smaller than the run's prompts (llama.cpp's server starts at
4,096 tokens; the rich prompts are longer) is a configuration error (issue 27): the run
stops at the first overflow saying what to change, instead of rejecting every item one by
one as `invalid_premise`; where the server reports its context size, a reply budget it
cannot hold is refused before any call is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chat_api_server import ChatAPIServer
from cli_runner import error_line, invoke

ADVICE = "--prompt-profile compact"


def _generate(server: ChatAPIServer, run: Path) -> str:
    result = invoke(
        "generate", "-n", "4", "--concurrency", "1", "--backend", "openai",
        "--base-url", server.base_url, "--run-dir", run,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    return error_line(result)


def _rejected(run: Path) -> list[dict[str, object]]:
    path = run / "rejected.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_the_first_overflow_stops_the_run_and_says_what_to_do(tmp_path: Path) -> None:
    with ChatAPIServer(context_size=3000) as server:  # reports its size nowhere
        line = _generate(server, tmp_path / "run")
        overflowed = [r for r in server.chat_requests() if r.status == 400]
    assert "do not fit the server's context" in line and "you requested" in line
    assert ADVICE in line and "larger context" in line
    assert len(overflowed) == 1, "the run went on after the first overflow"
    assert _rejected(tmp_path / "run") == [], "an item was rejected for the server's context"


@pytest.mark.parametrize("reports", ["props", "models"])
def test_a_reported_context_too_small_for_a_reply_is_refused_before_any_call(
    tmp_path: Path, reports: str
) -> None:
    with ChatAPIServer(context_size=1000, reports_context=reports) as server:
        line = _generate(server, tmp_path / "run")
        calls = [r for r in server.chat_requests() if r.body.get("max_tokens", 0) > 40]
    assert "the server's context is 1000 tokens" in line and ADVICE in line
    assert calls == [], "a call was sent that the server's context could not hold"
    assert _rejected(tmp_path / "run") == []


def test_a_context_that_fits_runs_as_before(tmp_path: Path) -> None:
    with ChatAPIServer(context_size=10**6, reports_context="props") as server:
        result = invoke(
            "generate", "-n", "1", "--backend", "openai", "--base-url", server.base_url,
            "--run-dir", tmp_path / "run",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "run.json").is_file()
