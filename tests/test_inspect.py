"""`storyloom inspect`: one item's journey from the checkpoints, in the terminal and HTML."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from fast_retry import FAST_RETRY
from story_samples import critique, failed_round, premise, story

from storyloom.cli.main import cli
from storyloom.dataset.journey import JourneyError, load_journey
from storyloom.graph.runner import RunOptions, run_items


@pytest.fixture
def revised_twice(make_run, scripted) -> Path:
    """One story the judge failed twice, passed on the second revision."""
    backend = scripted(
        premise(),
        story(1),
        *failed_round(2, "show her reasoning"),
        *failed_round(3, "less <b>telling</b>"),
        critique("pass"),
    )
    run_dir, context = make_run(backend)
    asyncio.run(run_items(run_dir, context, RunOptions(count=1, concurrency=1, retry=FAST_RETRY)))
    return run_dir.path


def test_journey_of_a_story_revised_twice(revised_twice: Path) -> None:
    journey = load_journey(revised_twice, "0")  # a bare index names the run's item

    assert journey.item_id == "run/0" and journey.outcome == "emitted"
    assert [d.round for d in journey.drafts] == [0, 1, 2]
    assert [d.passed for d in journey.drafts] == [False, False, True]
    assert [d.best for d in journey.drafts] == [False, False, True]
    assert journey.drafts[0].critique["revision_notes"] == ["show her reasoning"]
    assert journey.drafts[2].text.startswith(story(3)[:40])
    assert journey.drafts[0].diff == []
    for draft in journey.drafts[1:]:
        assert draft.diff[:2] == [f"--- draft {draft.position - 1}", f"+++ draft {draft.position}"]
        assert any(line.startswith("+") for line in draft.diff[2:])
        assert draft.removed > 0 and draft.added > 0
    assert journey.plan["title"] == premise()["title"]
    nodes = [call.node for call in journey.calls]
    assert nodes == [
        "plan",
        "write",
        "judge",
        "review",
        "revise",
        "judge",
        "review",
        "revise",
        "judge",
    ]
    assert journey.drafts[0].review is not None, "the review of the draft that was revised"


def test_inspect_prints_the_journey_and_writes_html_reading_only(
    revised_twice: Path, tmp_path: Path
) -> None:
    before = {p.name: p.read_bytes() for p in revised_twice.iterdir()}
    page = tmp_path / "item.html"

    result = CliRunner().invoke(
        cli, ["inspect", str(revised_twice), "run/0", "--html", str(page)], env={"COLUMNS": "120"}
    )

    assert result.exit_code == 0, result.output
    for shown in ("draft 0 (round 0", "draft 2 (round 2", "changes from draft 1", "show her"):
        assert shown in result.output
    assert "9 calls" in result.output
    html = page.read_text()
    assert html.count("<section class='draft'>") == 3
    assert "less &lt;b&gt;telling&lt;/b&gt;" in html and "<b>telling</b>" not in html
    assert "<script" not in html and "http" not in html  # self-contained
    assert {p.name: p.read_bytes() for p in revised_twice.iterdir()} == before


def test_an_unknown_item_is_one_line(revised_twice: Path) -> None:
    with pytest.raises(JourneyError, match=r"no item 'run/9' in the checkpoints"):
        load_journey(revised_twice, "9")
    result = CliRunner().invoke(cli, ["inspect", str(revised_twice), "nope/1"])
    assert result.exit_code == 1 and result.output.count("\n") == 1
