"""One real end-to-end run on the bundled SmolLM2-135M model (slow; CI runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyloom.cli.main import cli


@pytest.mark.slow
def test_offline_default_run_ends_with_every_story_accounted_for(tmp_path: Path) -> None:
    run_dir = tmp_path / "smol"
    args = [
        "generate",
        "-n",
        "2",
        "--backend",
        "llamacpp",
        "--run-dir",
        str(run_dir),
        # The first draft and its judgment only: the review and rewrite that follow are the
        # same calls again (tested on the scripted backend), and each costs a minute here.
        "--max-revisions",
        "0",
        "--concurrency",
        "2",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output

    corpus = (
        [json.loads(line) for line in (run_dir / "corpus.jsonl").read_text().splitlines()]
        if (run_dir / "corpus.jsonl").exists()
        else []
    )
    rejected = (
        [json.loads(line) for line in (run_dir / "rejected.jsonl").read_text().splitlines()]
        if (run_dir / "rejected.jsonl").exists()
        else []
    )
    assert sorted(d["id"] for d in corpus + rejected) == ["smol/0", "smol/1"]
    assert all(r["reason"] for r in rejected)
    usage = (run_dir / "usage.jsonl").read_text().splitlines()
    assert usage and all(json.loads(line)["model"].startswith("SmolLM2") for line in usage)
    # The first run on the bundled model says how to move to a capable one.
    assert "The bundled 135M model is for smoke runs" in result.output

    again = CliRunner().invoke(cli, args)  # a finished run is skipped, nothing twice
    assert again.exit_code == 0
    assert len((run_dir / "usage.jsonl").read_text().splitlines()) == len(usage)
