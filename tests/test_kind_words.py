"""Every kind in its own words (issue 25) and user text never read as markup (issue 27):
a scripted run of each kind, its `generate` output and its `stats` in the terminal, JSON
and HTML; the one-screen summary; the new diversity figures."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from augment_source import write_source
from click.testing import CliRunner, Result
from fast_retry import FAST_RETRY
from jsonl_files import write_jsonl
from story_samples import critique, failed_round, premise

from storyloom.cli.main import cli
from storyloom.graph.runner import RunOptions, run_items
from storyloom.report.compression import compression_ratio
from storyloom.report.names import heuristic_names
from storyloom.report.selfbleu import self_bleu
from storyloom.report.skeletons import cluster_skeletons
from storyloom.report.tables import TOP_ROWS, _figure_table
from storyloom.stories.augment.draws import PROMPT_LENGTHS

KINDS = ("story", "documents", "advice", "augment")
STORY_WORD = re.compile(r"\bstor(?:y|ies)\b", re.IGNORECASE)
RAW_JSON = re.compile(r"\{\s*\"|\[\s*\{")
WIDTH = {"COLUMNS": "100"}
SUMMARY_LINES = 60


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=WIDTH)


def _html_text(path: Path) -> str:
    """The HTML's text, images left out (a base64 PNG can spell anything)."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", path.read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Per kind: generate's output, the run directory and every stats output."""
    root = tmp_path_factory.mktemp("kinds")
    source = write_source(root / "source.jsonl", 6)
    found: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        run_dir = root / kind
        extra = ["--source", str(source)] if kind == "augment" else []
        generated = invoke(
            "generate", "--kind", kind, "-n", "3", "--backend", "scripted",
            "--run-dir", run_dir, *extra,
        )  # fmt: skip
        assert generated.exit_code == 0, generated.output
        html, report = root / f"{kind}.html", root / f"{kind}.json"
        summary = invoke("stats", run_dir, "--json", report, "--html", html)
        full = invoke("stats", run_dir, "--full")
        assert summary.exit_code == 0 and full.exit_code == 0, summary.output + full.output
        found[kind] = {
            "run_dir": run_dir,
            "generate": generated.output,
            "summary": summary.output,
            "full": full.output,
            "json": report.read_text(),
            "report": json.loads(report.read_text()),
            "html": _html_text(html),
        }
    return found


@pytest.mark.parametrize("kind", ["documents", "advice", "augment"])
def test_no_story_word_in_a_run_of_another_kind(runs: dict[str, Any], kind: str) -> None:
    run = runs[kind]
    for view in ("generate", "summary", "full", "json", "html"):
        assert not STORY_WORD.search(run[view]), (view, STORY_WORD.findall(run[view]))
    noun = run["report"]["noun"]
    assert noun[1] in run["generate"] and noun[1] in run["summary"]


@pytest.mark.parametrize("kind", KINDS)
def test_no_raw_json_in_terminal_or_html(runs: dict[str, Any], kind: str) -> None:
    for view in ("generate", "summary", "full", "html"):
        assert not RAW_JSON.search(runs[kind][view]), (kind, view)


@pytest.mark.parametrize("kind", KINDS)
def test_default_stats_fits_one_screen(runs: dict[str, Any], kind: str) -> None:
    screen = runs[kind]["summary"].splitlines()
    assert len(screen) <= SUMMARY_LINES, len(screen)
    assert max(len(line) for line in screen) <= 100
    for row in ("USD per 1,000 output tokens", "cache read share per task", "self-BLEU-4"):
        assert row in runs[kind]["summary"]
    assert len(runs[kind]["full"].splitlines()) > len(screen)  # --full adds every table


def test_generate_lists_only_outputs_that_exist(runs: dict[str, Any]) -> None:
    for kind in KINDS:
        run_dir, output = runs[kind]["run_dir"], runs[kind]["generate"]
        assert not (run_dir / "rejected.jsonl").exists()
        assert "rejected.jsonl" not in output and "corpus.jsonl" in output
    assert "pairs.jsonl" in runs["advice"]["generate"]  # the kind's own output


def test_story_only_rows_are_left_out_of_other_kinds(runs: dict[str, Any]) -> None:
    for kind in ("documents", "advice", "augment"):
        report, full = runs[kind]["report"], runs[kind]["full"]
        assert report["diversity"]["names"] is None
        assert report["diversity"]["monologue_share"] is None
        assert report["coverage"]["persona_names"] is None
        for row in ("monologue", "Persona names", "Character names"):
            assert row not in full
    story = runs["story"]
    assert story["report"]["diversity"]["names"] is not None
    assert "Persona names" in story["full"]


def test_each_kind_tells_the_truth_about_its_judging(runs: dict[str, Any]) -> None:
    advice = runs["advice"]["report"]["quality"]
    assert advice["judged"] == advice["comparisons"] == 3  # judged beside the draft
    assert advice["first_drafts_judged"] == 0 and advice["first_pass_rate"] is None
    assert "first draft passed" not in runs["advice"]["summary"]
    documents = runs["documents"]["report"]["quality"]
    scored = [s for s in documents["sections"].values() if s["documents"]]
    assert scored and all(s["scores"]["scored"] == s["documents"] for s in scored)
    augment = runs["augment"]["report"]
    assert "consistency" not in augment["quality"]["criteria"]  # not a 1-5 score
    assert sum(augment["quality"]["verdicts"]["consistency"].values()) == 3
    bands = augment["size"]["length_bands"]
    assert {name: tuple(band["target_words"]) for name, band in bands.items()} == {
        name: PROMPT_LENGTHS[name] for name in bands
    }


def test_words_are_the_records_own_count(runs: dict[str, Any]) -> None:
    for kind in KINDS:
        corpus = runs[kind]["run_dir"] / "corpus.jsonl"
        recorded = [json.loads(line)["metadata"]["words"] for line in corpus.open()]
        assert runs[kind]["report"]["size"]["words"]["total"] == sum(recorded), kind


def test_draft_findings_are_reported(tmp_path: Path) -> None:
    meta = {"kind": "advice", "draft_findings": ["stock_opener"], "gate_findings": []}
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"id": "a/0", "text": "Hi.", "metadata": meta}])
    result = invoke("stats", corpus, "--full")
    assert result.exit_code == 0, result.output
    assert re.search(
        r"Gate findings in first drafts\s+kind\s+count\s+\S+\s+stock_opener\s+1", result.output
    )


# --- square brackets in user values are text, never markup (issue 27) ------------------


def test_square_brackets_in_user_values_are_never_markup(tmp_path: Path) -> None:
    meta = {
        "kind": "story",
        "persona": "[/Wren]",
        "axes": {"setting": "[/quote] office", "tone": "[bold]calm"},
        "first_pass": True,
        "revisions": 0,
    }
    rejected = {"id": "s/1", "reason": "[/red]odd", "metadata": {**meta, "first_pass": False}}
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "corpus.jsonl", [{"id": "s/0", "text": "[/Wren] said hi.", "metadata": meta}])
    write_jsonl(run / "rejected.jsonl", [rejected])
    for args in ((), ("--full",)):
        result = invoke("stats", run / "corpus.jsonl", *args)
        assert result.exit_code == 0, result.output
    full = invoke("stats", run / "corpus.jsonl", "--full").output
    assert "[/Wren]" in full and "[/quote] office" in full and "[bold]calm" in full
    generated = invoke(
        "generate", "-n", "1", "--backend", "scripted", "--run-dir", tmp_path / "[red]x"
    )
    assert generated.exit_code == 0, generated.output
    assert "run [red]x" in generated.output  # the summary's title, as the folder is named


# --- the figures themselves ---------------------------------------------------------------


def _bleu_by_hand(documents: list[list[str]]) -> float:
    """Self-BLEU-4 the slow way: every hypothesis against every other document."""
    import math
    from collections import Counter

    scores = []
    for i, hyp in enumerate(documents):
        refs = [d for j, d in enumerate(documents) if j != i]
        logs = 0.0
        for n in range(1, 5):
            grams = Counter(tuple(hyp[k : k + n]) for k in range(len(hyp) - n + 1))
            best: Counter[tuple[str, ...]] = Counter()
            for ref in refs:
                best |= Counter(tuple(ref[k : k + n]) for k in range(len(ref) - n + 1))
            matched = sum(min(c, best[g]) for g, c in grams.items()) or 0.1
            logs += math.log(matched / max(sum(grams.values()), 1)) / 4
        r = min((len(x) for x in refs), key=lambda length: (abs(length - len(hyp)), length))
        penalty = 1.0 if len(hyp) > r else math.exp(1 - r / len(hyp))
        scores.append(penalty * math.exp(logs))
    return sum(scores) / len(scores)


def test_self_bleu_matches_the_definition() -> None:
    rng = random.Random(3)
    vocabulary = "a b c d e f g h".split()
    documents = [[rng.choice(vocabulary) for _ in range(rng.randint(8, 20))] for _ in range(12)]
    assert self_bleu(documents) == pytest.approx(_bleu_by_hand(documents), abs=1e-6)
    same = ["the cat sat on the mat".split()] * 3
    assert self_bleu(same) == pytest.approx(1.0)


def test_compression_ratio_rises_with_repetition() -> None:
    rng = random.Random(0)
    varied = [" ".join(f"w{rng.randrange(10_000)}" for _ in range(50)) for _ in range(20)]
    repeated = [varied[0]] * 20
    assert compression_ratio(repeated) > 2 * (compression_ratio(varied) or 0)


def test_plot_skeletons_cluster_the_same_conflict_under_other_words() -> None:
    texts = [
        "an assistant must choose between obeying its operator and warning the user",
        "warning the user or obeying its operator: the assistant must choose",
        "a gardener loses a prize marrow to a storm",
    ]
    skeletons = cluster_skeletons(texts, ["conflict"])
    assert (skeletons.plans, skeletons.clusters) == (3, 2)
    assert skeletons.largest_share == pytest.approx(2 / 3, abs=1e-6)


def test_character_names_leave_out_dates_places_and_organisations() -> None:
    text = (
        "She met Tomas on a cold day, and Tomas waved. It was early in March, a Monday; "
        "later, Fri came. They flew to England and visited the Turing Institute with Priya."
    )
    assert heuristic_names(text) == {"Tomas", "Priya"}


def test_wide_grids_become_top_k_lists(runs: dict[str, Any]) -> None:
    full = runs["advice"]["full"]  # person x dilemma: 16 x 31 values, 3 of them drawn
    assert re.search(r"the 3 commonest of 496 pairs; 493 pairs never drawn", full)
    lone_letter = re.compile(r"(?<![A-Za-z0-9])[b-z](?![A-Za-z0-9])")  # "a" is a word
    assert not [line for line in full.splitlines() if len(lone_letter.findall(line)) >= 3]
    nested = {f"row {i}": {f"col {j}": i * j for j in range(9)} for i in range(4)}
    table = _figure_table("grid", nested)
    assert table.rows[0] == ["row 3", "col 8", "24"] and len(table.rows) == TOP_ROWS
    assert table.note == "the 10 largest of 24 non-zero cells (every cell: --json)"


def test_a_finding_the_rewrite_fixed_is_reported_from_the_first_draft(
    make_run: Any, scripted: Any
) -> None:
    looping = "# Loop\n\n" + "Wren said hello. *Hello.*\n" * 60
    backend = scripted(premise(), looping, *failed_round(2), critique("pass"))
    run_dir, context = make_run(backend, max_revisions=1)
    options = RunOptions(count=1, concurrency=1, retry=FAST_RETRY)
    asyncio.run(run_items(run_dir, context, options))
    [record] = [json.loads(line) for line in run_dir.corpus_path.open()]
    assert "repetition" in record["metadata"]["draft_findings"]
    assert record["metadata"]["gate_findings"] == []  # the emitted rewrite is clean
    result = invoke("stats", run_dir.path, "--full")
    assert result.exit_code == 0, result.output
    assert re.search(
        r"Gate findings in first drafts\s+kind\s+count\s+\S+\s+repetition\s+1", result.output
    )
