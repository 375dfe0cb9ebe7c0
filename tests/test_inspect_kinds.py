"""`storyloom inspect` in each kind's own terms: chat drafts as turns diffed turn by turn,
reviews and judgments as readable sections (never JSON), drafts labelled by what happened
to them, the documents' claims, and every request a call sent (repair turns included)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest
from augment_source import write_source
from click.testing import CliRunner, Result
from fast_retry import FAST_RETRY

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.demo import demo_reply
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.cli.main import cli
from storyloom.dataset.journey import load_journey
from storyloom.graph.runner import RunOptions, run_items

#: JSON as a person should never have to read it: an object or a list of strings.
RAW_JSON = re.compile(r'\{"|\["|":')


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "120"})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("kinds")
    made = {}
    for kind in ("documents", "advice", "augment"):
        extra = ["--source", write_source(base / "chats.jsonl", 3)] if kind == "augment" else []
        run = base / kind
        result = invoke("generate", "--kind", kind, "-n", "2", "--backend", "scripted",
                        "--run-dir", run, *extra)  # fmt: skip
        assert result.exit_code == 0, result.output
        made[kind] = run
    return made


def inspect(run: Path, tmp_path: Path) -> tuple[str, str]:
    page = tmp_path / "item.html"
    result = invoke("inspect", run, "0", "--html", page)
    assert result.exit_code == 0, result.output
    return result.output, page.read_text(encoding="utf-8")


def test_advice_drafts_are_turns_diffed_turn_by_turn_and_the_first_is_not_judged(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    journey = load_journey(runs["advice"], "0")
    first, rewrite = journey.drafts[:2]
    assert first.status == "not judged" and first.critique is None
    assert rewrite.status == "passed"
    assert [t["role"] for t in first.turns or ()][:2] == ["user", "assistant"]
    assert [(c.turn, c.role) for c in rewrite.turn_changes] == [
        (n + 1, t["role"])
        for n, (t, old) in enumerate(zip(rewrite.turns or (), first.turns or (), strict=True))
        if t["content"] != old["content"]
    ]
    assert all(c.role == "assistant" for c in rewrite.turn_changes)
    assert rewrite.diff == []  # no diff over the raw {"replies": [...]}

    terminal, html = inspect(runs["advice"], tmp_path)
    assert "draft 0 (round 0, " in terminal and "not judged)" in terminal
    assert "failed" not in terminal.split("draft 1")[0]
    assert "turn 2 (assistant) changed from draft 0" in terminal
    assert "Turn 2 (assistant) changed from draft 0" in html
    for view in (terminal, html):
        assert "stor" not in view.lower().replace(
            "storyloom", ""
        )  # the kind's words, not a story's
        assert "replies" not in view
        assert "missed considerations" in view  # the review's fields, by name
        assert not RAW_JSON.search(view.replace("&quot;", '"')), RAW_JSON.search(view)


def test_augment_drafts_are_system_turns_with_the_check_as_a_section(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    terminal, html = inspect(runs["augment"], tmp_path)
    assert "turn 1: system" in terminal and "Turn 1: system" in html
    assert "plan attempt" not in terminal + html  # augment has no plan step
    corpus = [json.loads(line) for line in (runs["augment"] / "corpus.jsonl").open()]
    [record] = [r for r in corpus if r["id"] == "augment/0"]
    user = next(m["content"] for m in record["messages"] if m["role"] == "user")
    assert "turn 2: user" in terminal and "Turn 2: user" in html  # the chat, as emitted
    assert user[:30] in terminal and escape(user[:60]) in html
    assert "changes ideal response:" in terminal
    for view in (terminal, html):
        assert not RAW_JSON.search(view.replace("&quot;", '"'))


def test_documents_show_the_claims_the_judge_checked(runs: dict[str, Path], tmp_path: Path) -> None:
    journey = load_journey(runs["documents"], "0")
    claims = journey.drafts[0].critique["claims_made"]
    assert claims
    terminal, html = inspect(runs["documents"], tmp_path)
    for view in (terminal, html):
        assert "claims made" in view
        assert claims[0]["statement"][:30] in view
        assert not RAW_JSON.search(view.replace("&quot;", '"'))


def judge_repaired() -> object:
    """The demo replies, each judge's arriving after a repair turn (2 requests)."""
    scripted = ScriptedBackend()

    def respond(request: CompletionRequest) -> Reply:
        reply = demo_reply(request)
        if request.purpose != "judge":
            return reply
        done: Completion = scripted._to_completion(reply, request)
        return replace(done, requests=2)

    return respond


def test_every_request_is_shown_repair_turns_included(make_run, tmp_path: Path) -> None:
    backend = ScriptedBackend(responder=judge_repaired())  # type: ignore[arg-type]
    run_dir, context = make_run(backend, max_revisions=1)
    asyncio.run(run_items(run_dir, context, RunOptions(count=1, concurrency=1, retry=FAST_RETRY)))
    ledger = [json.loads(line) for line in run_dir.path.joinpath("usage.jsonl").open()]
    judges = sum(entry["node"] == "judge" for entry in ledger)
    assert judges and all(e["requests"] == (2 if e["node"] == "judge" else 1) for e in ledger)

    journey = load_journey(run_dir.path, "0")
    assert sum(call.requests for call in journey.calls) == len(ledger) + judges

    terminal, html = inspect(run_dir.path, tmp_path)
    total = f"{len(ledger)} calls"
    requests = f"{len(ledger) + judges} requests"
    assert total in terminal and requests in terminal
    assert total in html and requests in html
    assert "cache read" in terminal and "cache write" in terminal


def test_a_ledger_line_with_a_token_count_that_is_not_a_number_is_one_line(
    make_run, tmp_path: Path
) -> None:
    backend = ScriptedBackend(responder=demo_reply)
    run_dir, context = make_run(backend, max_revisions=0)
    asyncio.run(run_items(run_dir, context, RunOptions(count=1, concurrency=1, retry=FAST_RETRY)))
    ledger = run_dir.path / "usage.jsonl"
    entries = ledger.read_text().splitlines()
    entries[1] = entries[1].replace('"input_tokens": ', '"input_tokens": "many", "x": ')
    ledger.write_text("\n".join(entries) + "\n")

    result = invoke("inspect", run_dir.path, "0")

    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert result.output.startswith(f"Error: {ledger}: line 2 ")
    assert "input_tokens" in result.output


def test_a_negative_index_is_no_such_item_and_a_mistyped_option_is_still_one(
    runs: dict[str, Path],
) -> None:
    result = invoke("inspect", runs["advice"], "-1")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "no item '-1'" in result.output
    mistyped = invoke("inspect", runs["advice"], "--ful")
    assert mistyped.exit_code == 2 and "No such option: --ful" in mistyped.output
