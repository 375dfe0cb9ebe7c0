"""The documents kind end to end through the CLI, on the scripted backend (the kind's
fake replies): a run emits documents, a rerun adds nothing, a kill mid-run then a rerun
gives every id once, `stats` shows the kind's figures, `plan` shows the balance."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cli_process import scripted_env
from click.testing import CliRunner

from storyloom.cli.main import cli
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.documents.catalog import DOCUMENT_TYPES
from storyloom.stories.documents.draws import types_for
from storyloom.stories.registry import get_kind


def storyloom(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storyloom.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def generate_args(run_dir: Path, count: int) -> list[str]:
    return [
        "generate", "--kind", "documents", "--backend", "scripted",
        "-n", str(count), "--run-dir", str(run_dir), "--concurrency", "4",
    ]  # fmt: skip


def ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_a_documents_run_emits_documents_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "docs"
    first = storyloom(*generate_args(run_dir, 20))
    assert first.returncode == 0, first.stderr
    corpus = [json.loads(line) for line in (run_dir / "corpus.jsonl").read_text().splitlines()]
    assert len(corpus) == 20
    for record in corpus:
        meta = record["metadata"]
        assert {"claim", "section", "document_type", "audience", "stance", "idea"} <= set(meta)
        assert meta["plan"]["outline"][0] not in record["text"]
        assert "messages" not in record
    before = {name: (run_dir / name).read_bytes() for name in ("corpus.jsonl",)}
    again = storyloom(*generate_args(run_dir, 20))
    assert again.returncode == 0, again.stderr
    assert (run_dir / "corpus.jsonl").read_bytes() == before["corpus.jsonl"]
    stats = storyloom("stats", run_dir, "--json", tmp_path / "stats.json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads((tmp_path / "stats.json").read_text())["counts"]["emitted"] == 20
    tables = get_kind("documents").report_profile.figures(corpus, [])
    heat = tables["documents per claim and document type"]
    assert sum(sum(row.values()) for row in heat.values()) == 20
    assert tables["copy rate (constitution spans)"]["items"] == 20


@pytest.mark.slow
def test_a_killed_documents_run_resumes_with_every_id_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "storyloom.cli", *generate_args(run_dir, 40)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=scripted_env(0.05)
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(ids(run_dir / "corpus.jsonl")) < 3:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    done = storyloom(*generate_args(run_dir, 40))
    assert done.returncode == 0, done.stderr
    seen = Counter(ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl"))
    assert len(seen) == 40 and set(seen.values()) == {1}


def test_300_draws_hold_every_document_type_within_one_of_its_share_per_claim() -> None:
    """What `storyloom plan --kind documents -n 300` will show: the draws a run makes,
    through the kind. The type is drawn within the claim (never a children's explainer
    for an adults-only claim), so it is balanced among each claim's documents."""
    kind = get_kind("documents")
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings()
    axes = [kind.draw(inputs, 0, i, settings)["axes"] for i in range(300)]
    assert {a["document_type"] for a in axes} == {doc_type.key for doc_type in DOCUMENT_TYPES}
    for claim in inputs.claims.claims:
        types = Counter(a["document_type"] for a in axes if a["claim"] == claim.id)
        allowed = types_for(inputs, claim.id)
        fair = sum(types.values()) / len(allowed)
        assert set(types) <= set(allowed)
        assert all(abs(types[key] - fair) < 1 for key in allowed), (claim.id, types)


def test_a_claim_for_a_missing_section_stops_generate_before_any_run(tmp_path: Path) -> None:
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        '{"id": "x/1", "section": "candour", "claim": "a", "reason": "b", "hard_case": "c"}\n'
    )
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        cli, [*generate_args(run_dir, 2), "--claims", str(claims)], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {claims}: line 1: claim 'x/1' names section")
    assert result.output.count("\n") == 1 and not run_dir.exists()
