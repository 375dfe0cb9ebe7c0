"""The augment kind end to end: `storyloom generate --kind augment` as a real process on the
scripted backend (template system prompts, the offline consistency rule)."""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from augment_source import write_source
from cli_process import run_to_end, scripted_env, start_logged, wait_for_header
from click.testing import CliRunner, Result
from jsonl_files import records
from jsonschema import Draft202012Validator

from storyloom.cli.main import cli
from storyloom.stories.augment.figures import augment_figures


def generate(
    run_dir: Path, source: Path, count: int, *extra: str, concurrency: int = 8
) -> list[str]:
    return [
        sys.executable, "-m", "storyloom.cli", "generate", "--kind", "augment",
        "--source", str(source), "-n", str(count), "--backend", "scripted",
        "--run-dir", str(run_dir), "--concurrency", str(concurrency), *extra,
    ]  # fmt: skip


def invoke(argv: list[str]) -> Result:
    """The same command in this process (no start-up cost): argv without the interpreter."""
    return CliRunner().invoke(cli, argv[3:], env={"COLUMNS": "200"})


def source_turns(source: Path) -> dict[str, list[dict[str, Any]]]:
    """Each chat's turns by id, read straight from the file (not through storyloom)."""
    turns = {}
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        chat = json.loads(line)
        turns[str(chat.get("id", number))] = chat.get("messages") or [
            {"role": "user", "content": chat["prompt"]},
            {"role": "assistant", "content": chat["response"]},
        ]
    return turns


def check_run(run_dir: Path, source: Path, count: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Every item once; every emitted example's turns exactly the source's; every
    rejected one with a reason, and every flagged one in flagged.jsonl with its reason."""
    corpus = records(run_dir / "corpus.jsonl")
    rejected = records(run_dir / "rejected.jsonl")
    flagged = records(run_dir / "flagged.jsonl")
    ids = [r["id"] for r in corpus + rejected]
    assert sorted(ids) == sorted(f"{run_dir.name}/{i}" for i in range(count))
    turns = source_turns(source)
    for record in corpus:
        meta = record["metadata"]
        system, *kept = record["messages"]
        assert system["role"] == "system" and system["content"].strip()
        assert kept == turns[meta["source"]["id"]], record["id"]
        response = kept[-1]["content"].encode("utf-8")
        assert hashlib.sha256(response).hexdigest() == meta["source"]["response_sha256"]
        assert [t["name"] for t in record["tools"]] == meta["tools"]
        for tool in record["tools"]:
            Draft202012Validator.check_schema(tool["input_schema"])
            assert tool["input_schema"]["type"] == "object"
    flagged_ids = [f["id"] for f in flagged]
    assert len(flagged_ids) == len(set(flagged_ids)), "an example was flagged twice"
    for record in rejected:
        assert record["reason"]
        if (record["metadata"].get("consistency") or {}).get("changes_ideal_response"):
            assert record["id"] in flagged_ids
    assert set(flagged_ids) <= {r["id"] for r in rejected}
    assert all(f["reason"] and f["source_id"] in turns for f in flagged)
    return corpus, rejected, flagged


def output_bytes(run_dir: Path) -> dict[str, bytes]:
    names = ("corpus.jsonl", "rejected.jsonl", "flagged.jsonl")
    return {n: (run_dir / n).read_bytes() for n in names if (run_dir / n).exists()}


@pytest.mark.slow
def test_a_1000_chat_source_is_wrapped_unchanged_or_flagged(tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 1000, pairs_every=7)
    run_dir = tmp_path / "aug"
    done = run_to_end(generate(run_dir, source, 1000, concurrency=16), timeout=600)
    assert done.returncode == 0, done.stderr
    corpus, rejected, flagged = check_run(run_dir, source, 1000)
    assert len(corpus) >= 950 and flagged
    assert {r["reason"] for r in rejected} == {"max_revisions"}  # flagged, nothing else
    assert len(flagged) == len(rejected)
    assert any(r["metadata"]["context_round"] > 0 for r in corpus)  # redrawn, then passed
    before = output_bytes(run_dir)
    again = run_to_end(generate(run_dir, source, 1000, concurrency=16), timeout=600)
    assert again.returncode == 0, again.stderr
    assert output_bytes(run_dir) == before


def test_a_run_emits_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 24, pairs_every=5)
    run_dir = tmp_path / "aug"
    done = invoke(generate(run_dir, source, 24))
    assert done.exit_code == 0, done.output
    corpus, rejected, _ = check_run(run_dir, source, 24)
    assert len(corpus) >= 20
    figures = augment_figures(corpus, rejected)  # what `storyloom stats` will show
    assert figures["Flagged by the consistency check"]["examples"] == 24
    assert figures["Tool domains covered"]["domains covered"] >= 10
    assert figures["Token inflation over the source"]["inflation (output / source)"] > 1.5
    assert figures["Refuse/comply ratio"]["source refusals"] == 12  # even chats refuse
    before = output_bytes(run_dir)
    again = invoke(generate(run_dir, source, 24))
    assert again.exit_code == 0, again.output
    assert output_bytes(run_dir) == before


@pytest.mark.slow
def test_a_killed_run_resumes_with_every_example_once(tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 80)
    run_dir = tmp_path / "aug"
    stderr_path = tmp_path / "stderr.txt"
    argv = generate(run_dir, source, 80, concurrency=4)
    process = start_logged(argv, stderr_path, scripted_env(0.05))
    wait_for_header(stderr_path, process)
    time.sleep(0.8)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert len(records_tolerant(run_dir / "corpus.jsonl")) < 80
    done = run_to_end(generate(run_dir, source, 80, concurrency=16), timeout=600)
    assert done.returncode == 0, done.stderr
    check_run(run_dir, source, 80)


def records_tolerant(path: Path) -> list[str]:
    """The whole lines of a file a kill may have torn."""
    if not path.exists():
        return []
    return [line for line in path.read_bytes().split(b"\n")[:-1] if line]


def test_per_source_wraps_each_chat_in_distinct_contexts_and_caps_n(tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 6)
    refused = invoke(generate(tmp_path / "over", source, 7))
    assert refused.exit_code != 0
    assert refused.output.strip().splitlines()[-1] == (
        "Error: the augment kind can make at most 6 items from these inputs, not 7"
    )
    assert not (tmp_path / "over").exists()

    run_dir = tmp_path / "twice"
    done = invoke(generate(run_dir, source, 12, "--option", "per_source=2"))
    assert done.exit_code == 0, done.output
    corpus, rejected, _ = check_run(run_dir, source, 12)
    contexts: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for record in corpus + rejected:
        meta = record["metadata"]
        context = (meta["profile"]["id"], tuple(meta["tools"]), meta["system_prompt_sha256"])
        contexts[meta["source"]["id"]].append(context)
    assert sorted(len(c) for c in contexts.values()) == [2] * 6
    assert all(len(set(c)) == 2 for c in contexts.values())


def test_a_malformed_source_is_one_line_and_nothing_is_created(tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 3)
    lines = source.read_text().splitlines()
    source.write_text("\n".join([lines[0], lines[1][:-5], lines[2]]) + "\n")
    run_dir = tmp_path / "aug"
    refused = invoke(generate(run_dir, source, 2))
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    errors = [line for line in refused.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"Error: {source}: line 2 is not valid JSON")
    assert not run_dir.exists()


def test_generate_help_offers_the_inputs_and_says_source_is_required() -> None:
    shown = " ".join(CliRunner().invoke(cli, ["generate", "--help"]).output.split())
    source = "--source PATH JSONL chats to wrap (messages, or prompt/response) (kind augment)"
    assert f"{source} [required]" in shown
    tools = "--tools PATH Tool definitions JSON (kind augment)"
    assert f"{tools} [default: the bundled sample]" in shown
