"""The story kind end to end through `storyloom generate`: every story is judged,
reviewed against its sections, rewritten and judged again; the records keep both
judgments, and the kind's figures read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from storyloom.cli.main import cli
from storyloom.stories.registry import get_kind
from storyloom.stories.story.selection import criterion_key


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_story_is_reviewed_rewritten_and_judged_twice(tmp_path: Path) -> None:
    run_dir = tmp_path / "stories"
    args = ("generate", "--kind", "story", "-n", "20", "--backend", "scripted")
    result = invoke(*args, "--run-dir", run_dir)
    assert result.exit_code == 0, result.output
    corpus = records(run_dir / "corpus.jsonl")
    assert sorted(r["id"] for r in corpus + records(run_dir / "rejected.jsonl")) == sorted(
        f"stories/{i}" for i in range(20)
    )
    assert len(corpus) == 20  # the fake replies pass every gate and the strict judge
    calls: dict[str, list[str]] = {}
    for entry in records(run_dir / "usage.jsonl"):
        calls.setdefault(entry["story_id"], []).append(entry["node"])
    assert all(nodes == ["plan", "write", "judge", "review", "revise", "judge"]
               for nodes in calls.values()), calls  # fmt: skip
    for record in corpus:
        meta = record["metadata"]
        sections = {criterion_key(slug) for slug in meta["sections"]}
        assert {criterion_key(name) for name in meta["first_scores"]} >= sections
        assert meta["first_scores"].keys() == meta["scores"].keys()
        assert len(meta["scores"]) == 2 + 10 and meta["revisions"] == 1
        assert meta["rewrite_kept"] is True and isinstance(meta["agentic"], bool)
    assert sum(r["metadata"]["agentic"] for r in corpus) >= 5
    figures = get_kind("story").report_profile.figures
    assert figures is not None
    summary = figures(corpus, [])["Rewrite: summary"]
    assert summary["stories judged"] == 20 and summary["rewritten"] == 20

    again = invoke(*args, "--run-dir", run_dir)
    assert again.exit_code == 0, again.output
    assert len(records(run_dir / "corpus.jsonl")) == 20


def test_rewrite_on_fail_skips_the_review_of_a_passing_story(tmp_path: Path) -> None:
    run_dir = tmp_path / "onfail"
    result = invoke(
        "generate", "-n", "3", "--backend", "scripted", "--rewrite", "on-fail",
        "--run-dir", run_dir,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    nodes = {entry["node"] for entry in records(run_dir / "usage.jsonl")}
    assert nodes == {"plan", "write", "judge"}
