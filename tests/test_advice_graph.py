"""The advice kind through the generic workflow, in process: a rewrite that loses the
blind comparison is rewritten again, and an item whose rewrites all lose is rejected
with the reason in its record and no preference pair."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.registry import backend_spec
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.runner import RunOptions, make_context, run_items
from storyloom.graph.settings import run_settings
from storyloom.stories.advice.fake import fake_judgment
from storyloom.stories.judging import LOST_NOTE
from storyloom.stories.registry import get_kind

KIND = get_kind("advice")


def _judge_preferring_draft(rounds: set[int]) -> Callable[[CompletionRequest], Reply]:
    """The fake responder, except that the judge prefers the first draft in `rounds`
    (counted per item, 1 = the first rewrite)."""
    seen: dict[str, int] = {}

    def reply(request: CompletionRequest) -> Reply:
        if request.purpose != "judge":
            return KIND.fake_reply(request)
        hints = request.metadata
        key = json.dumps(dict(hints), sort_keys=True, default=str)  # the same for every round
        seen[key] = seen.get(key, 0) + 1
        judgment = fake_judgment(list(hints["criteria"]), hints["rewrite_label"])
        if seen[key] in rounds:
            draft = "B" if hints["rewrite_label"] == "A" else "A"
            judgment["comparison"]["better"] = draft
            judgment["comparison"]["reasoning"] = "the draft answered the question asked"
        return judgment

    return reply


def _run(tmp_path: Path, responder: Callable[[CompletionRequest], Reply]) -> RunDir:
    run = RunDir(tmp_path / "run")
    run.prepare()
    loaded = KIND.load_inputs({})
    backend = ScriptedBackend(responder=responder)
    settings = run_settings(KIND, backend_spec("scripted"), {"max_revisions": 2})
    config = RunConfig.create(run.name, KIND, backend.name, backend.model, settings, loaded)
    config, _ = run.freeze_config(config, allow_change=True)
    context = make_context(run, config, KIND, loaded.value, backend)
    asyncio.run(run_items(run, context, RunOptions(count=1, concurrency=1)))
    return run


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_rewrite_losing_rejects_the_item_with_its_reason_and_no_pair(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path, _judge_preferring_draft({1, 2}))
    assert _lines(run.corpus_path) == []
    [rejected] = _lines(run.rejected_path)
    assert rejected["reason"] == "max_revisions"
    assert rejected["detail"] == f"{LOST_NOTE}: the draft answered the question asked"
    metadata = rejected["metadata"]
    assert metadata["comparison"]["winner"] == "draft"
    assert metadata["shortfall"] == f"{LOST_NOTE}: the draft answered the question asked"
    assert metadata["revisions"] == 2
    assert _lines(run.path / "pairs.jsonl") == []


def test_a_second_rewrite_that_wins_is_kept_as_the_chosen_answer(tmp_path: Path) -> None:
    run = _run(tmp_path, _judge_preferring_draft({1}))
    [record] = _lines(run.corpus_path)
    assert record["metadata"]["revisions"] == 2
    assert record["metadata"]["comparison"]["winner"] == "rewrite"
    [pair] = _lines(run.path / "pairs.jsonl")
    assert pair["chosen"][0]["content"] == record["messages"][-1]["content"]
    assert pair["rejected"][0]["content"] != pair["chosen"][0]["content"]
