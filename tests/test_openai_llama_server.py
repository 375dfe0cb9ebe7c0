"""`storyloom generate --backend openai` against a real `llama_cpp.server` on loopback
serving the bundled SmolLM2 (slow: CI runs it), and a dead endpoint at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llama_server import ALIAS, LlamaServer, RecordingProxy, free_port

from storyloom.backends.openai import _PROBE_PROMPT
from storyloom.stories.story.inputs import sample_path


def generate_argv(run_dir: Path, base_url: str, axes: Path) -> list[str]:
    """One short story, no revision round: the least model time a whole story takes."""
    return [
        sys.executable, "-m", "storyloom.cli", "generate", "-n", "1",
        "--backend", "openai", "--base-url", base_url, "--model", ALIAS,
        "--run-dir", str(run_dir), "--max-revisions", "0", "--concurrency", "1",
        "--axes", str(axes), "--prompt-profile", "compact",  # a 135M model behind the server
    ]  # fmt: skip


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return {**env, "COLUMNS": "200"}


@pytest.fixture
def short_axes(tmp_path: Path) -> Path:
    """The bundled axes with only the short length band."""
    text = sample_path("axes").read_text(encoding="utf-8")
    assert 'length = ["short", "medium", "long"]' in text
    path = tmp_path / "axes.toml"
    path.write_text(text.replace('length = ["short", "medium", "long"]', 'length = ["short"]'))
    return path


def lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_one_story_end_to_end_and_the_ledger_matches_the_servers_usage(
    tmp_path: Path, short_axes: Path
) -> None:
    run_dir = tmp_path / "open"
    with LlamaServer() as server, RecordingProxy(server.base_url) as proxy:
        result = subprocess.run(
            generate_argv(run_dir, proxy.base_url, short_axes),
            capture_output=True,
            env=clean_env(),
            timeout=600,
            check=False,
        )
        reported = proxy.usage(skip_prompt=_PROBE_PROMPT)
    assert result.returncode == 0, result.stderr.decode()[-3000:]

    finished = lines(run_dir / "corpus.jsonl") + lines(run_dir / "rejected.jsonl")
    assert [record["id"] for record in finished] == ["open/0"]  # emitted or rejected
    ledger = lines(run_dir / "usage.jsonl")
    assert {entry["node"] for entry in ledger} >= {"plan", "write"}
    assert all(entry["model"] == ALIAS and entry["usd"] == 0.0 for entry in ledger)
    booked_in = sum(int(e["input_tokens"]) + int(e["cache_read_tokens"]) for e in ledger)  # type: ignore[call-overload]
    booked_out = sum(int(e["output_tokens"]) for e in ledger)  # type: ignore[call-overload]
    assert (booked_in, booked_out) == (reported["prompt_tokens"], reported["completion_tokens"])


@pytest.mark.slow
def test_a_server_killed_mid_run_interrupts_the_story_instead_of_rejecting_it(
    tmp_path: Path, short_axes: Path
) -> None:
    run_dir = tmp_path / "killed"
    with LlamaServer() as server:
        process = subprocess.Popen(
            generate_argv(run_dir, server.base_url, short_axes),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
        deadline = time.monotonic() + 300
        while not lines(run_dir / "usage.jsonl") and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1].decode()[-3000:]
            time.sleep(0.2)
        server.kill()  # the plan call was answered; the next one finds nobody
        _, stderr = process.communicate(timeout=300)

    output = stderr.decode()
    assert process.returncode != 0, output[-3000:]
    assert "interrupted" in output
    assert lines(run_dir / "rejected.jsonl") == [] and lines(run_dir / "corpus.jsonl") == []


def test_a_dead_endpoint_at_start_is_one_plain_line(tmp_path: Path, short_axes: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    run_dir = tmp_path / "dead"
    result = subprocess.run(
        generate_argv(run_dir, dead, short_axes),
        capture_output=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )
    output = result.stderr.decode().strip().splitlines()

    assert result.returncode == 1
    assert len(output) == 1, output
    assert output[0].startswith("Error: ") and "--base-url" in output[0] and dead in output[0]
    assert not (run_dir / "run.json").exists()
