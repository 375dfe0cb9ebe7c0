"""The documents kind through the generic workflow, in process: the rewrite always runs,
an 'unsuitable' draw is rejected with its reason, and a document the judge keeps finding
inconsistent with its section is rejected and counted in the kind's figures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fast_retry import FAST_RETRY

from storyloom.backends.base import CompletionRequest
from storyloom.backends.registry import backend_spec
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.runner import RunOptions, RunReport, make_context, run_items
from storyloom.graph.settings import run_settings
from storyloom.stories.registry import get_kind

KIND = get_kind("documents")


def run(
    tmp_path: Path, responder: Callable[[CompletionRequest], Reply]
) -> tuple[RunDir, RunReport, ScriptedBackend]:
    backend = ScriptedBackend(responder=responder)
    run_dir = RunDir(tmp_path / "run")
    run_dir.prepare()
    loaded = KIND.load_inputs({})
    settings = run_settings(KIND, backend_spec("scripted"), {"max_revisions": 1})
    config = RunConfig.create(run_dir.name, KIND, backend.name, backend.model, settings, loaded)
    config, _ = run_dir.freeze_config(config, allow_change=True)
    context = make_context(run_dir, config, KIND, loaded.value, backend)
    options = RunOptions(count=1, concurrency=1, retry=FAST_RETRY)
    return run_dir, asyncio.run(run_items(run_dir, context, options)), backend


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_passing_document_is_still_rewritten_once_and_judged_again(tmp_path: Path) -> None:
    run_dir, report, backend = run(tmp_path, KIND.fake_reply)
    assert [r.purpose for r in backend.requests] == ["plan", "write", "judge", "revise", "judge"]
    assert (report.emitted, report.rejected) == (1, 0)
    [record] = lines(run_dir.corpus_path)
    assert record["metadata"]["revisions"] == 1 and record["metadata"]["idea"]


def test_an_unsuitable_draw_is_rejected_with_the_model_s_reason(tmp_path: Path) -> None:
    def responder(request: CompletionRequest) -> Reply:
        if request.purpose == "plan":
            reason = "a children's explainer cannot argue this stance honestly"
            return {"unsuitable": reason, "ideas": [], "chosen": 0, "outline": []}
        return KIND.fake_reply(request)

    run_dir, report, backend = run(tmp_path, responder)
    assert [r.purpose for r in backend.requests] == ["plan"]
    assert (report.emitted, report.rejected) == (0, 1)
    [rejected] = lines(run_dir.rejected_path)
    assert rejected["reason"] == "invalid_plan"
    assert "unsuitable: a children's explainer" in rejected["detail"]


def test_an_inconsistent_claim_in_every_judgment_rejects_the_document(tmp_path: Path) -> None:
    def responder(request: CompletionRequest) -> Reply:
        reply = KIND.fake_reply(request)
        if request.purpose == "judge":
            assert isinstance(reply, dict)
            reply["claims_made"].append(
                {
                    "statement": "Wren keeps every conversation it has ever had.",
                    "section_text": "Wren does not remember past conversations",
                    "consistent": False,
                    "why": "the identity says the opposite",
                }
            )
        return reply

    run_dir, report, _backend = run(tmp_path, responder)
    assert (report.emitted, report.rejected) == (0, 1)
    [rejected] = lines(run_dir.rejected_path)
    assert rejected["detail"] == (
        "an inconsistent claim (the identity says the opposite): Wren keeps every "
        "conversation it has ever had."
    )
    assert rejected["metadata"]["fidelity_failures"] == 2
    section = rejected["metadata"]["section"]
    tables = KIND.report_profile.figures([], [rejected])
    assert tables["fidelity-failure rate per section"] == {section: 1.0}
