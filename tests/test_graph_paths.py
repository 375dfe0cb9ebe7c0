"""Every route through the story workflow, driven by the scripted backend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fast_retry import FAST_RETRY
from story_samples import critique, failed_round, in_order, premise, review, story

from storyloom.backends.base import Completion, PermanentBackendError, TransientBackendError
from storyloom.backends.demo import demo_reply
from storyloom.backends.scripted import ScriptedBackend
from storyloom.graph.rundir import RunDir
from storyloom.graph.runner import RunOptions, RunReport, run_items
from storyloom.stories.story.figures import rewrite_figures


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(
    make_run: Any, backend: ScriptedBackend, count: int = 1, **settings: Any
) -> tuple[RunDir, RunReport]:
    run_dir, context = make_run(backend, **settings)
    report = asyncio.run(
        run_items(run_dir, context, RunOptions(count=count, concurrency=1, retry=FAST_RETRY))
    )
    return run_dir, report


def purposes(backend: ScriptedBackend) -> list[str]:
    return [request.purpose for request in backend.requests]


def test_story_that_passes_first_time_is_emitted_as_a_document(make_run, scripted) -> None:
    backend = scripted(premise(), story(1), critique("pass"))
    run_dir, report = run(make_run, backend)

    assert purposes(backend) == ["plan", "write", "judge"]
    assert (report.emitted, report.rejected) == (1, 0)
    [document] = lines(run_dir.corpus_path)
    assert document["id"] == "run/0"
    assert "Wren watched" in document["text"]
    assert "User:" not in document["text"] and "Assistant:" not in document["text"]
    assert document["metadata"]["revisions"] == 0
    assert document["metadata"]["first_pass"] is True
    assert lines(run_dir.rejected_path) == []


def test_every_call_carries_the_shared_constitution_prefix(make_run, scripted) -> None:
    backend = scripted(premise(), story(1), critique("pass"))
    run(make_run, backend)
    prefixes = {request.shared_prefix for request in backend.requests}
    assert len(prefixes) == 1
    assert "## Honesty" in prefixes.pop()


def test_failing_story_is_revised_then_passes(make_run, scripted) -> None:
    backend = scripted(
        premise(), story(1), *failed_round(2, "show her reasoning"), critique("pass")
    )
    run_dir, report = run(make_run, backend)

    assert purposes(backend) == ["plan", "write", "judge", "review", "revise", "judge"]
    revise = backend.requests[4].messages[-1].content
    assert "show her reasoning" in revise and "never weighs the cost" in revise
    [document] = lines(run_dir.corpus_path)
    assert document["metadata"]["revisions"] == 1
    assert document["metadata"]["first_pass"] is False
    assert report.emitted == 1


def test_story_still_failing_after_max_revisions_is_rejected_with_reasons(
    make_run, scripted
) -> None:
    backend = scripted(premise(), story(1), *failed_round(2), critique("revise", 2))
    run_dir, report = run(make_run, backend, max_revisions=1)

    assert purposes(backend) == ["plan", "write", "judge", "review", "revise", "judge"]
    assert lines(run_dir.corpus_path) == []
    [rejected] = lines(run_dir.rejected_path)
    assert rejected["reason"] == "max_revisions"
    assert rejected["last_draft"]
    assert report.reasons["max_revisions"] == 1


def test_gate_findings_fail_a_story_the_judge_passed(make_run, scripted) -> None:
    looping = "# Loop\n\n" + "Wren said hello. *Hello.*\n" * 60
    backend = scripted(premise(), looping, critique("pass"))
    run_dir, _ = run(make_run, backend, max_revisions=0)

    [rejected] = lines(run_dir.rejected_path)
    kinds = {finding["kind"] for finding in rejected["findings"]}
    assert "repetition" in kinds
    assert "repetition" in backend.requests[2].messages[-1].content  # the judge saw it


def test_near_duplicate_story_is_rejected(make_run, scripted) -> None:
    backend = scripted(
        premise("First", seed=1),
        story(7),
        critique("pass"),
        premise("Second", seed=2),
        story(7),
        critique("pass"),
    )
    run_dir, report = run(make_run, backend, count=2)

    assert [d["id"] for d in lines(run_dir.corpus_path)] == ["run/0"]
    [rejected] = lines(run_dir.rejected_path)
    assert rejected["id"] == "run/1"
    assert rejected["reason"] == "near_duplicate"
    assert "run/0" in rejected["detail"]
    assert report.reasons["near_duplicate"] == 1


def test_premise_too_close_to_an_earlier_one_is_planned_again(make_run, scripted) -> None:
    backend = scripted(
        premise("Same", seed=1),
        story(1),
        critique("pass"),
        premise("Same", seed=1),
        premise("Different", seed=9),
        story(2),
        critique("pass"),
    )
    _, report = run(make_run, backend, count=2)

    assert purposes(backend)[3:5] == ["plan", "plan"]
    assert "Same" in backend.requests[4].messages[-1].content  # told what to avoid
    assert report.emitted == 2


def test_rewrite_always_keeps_the_better_draft_when_the_revision_is_worse(
    make_run, scripted
) -> None:
    backend = scripted(
        premise(), story(1), critique("pass", 5), review(), story(2), critique("revise", 2)
    )
    run_dir, _ = run(make_run, backend, rewrite="always")

    assert purposes(backend) == ["plan", "write", "judge", "review", "revise", "judge"]
    [document] = lines(run_dir.corpus_path)
    assert story(1).split("\n\n")[1] in document["text"]
    assert story(2).split("\n\n")[1] not in document["text"]


def test_transient_error_is_retried(make_run, scripted) -> None:
    backend = scripted(premise(), TransientBackendError("overloaded"), story(1), critique())
    _, report = run(make_run, backend)
    assert purposes(backend) == ["plan", "write", "write", "judge"]
    assert report.emitted == 1


def test_permanent_error_rejects_only_that_story(make_run, scripted) -> None:
    backend = scripted(
        premise("A", seed=1),
        PermanentBackendError("prompt too long"),
        premise("B", seed=2),
        story(2),
        critique(),
    )
    run_dir, report = run(make_run, backend, count=2)
    assert [r["reason"] for r in lines(run_dir.rejected_path)] == ["backend_error"]
    assert report.emitted == 1


def test_fatal_error_stops_the_run(make_run, scripted) -> None:
    backend = scripted(PermanentBackendError("invalid API key", fatal=True))
    _, report = run(make_run, backend, count=3)
    assert report.stop_reason == "fatal"
    assert report.fatal_error == "invalid API key"
    assert report.not_started == 2


def test_resume_after_an_exception_does_not_rerun_finished_nodes(make_run, scripted) -> None:
    first = scripted(premise(), story(1))  # runs out when the judge asks
    _, report = run(make_run, first)
    assert report.interrupted == 1

    second = scripted(critique("pass"))
    run_dir, report = run(make_run, second)
    assert purposes(second) == ["judge"]
    assert report.resumed == 1 and report.emitted == 1
    assert len(lines(run_dir.corpus_path)) == 1


def test_finished_run_is_skipped_without_any_call(make_run, scripted) -> None:
    run(make_run, scripted(premise(), story(1), critique()))
    idle = scripted()
    run_dir, report = run(make_run, idle)
    assert idle.requests == []
    assert report.already_done == 1
    assert len(lines(run_dir.corpus_path)) == 1


def test_extending_a_run_only_makes_the_new_stories(make_run, scripted) -> None:
    run(make_run, scripted(premise("A", seed=1), story(1), critique()))
    more = scripted(premise("B", seed=2), story(2), critique())
    run_dir, report = run(make_run, more, count=2)
    assert report.already_done == 1 and report.emitted == 1
    assert [d["id"] for d in lines(run_dir.corpus_path)] == ["run/0", "run/1"]


def test_usage_of_every_call_is_in_the_ledger(make_run, scripted) -> None:
    backend = scripted(premise(), story(1), critique())
    run_dir, _ = run(make_run, backend)
    entries = lines(run_dir.usage_path)
    assert [entry["node"] for entry in entries] == ["plan", "write", "judge"]
    assert all(entry["story_id"] == "run/0" for entry in entries)
    assert all(entry["output_tokens"] > 0 for entry in entries)


@pytest.mark.parametrize("bad", [0, -3])
def test_run_options_reject_nonsense(bad: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RunOptions(count=bad)
    with pytest.raises(ValueError, match="at least 1"):
        RunOptions(count=1, concurrency=bad)


def test_truncated_structured_reply_rejects_the_story_instead_of_sticking(
    make_run, scripted
) -> None:
    cut_off = Completion(text='{"title": "Half', model="m", stop_reason="max_tokens")
    run_dir, report = run(make_run, scripted(cut_off))
    assert report.interrupted == 0
    [rejected] = lines(run_dir.rejected_path)
    assert rejected["reason"] == "invalid_premise"
    assert "max_tokens" in rejected["detail"]


@pytest.mark.parametrize(
    "failure",
    [
        PermanentBackendError("prompt too long"),  # the revise call fails
        Completion(text="{", model="m", stop_reason="max_tokens"),  # its judge is cut off
    ],
)
def test_failed_extra_round_keeps_a_story_that_already_passed(
    make_run, scripted, failure: object
) -> None:
    replies = [premise(), story(1), critique("pass", 5), review()]
    replies += [failure] if isinstance(failure, PermanentBackendError) else [story(2), failure]
    run_dir, report = run(make_run, scripted(*replies), rewrite="always")
    assert report.emitted == 1
    [document] = lines(run_dir.corpus_path)
    assert story(1).split("\n\n")[1] in document["text"]


class _TimesOutOnce(ScriptedBackend):
    """A backend whose client raises its own TimeoutError once (not a mapped error)."""

    def __init__(self, *replies: Any) -> None:
        super().__init__(responder=in_order(*replies))
        self.timed_out = False

    async def complete(self, request: Any) -> Any:
        if not self.timed_out and request.purpose == "write":
            self.timed_out = True
            raise TimeoutError("read timed out")
        return await super().complete(request)


def test_a_backends_own_timeout_is_retried_as_transient(make_run) -> None:
    backend = _TimesOutOnce(premise(), story(1), critique())
    _, report = run(make_run, backend)
    assert backend.timed_out
    assert report.emitted == 1 and report.interrupted == 0


class _OneAtATime(ScriptedBackend):
    """Like a local model: one call at a time, each taking a while."""

    max_parallel_calls = 1

    def __init__(self, stop: asyncio.Event) -> None:
        super().__init__(responder=demo_reply, delay=0.05)
        self.stop = stop

    async def complete(self, request: Any) -> Any:
        completion = await super().complete(request)
        self.stop.set()  # Ctrl-C arrives while the first call runs
        return completion


def test_a_stop_reaches_calls_queued_behind_a_one_at_a_time_backend(make_run) -> None:
    stop = asyncio.Event()
    backend = _OneAtATime(stop)
    run_dir, context = make_run(backend)
    report = asyncio.run(
        run_items(run_dir, context, RunOptions(count=4, concurrency=4, retry=FAST_RETRY), stop=stop)
    )
    assert len(backend.requests) == 1  # the three queued plan calls were never made
    assert report.paused == 4 and report.emitted == 0


def _rewrite_judge(backend: ScriptedBackend) -> Any:
    return [r for r in backend.requests if r.purpose == "judge"][-1]


def test_a_rewrite_is_judged_blind_beside_the_draft_it_would_replace(make_run, scripted) -> None:
    """The rewrite's judge request holds both stories in the draw's blind order (one
    judgment scores both: the record keeps them beside the first draft's own scores)."""
    backend = scripted(
        premise(), story(1), critique("pass"), review(), story(2),
        critique("pass", score=5, draft_score=4),
    )  # fmt: skip
    run_dir, report = run(make_run, backend, rewrite="always")

    assert purposes(backend) == ["plan", "write", "judge", "review", "revise", "judge"]
    first_judge = next(r for r in backend.requests if r.purpose == "judge")
    assert "Story B:" not in first_judge.messages[-1].content
    assert first_judge.metadata["compared"] is False
    request = _rewrite_judge(backend)
    assert request.metadata["compared"] is True
    assert request.output_schema is first_judge.output_schema  # one schema for the run
    prompt = request.messages[0].content
    [document] = lines(run_dir.corpus_path)
    meta = document["metadata"]
    label = meta["comparison"]["rewrite_label"]
    a, b = prompt.index("Story A:\n"), prompt.index("Story B:\n")
    rewrite, draft = prompt.index(story(2)), prompt.index(story(1))
    assert (a < rewrite < b < draft) if label == "A" else (a < draft < b < rewrite)
    assert meta["comparison"]["winner"] == "rewrite" and meta["rewrite_kept"] is True
    assert set(meta["draft_scores"].values()) == {4} and set(meta["rewrite_scores"].values()) == {5}
    assert set(meta["first_scores"].values()) == {4}  # the first draft's own judgment
    tables = rewrite_figures([document], [])
    side_by_side = tables["Rewrite: mean score, draft -> rewrite, judged side by side"]
    assert side_by_side["texture"] == "4.00 -> 5.00 (+1.00)"
    assert tables["Rewrite: blind comparison"]["rewrite won"] == "100%"
    assert report.emitted == 1


def test_a_rewrite_that_loses_the_comparison_keeps_the_first_draft(make_run, scripted) -> None:
    backend = scripted(
        premise(), story(1), critique("pass"), review(), story(2), critique("lost", score=5)
    )
    run_dir, report = run(make_run, backend, rewrite="always")

    [document] = lines(run_dir.corpus_path)
    meta = document["metadata"]
    assert "Wren watched" in document["text"] and meta["rewrite_kept"] is False
    assert document["text"].split("\n\n")[1] in story(1)
    assert meta["comparison"]["winner"] == "draft" and meta["revisions"] == 1
    assert report.emitted == 1
