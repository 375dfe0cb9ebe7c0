"""The advice kind end to end through the CLI on the scripted backend: it emits chat
records, preference pairs and (opt-in) documents; a rerun adds nothing; a SIGKILL and a
resume leave every id exactly once in every file; `stats` reports the rewrite's win rate."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result
from jsonl_files import records

from storyloom.cli.main import cli
from storyloom.core.records import CorpusRecord

FILES = ("corpus.jsonl", "rejected.jsonl", "pairs.jsonl", "documents.jsonl")


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def generate(run_dir: Path, count: int, *extra: str) -> Result:
    return invoke(
        "generate", "--kind", "advice", "-n", str(count), "--backend", "scripted",
        "--run-dir", run_dir, *extra,
    )  # fmt: skip


def ids(path: Path) -> list[str]:
    return [record["id"] for record in records(path)]


def test_generate_emits_chat_records_pairs_and_documents_and_a_rerun_adds_nothing(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "advice"
    result = generate(run_dir, 10, "--option", "documents=true")
    assert result.exit_code == 0, result.output
    corpus = records(run_dir / "corpus.jsonl")
    assert sorted(r["id"] for r in corpus) == sorted(f"advice/{i}" for i in range(10))
    for record in corpus:
        CorpusRecord.model_validate(record)
        assert [m["role"] for m in record["messages"]][::2] == ["user"] * len(
            record["metadata"]["moves"]
        )
        assert record["metadata"]["kind"] == "advice"
        assert record["metadata"]["comparison"]["winner"] == "rewrite"
    pairs = records(run_dir / "pairs.jsonl")
    # one pair per rewritten turn, each naming its item; the metadata lists them all
    assert sorted(p["id"] for p in pairs) == sorted(
        f"{r['id']}/turn-{p['turn']}" for r in corpus for p in r["metadata"]["pairs"]
    )
    assert {p["item"] for p in pairs} == {r["id"] for r in corpus}
    assert len(pairs) > len(corpus)  # some transcripts have several turns
    assert sorted(ids(run_dir / "documents.jsonl")) == sorted(r["id"] for r in corpus)
    before = {name: (run_dir / name).read_bytes() for name in FILES if (run_dir / name).exists()}

    again = generate(run_dir, 10, "--option", "documents=true")
    assert again.exit_code == 0, again.output
    assert {n: (run_dir / n).read_bytes() for n in FILES if (run_dir / n).exists()} == before


def test_documents_are_opt_in(tmp_path: Path) -> None:
    run_dir = tmp_path / "plain"
    assert generate(run_dir, 3).exit_code == 0
    assert {p["item"] for p in records(run_dir / "pairs.jsonl")} == set(
        ids(run_dir / "corpus.jsonl")
    )
    assert not (run_dir / "documents.jsonl").exists()


def test_stats_report_the_rewrite_win_rate(tmp_path: Path) -> None:
    run_dir = tmp_path / "advice"
    assert generate(run_dir, 6).exit_code == 0
    report = tmp_path / "stats.json"
    result = invoke("stats", run_dir, "--json", report)
    assert result.exit_code == 0, result.output
    # the summary counts the judged comparisons as judged, and the rewrite's wins
    assert re.search(r"rewrite won the side-by-side judgment\s+6 of 6", result.output)
    assert re.search(r"judged\s+6\n", result.output)
    full = invoke("stats", run_dir, "--full")
    assert full.exit_code == 0, full.output
    assert "rewrite win rate" in full.output
    figures = json.loads(report.read_text())["kind_figures"]
    assert figures["advice: the rewrite"]["rewrite win rate"] == 1.0
    assert figures["advice: the rewrite"]["judged comparisons"] == 6
    assert figures["advice: change per criterion, rewrite minus first draft"]["honesty"] > 0
    # A bare corpus file: the kind comes from the records' own metadata.
    bare = tmp_path / "bare.json"
    assert invoke("stats", run_dir / "corpus.jsonl", "--json", bare).exit_code == 0
    assert json.loads(bare.read_text())["kind_figures"]["advice: the rewrite"]["kept"] == 6


def test_a_bad_dilemmas_file_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "dilemmas.toml"
    bad.write_text(
        'turns = [1]\n[inclinations]\ntorn = "t"\n[asks]\nadvice = "a"\n[followups]\n'
        'pushback = "p"\n[[person]]\nwho = "w"\nstakes = "s"\n[[dilemma]]\nid = "d"\n'
        'domain = "civic"\nsummary = "s"\nsections = ["candour"]\n'
    )
    run_dir = tmp_path / "never"
    result = generate(run_dir, 2, "--dilemmas", str(bad))
    assert result.exit_code != 0
    message = result.output.strip().splitlines()[-1]
    assert str(bad) in message and "dilemma 'd' names section 'candour'" in message
    assert not run_dir.exists() or not any((run_dir / name).exists() for name in FILES)


def test_a_dilemma_with_more_sections_than_a_review_holds_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "dilemmas.toml"
    bad.write_text(
        'turns = [1]\n[inclinations]\ntorn = "t"\n[asks]\nadvice = "a"\n[followups]\n'
        'pushback = "p"\n[[person]]\nwho = "w"\nstakes = "s"\n[[dilemma]]\nid = "d"\n'
        'domain = "civic"\nsummary = "s"\nsections = ["a", "b", "c", "d", "e"]\n'
    )
    result = generate(tmp_path / "never", 2, "--dilemmas", str(bad))
    assert result.exit_code != 0
    message = result.output.strip().splitlines()[-1]
    assert str(bad) in message and "dilemma 'd' names 5 sections; at most 4" in message
