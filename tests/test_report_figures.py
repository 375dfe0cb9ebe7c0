"""Every figure of the stats JSON on a small fixture run, computed by hand.

The fixture (tests/fixtures/report/run) has four emitted documents, three rejected
stories and eleven ledger lines. The expected values below are worked out from those
files in the comments, not taken from the code's output.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storyloom.cli.stats_cmd import stats
from storyloom.report.names import HEURISTIC as NAME_HEURISTIC
from storyloom.stories.story.inputs import AXIS_NAMES

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "run"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("stats") / "stats.json"
    result = CliRunner().invoke(stats, [str(FIXTURE), "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_source(report: dict[str, Any]) -> None:
    assert report["source"] == {
        "path": str(FIXTURE),
        "kind": "run",
        "run_name": "fx",
        "backend": "anthropic",
        "model": "claude-x",
        "text_field": "text",
        "skipped_lines": 0,
    }


def test_counts(report: dict[str, Any]) -> None:
    assert report["counts"] == {
        "planned": None,  # run.json does not record the count
        "started": None,  # no checkpoints.sqlite in the fixture
        "finished": 7,
        "in_progress": None,
        "emitted": 4,
        "rejected": 3,
        "rejected_by_reason": {"invalid_premise": 1, "max_revisions": 1, "near_duplicate": 1},
        # revisions: emitted 0,1,0,2; rejected 2,1,0
        "revision_rounds": {"0": 3, "1": 2, "2": 2},
        "near_duplicates_removed": 1,
        "plan_duplicates": 0,
    }


def test_a_plan_duplicate_under_its_former_name_counts_as_one(tmp_path: Path) -> None:
    """Runs made before the rename rejected with `premise_duplicate`."""
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    with (run / "rejected.jsonl").open("a", encoding="utf-8") as rejected:
        for index, reason in enumerate(("premise_duplicate", "plan_duplicate"), start=10):
            rejected.write(json.dumps({"id": f"fx/{index}", "reason": reason}) + "\n")
    out = tmp_path / "stats.json"
    result = CliRunner().invoke(stats, [str(run), "--json", str(out)])
    assert result.exit_code == 0, result.output
    counts = json.loads(out.read_text(encoding="utf-8"))["counts"]
    assert counts["plan_duplicates"] == 2
    assert counts["rejected_by_reason"] == {
        "invalid_premise": 1,
        "max_revisions": 1,
        "near_duplicate": 1,
        "plan_duplicate": 2,
    }


def test_size(report: dict[str, Any]) -> None:
    size = report["size"]
    # words: fx/0 "Night Shift" 2 + 7 + 7 = 16; fx/1 4 + 7 + 8 + 6 = 23 (with "2" and "I");
    # fx/2 "Quiet Orbit" 2 + "Fiction" 1 + 15 = 18; fx/3 5 + 15 = 20.
    assert size["documents"] == 4
    assert size["words"] == {
        "count": 4,
        "total": 77.0,
        "mean": 19.25,
        "min": 16.0,
        "median": 19.0,
        "p90": 22.1,  # sorted 16 18 20 23, position 0.9 * 3 = 2.7: 20 + 0.7 * 3
        "max": 23.0,
    }
    # spaCy tokens, whitespace excluded: fx/0 2 + 8 + 9 (", ." split off) = 19;
    # fx/1 "Chapter 2 : The Ledger" 5 + 8 + "* I can fix this , * Ada thought ." 10 + 7 = 30;
    # fx/2 2 + 1 + 16 = 19; fx/3 "Quiet Orbit , Again : A Fable" 7 + 16 = 23.
    assert size["tokens"]["total"] == 91.0
    assert (size["tokens"]["min"], size["tokens"]["max"]) == (19.0, 30.0)
    assert size["tokens"]["median"] == 21.0
    bands = size["length_bands"]
    assert list(bands) == ["short", "medium", "long"]
    assert bands["short"]["documents"] == 2
    assert bands["short"]["target_words"] == [250, 600]
    assert bands["short"]["within_target"] == 0.0  # 16 and 23 words are far below 250
    assert bands["short"]["words"]["mean"] == 19.5
    # edges 0..23 in steps of 1 (the longest document has 23 words): 16 in bin 16, 23 in the last
    assert bands["short"]["histogram"]["edges"] == [float(e) for e in range(24)]
    assert bands["short"]["histogram"]["counts"] == [0] * 16 + [1] + [0] * 5 + [1]
    assert bands["medium"]["words"]["total"] == 18.0
    assert bands["long"]["words"]["total"] == 20.0


def test_cost(report: dict[str, Any]) -> None:
    cost = report["cost"]
    assert cost["total"] == {
        "calls": 11,
        "input_tokens": 2400,
        "output_tokens": 1980,
        "cache_write_tokens": 0,
        "cache_read_tokens": 100,
        "usd": 0.03,
        "cache_read_share": 0.04,  # 100 read of 2,400 input + 100 read
    }
    assert cost["per_node"] == {
        "judge": {
            "calls": 3,
            "input_tokens": 900,
            "output_tokens": 180,
            "cache_write_tokens": 0,
            "cache_read_tokens": 100,
            "usd": 0.006,
            "cache_read_share": 0.1,  # 100 read of 900 input + 100 read
        },
        "plan": {
            "calls": 4,
            "input_tokens": 400,
            "output_tokens": 200,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
            "usd": 0.004,
            "cache_read_share": 0.0,
        },
        "revise": {
            "calls": 1,
            "input_tokens": 500,
            "output_tokens": 400,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
            "usd": 0.006,
            "cache_read_share": 0.0,
        },
        "write": {
            "calls": 3,
            "input_tokens": 600,
            "output_tokens": 1200,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
            "usd": 0.014,
            "cache_read_share": 0.0,
        },
    }
    # the fx/9 line has no model field
    assert cost["per_model"]["claude-x"]["calls"] == 10
    assert cost["per_model"]["n/a"] == {
        "calls": 1,
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "usd": 0.001,
        "cache_read_share": 0.0,
    }
    assert cost["items"] == 4
    # per story USD: fx/0 0.008, fx/1 0.016, fx/4 0.005, fx/9 0.001
    assert cost["per_item_usd"] == {
        "count": 4,
        "total": 0.03,
        "mean": 0.0075,
        "min": 0.001,
        "median": 0.0065,
        "p90": 0.0136,
        "max": 0.016,
    }
    # per story tokens: fx/0 150 + 600 + 460 = 1210; fx/1 2370; fx/4 750; fx/9 150
    assert cost["per_item_tokens"] == {
        "count": 4,
        "total": 4480.0,
        "mean": 1120.0,
        "min": 150.0,
        "median": 980.0,
        "p90": 2022.0,
        "max": 2370.0,
    }
    assert cost["usd_on_emitted"] == 0.024
    assert cost["usd_on_rejected"] == 0.005
    assert cost["usd_unattributed"] == 0.001
    assert cost["usd_per_accepted_document"] == 0.0075  # 0.03 / 4
    assert cost["tokens_per_accepted_document"] == 1120.0  # 4480 / 4


def _dist(scored: int, mean: float, **counts: int) -> dict[str, Any]:
    histogram = {str(score): 0 for score in range(1, 6)}
    histogram.update({key[1:]: value for key, value in counts.items()})
    return {"scored": scored, "mean": mean, "histogram": histogram}


def test_quality(report: dict[str, Any]) -> None:
    quality = report["quality"]
    assert quality["criteria"] == {
        "Care for people": _dist(2, 4.5, s4=1, s5=1),
        "Honesty": _dist(3, 4.333333, s4=2, s5=1),
        "Limits on power": _dist(1, 3.0, s3=1),
        "Privacy and trust": _dist(2, 3.0, s2=1, s4=1),
        "shows_why": _dist(4, 4.0, s3=1, s4=2, s5=1),
    }
    assert quality["sections"] == {
        "care-for-people": {
            "title": "Care for people",
            "documents": 2,
            "scores": _dist(2, 4.5, s4=1, s5=1),
        },
        "honesty": {"title": "Honesty", "documents": 3, "scores": _dist(3, 4.333333, s4=2, s5=1)},
        "limits-on-power": {
            "title": "Limits on power",
            "documents": 1,
            "scores": _dist(1, 3.0, s3=1),
        },
        # in the constitution, never drawn for an emitted document
        "oversight-and-correction": {
            "title": "Oversight and correction",
            "documents": 0,
            "scores": {"scored": 0, "mean": None, "histogram": _dist(0, 0)["histogram"]},
        },
        "privacy-and-trust": {
            "title": "Privacy and trust",
            "documents": 2,
            "scores": _dist(2, 3.0, s2=1, s4=1),
        },
    }
    assert quality["gate_findings_emitted"] == {"length": 1}
    assert quality["gate_findings_rejected"] == {"length": 1, "monologue": 1}
    # first_pass is a bool on six stories (fx/6 never reached the judge): true for fx/0, fx/2
    assert quality["judged"] == 6
    assert quality["first_pass_rate"] == 0.333333
    # finally passed: the 4 emitted + fx/5 (a near-duplicate had passed the judge)
    assert quality["final_pass_rate"] == 0.833333


def test_coverage(report: dict[str, Any]) -> None:
    coverage = report["coverage"]
    assert coverage["axes"]["setting"] == {
        "a rural hospital": {"emitted": 1, "rejected": 1},
        "a law firm": {"emitted": 1, "rejected": 1},
        "a space station": {"emitted": 2, "rejected": 1},
        "a library": {"emitted": 0, "rejected": 0},  # listed in axes.toml, never drawn
    }
    assert coverage["axes"]["dilemma"] == {
        "a user in crisis": {"emitted": 3, "rejected": 2},
        "a request that crosses a line": {"emitted": 0, "rejected": 1},
        "conflicting instructions": {"emitted": 1, "rejected": 0},
    }
    assert coverage["axes"]["length"] == {
        "short": {"emitted": 2, "rejected": 1},
        "medium": {"emitted": 1, "rejected": 1},
        "long": {"emitted": 1, "rejected": 1},
    }
    assert list(coverage["axes"]) == list(AXIS_NAMES)  # in the story kind's order
    assert coverage["heatmap"] == {
        "x_axis": "setting",
        "y_axis": "dilemma",
        "x_values": ["a rural hospital", "a law firm", "a space station", "a library"],
        "y_values": [
            "a user in crisis",
            "a request that crosses a line",
            "conflicting instructions",
        ],
        "counts": [[1, 0, 2, 0], [0, 0, 0, 0], [0, 1, 0, 0]],
    }
    assert coverage["sections"] == {
        "honesty": 3,
        "care-for-people": 2,
        "privacy-and-trust": 2,
        "limits-on-power": 1,
        "oversight-and-correction": 0,
    }
    assert coverage["uncovered_sections"] == ["oversight-and-correction"]
    assert coverage["persona_names"] == {"Sol": 2, "Ada": 1, "Wren": 1}


def test_diversity(report: dict[str, Any]) -> None:
    d = report["diversity"]
    assert d["sample_documents"] == 4
    # story bodies (headings dropped), lower-cased: 14 + 19 + 15 + 15 = 63 words,
    # 12 + 15 + 10 = 37 different; fx/2 and fx/3 have the same body.
    assert d["distinct_1"] == 0.587302  # 37 / 63
    assert d["distinct_2"] == 0.762712  # 45 / 59
    assert d["distinct_3"] == 0.763636  # 42 / 55
    assert d["openings"][0] == {"value": "sol kept the", "count": 2, "share": 0.5}
    assert {s["value"] for s in d["openings"]} == {
        "sol kept the",
        "ada found the",
        "wren checked the",
    }
    assert d["opening_top_share"] == 0.5
    assert d["opening_distinct"] == 3
    assert d["closings"][0] == {"value": "storm was close", "count": 2, "share": 0.5}
    assert {s["value"] for s in d["closings"][1:]} == {"and wren smiled", "okafor the truth"}
    assert d["closing_top_share"] == 0.5
    assert d["closing_distinct"] == 3
    # the only 4-grams in two documents are the 12 of the shared body
    phrases = d["repeated_phrases"]
    assert len(phrases) == 12
    assert all(p["count"] == 2 and p["share"] == 0.5 for p in phrases)
    assert phrases[0]["value"] == "airlock sealed because the"  # ties sort alphabetically
    similarity = d["similarity"]
    assert similarity["pairs"] == 6  # all pairs of 4 documents
    assert similarity["threshold"] == 0.5  # from run.json
    assert similarity["pairs_at_or_above_threshold"] == 1  # fx/2 and fx/3
    # Whole texts, as dedupe compares them: fx/2 has 18 words (14 5-word shingles), fx/3
    # 20 (16); they share the 11 shingles of the body: Jaccard 11 / 19 = 0.579, which a
    # 128-slot estimate over so few shingles reads as 87 / 128.
    assert similarity["summary"]["max"] == 0.679688
    assert similarity["summary"]["median"] == 0.0  # no other pair shares a 5-word shingle
    assert similarity["summary"]["mean"] == pytest.approx(0.679688 / 6, abs=1e-6)
    assert similarity["histogram"]["counts"][0] == 5
    assert similarity["histogram"]["counts"][9] == 1  # [0.6, 0.7)
    names = d["names"]
    # Mara (after "Nurse "), Director and Okafor (after "told "); Wren, Ada, Sol are personas
    assert names == {
        "method": NAME_HEURISTIC,
        "distinct": 3,
        "mentions": 3,
        "top": [
            {"value": "Director", "count": 1, "share": 0.333333},
            {"value": "Mara", "count": 1, "share": 0.333333},
            {"value": "Okafor", "count": 1, "share": 0.333333},
        ],
        "top_share": 0.333333,
    }
    # monologue: metadata 0.2, 0.0, 0.0; fx/1 has none, so it is measured: 4 of 23 words
    assert d["monologue_share"] == {
        "count": 4,
        "total": 0.3739,
        "mean": 0.093475,
        "min": 0.0,
        "median": 0.08695,
        "p90": 0.19217,
        "max": 0.2,
    }
    assert d["monologue_histogram"]["counts"][0] == 2
    assert d["monologue_histogram"]["counts"][3] == 1  # 0.1739
    assert d["monologue_histogram"]["counts"][4] == 1  # 0.2


def test_no_notes_on_a_complete_fixture(report: dict[str, Any]) -> None:
    assert report["notes"] == []


def test_started_threads_come_from_the_checkpoints(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    with sqlite3.connect(run / "checkpoints.sqlite") as db:
        db.execute("CREATE TABLE checkpoints (thread_id TEXT, checkpoint_id TEXT)")
        rows = [(f"fx/{i}", str(step)) for i in range(9) for step in range(3)]
        db.executemany("INSERT INTO checkpoints VALUES (?, ?)", rows)
    out = tmp_path / "stats.json"
    result = CliRunner().invoke(stats, [str(run), "--json", str(out)])
    assert result.exit_code == 0, result.output
    counts = json.loads(out.read_text())["counts"]
    assert (counts["started"], counts["finished"], counts["in_progress"]) == (9, 7, 2)
