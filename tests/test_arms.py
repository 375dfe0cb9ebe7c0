"""`export --arms` and `--holdout`: every arm holds the same ids, their token totals agree
within 2%, the draft arm is the first drafts, and held-out groups never reach train."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import error_line, invoke

from storyloom.dataset.arms import TOKEN_TOLERANCE
from storyloom.report.tokens import count_tokens

ADVICE_ARMS = ["final", "draft", "final_document", "draft_document"]


@pytest.fixture(scope="module")
def advice_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("arms") / "advice"
    made = invoke("generate", "--kind", "advice", "-n", "12", "--backend", "scripted",
                  "--run-dir", run)  # fmt: skip
    assert made.exit_code == 0, made.output
    return run


def rows(out: Path, arm: str, split: str = "train") -> list[dict[str, object]]:
    files = sorted((out / arm / split).glob("*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


def test_the_arms_share_ids_and_their_token_totals_agree_within_two_percent(
    tmp_path: Path, advice_run: Path
) -> None:
    out = tmp_path / "arms"
    result = invoke("export", advice_run, "--arms", "--format", "jsonl", "--out", out)
    assert result.exit_code == 0, result.output
    arms = {arm: rows(out, arm) for arm in ADVICE_ARMS}
    ids = [r["id"] for r in arms["final"]]
    assert len(ids) >= 9  # at most a quarter set aside
    assert all([r["id"] for r in arms[arm]] == ids for arm in ADVICE_ARMS)
    totals = {arm: sum(count_tokens([str(r["text"]) for r in arms[arm]])) for arm in arms}
    assert (max(totals.values()) - min(totals.values())) / max(totals.values()) <= TOKEN_TOLERANCE
    assert all("messages" in r for r in arms["final"] + arms["draft"])
    documents = arms["final_document"] + arms["draft_document"]
    assert not any("messages" in r for r in documents)
    assert all(str(r["text"]).rstrip()[-1] in ".!?\"')" for r in documents)  # never mid-sentence
    card = (out / "README.md").read_text()
    assert "| train |" in card and "config_name: draft_document" in card


def test_the_draft_arm_holds_each_items_first_draft(tmp_path: Path, advice_run: Path) -> None:
    out = tmp_path / "arms"
    assert invoke("export", advice_run, "--arms", "--format", "jsonl", "--out", out).exit_code == 0
    pairs = {}
    for line in (advice_run / "pairs.jsonl").read_text().splitlines():
        pair = json.loads(line)
        pairs.setdefault(pair["item"], pair)
    finals = {r["id"]: r for r in rows(out, "final")}
    for draft in rows(out, "draft"):
        pair = pairs[draft["id"]]
        first_reply = pair["rejected"][0]["content"]
        assert first_reply in [m["content"] for m in draft["messages"]]  # type: ignore[union-attr]
        assert draft["messages"] != finals[draft["id"]]["messages"]


def test_holdout_sets_whole_groups_aside_in_every_arm(tmp_path: Path, advice_run: Path) -> None:
    out = tmp_path / "arms"
    result = invoke("export", advice_run, "--arms", "--holdout", "dilemma", "--format", "jsonl",
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    dilemma = {}
    for line in (advice_run / "corpus.jsonl").read_text().splitlines():
        record = json.loads(line)
        dilemma[record["id"]] = record["metadata"]["axes"]["dilemma"]
    train = {arm: [r["id"] for r in rows(out, arm)] for arm in ADVICE_ARMS}
    test = {arm: [r["id"] for r in rows(out, arm, "test")] for arm in ADVICE_ARMS}
    assert test["final"] and train["final"]
    assert all(train[a] == train["final"] and test[a] == test["final"] for a in ADVICE_ARMS)
    held = {dilemma[i] for i in test["final"]}
    assert not held & {dilemma[i] for i in train["final"]}
    assert "Held out by `dilemma`" in (out / "README.md").read_text()


def test_a_story_run_has_final_and_draft_arms(tmp_path: Path) -> None:
    run = tmp_path / "story"
    made = invoke("generate", "-n", "4", "--backend", "scripted", "--run-dir", run)
    assert made.exit_code == 0, made.output
    out = tmp_path / "arms"
    result = invoke("export", run, "--arms", "--format", "jsonl", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["draft", "final"]
    assert [r["id"] for r in rows(out, "draft")] == [r["id"] for r in rows(out, "final")]


def test_bad_arms_requests_are_one_line(tmp_path: Path, advice_run: Path) -> None:
    unknown = invoke("export", advice_run, "--arms", "--holdout", "colour", "--out", tmp_path / "a")
    assert "has no 'colour' to hold out by" in error_line(unknown)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    refused = invoke("export", advice_run, "--arms", "--out", mine)
    assert "not empty" in error_line(refused)
    assert (mine / "notes.txt").read_text() == "keep"
    mixed = invoke("export", advice_run, "--arms", "--include-rejected", "--out", tmp_path / "b")
    assert mixed.exit_code == 2 and "--include-rejected" in error_line(mixed)


def test_augment_has_no_draft_arm_but_can_hold_out(tmp_path: Path) -> None:
    from augment_source import write_source

    source = write_source(tmp_path / "chats.jsonl", 4)
    run = tmp_path / "aug"
    made = invoke("generate", "--kind", "augment", "--source", source, "-n", "4",
                  "--backend", "scripted", "--run-dir", run)  # fmt: skip
    assert made.exit_code == 0, made.output
    refused = invoke("export", run, "--arms", "--out", tmp_path / "arms")
    assert "has no draft arm" in error_line(refused)
    assert not (tmp_path / "arms").exists()
    out = tmp_path / "split"
    split = invoke("export", run, "--holdout", "operator", "--format", "jsonl",
                   "--tools-shape", "openai", "--out", out)  # fmt: skip
    assert split.exit_code == 0, split.output
    train, test = rows(out, "final"), rows(out, "final", "test")
    assert train and test and len(train) + len(test) == 4
    corpus = [json.loads(line)["id"] for line in (run / "corpus.jsonl").read_text().splitlines()]
    assert sorted(str(r["id"]) for r in train + test) == sorted(corpus)
    assert all("messages" in r for r in train + test)
    tools = [tool for r in train + test for tool in r.get("tools") or []]  # type: ignore[attr-defined]
    assert tools and all(tool["type"] == "function" for tool in tools)
