"""A server whose context is smaller than the run's prompts (llama.cpp's server starts at
4,096 tokens; the rich prompts are longer) is a configuration error (issue 27): the run
stops at the first overflow saying what to change, instead of rejecting every item one by
one as `invalid_premise`; where the server counts the reply's budget against its context
(vLLM) and reports it, a budget it cannot hold is refused before any call is sent."""

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


@pytest.mark.parametrize("reports", [None, "props"])
def test_the_first_overflow_stops_the_run_and_says_what_to_do(
    tmp_path: Path, reports: str | None
) -> None:
    """llama-cpp-python (which reports no size) and llama.cpp's server (`/props`)."""
    with ChatAPIServer(context_size=3000, reports_context=reports) as server:
        line = _generate(server, tmp_path / "run")
        overflowed = [r for r in server.chat_requests() if r.status == 400]
    assert "do not fit the server's context" in line and "you requested" in line
    assert ADVICE in line and "larger context" in line
    assert ("(3000 tokens)" in line) == (reports == "props"), "the size read at start"
    assert len(overflowed) == 1, "the run went on after the first overflow"
    assert _rejected(tmp_path / "run") == [], "an item was rejected for the server's context"


def test_a_vllm_context_too_small_for_a_reply_budget_is_refused_before_any_call(
    tmp_path: Path,
) -> None:
    with ChatAPIServer(context_size=1000, reports_context="models") as server:
        line = _generate(server, tmp_path / "run")
        calls = [r for r in server.chat_requests() if r.body.get("max_tokens", 0) > 40]
    assert "the server's context is 1000 tokens" in line and ADVICE in line
    assert calls == [], "a call was sent that the server's context could not hold"
    assert _rejected(tmp_path / "run") == []


def test_a_llama_cpp_context_smaller_than_a_reply_budget_is_not_refused(
    tmp_path: Path,
) -> None:
    """llama.cpp cuts a reply at its context instead of refusing the request, so a budget
    above `n_ctx` (the rich judge's 9,300 on an 8,192 server) must not stop the run."""
    with ChatAPIServer(context_size=8192, reports_context="props") as server:
        result = invoke(
            "generate", "-n", "1", "--backend", "openai", "--base-url", server.base_url,
            "--run-dir", tmp_path / "run",
        )  # fmt: skip
        budgets = {r.body.get("max_tokens") for r in server.chat_requests()}
    assert result.exit_code == 0, result.output
    assert max(budgets) > 8192, "no call had a budget above the context: nothing was shown"


def test_a_context_that_fits_runs_as_before(tmp_path: Path) -> None:  # vLLM's rule
    with ChatAPIServer(context_size=10**6, reports_context="models") as server:
        result = invoke(
            "generate", "-n", "1", "--backend", "openai", "--base-url", server.base_url,
            "--run-dir", tmp_path / "run",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "run.json").is_file()
