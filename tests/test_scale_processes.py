"""Merge and export over runs made by real `storyloom generate` processes (slow: each
process start imports the whole tool)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_process import generate_argv, scripted_env
from click.testing import CliRunner
from shard_runs import item_index, lines

from storyloom.cli.main import cli
from storyloom.core import layout
from storyloom.dataset.merge import merge_runs

pytestmark = pytest.mark.slow


def whole_lines(path: Path) -> int:
    """Lines finished so far (the writer may be halfway through the next one)."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_three_worker_processes_merge_then_export(tmp_path: Path) -> None:
    workers = [tmp_path / f"w{k}" for k in range(3)]
    processes = [
        subprocess.Popen(
            [*generate_argv(w, 9), "--shard", f"{k}/3", "--run-name", "big"],
            stdout=subprocess.DEVNULL,
        )
        for k, w in enumerate(workers)
    ]
    assert [p.wait(timeout=300) for p in processes] == [0, 0, 0]

    runner = CliRunner()
    merged = runner.invoke(cli, ["merge", *map(str, workers), "--out", str(tmp_path / "m")])
    assert merged.exit_code == 0, merged.output
    records = lines(tmp_path / "m" / layout.CORPUS_FILE) + lines(
        tmp_path / "m" / layout.REJECTED_FILE
    )
    assert sorted(item_index(r) for r in records) == list(range(9))
    assert {r["id"] for r in records} == {f"big/{index}" for index in range(9)}

    out = tmp_path / "ds"
    exported = runner.invoke(
        cli, ["export", str(tmp_path / "m"), "--out", str(out), "--include-history"]
    )
    assert exported.exit_code == 0, exported.output
    emitted = lines(tmp_path / "m" / layout.CORPUS_FILE)
    assert pq.read_table(out / "data").num_rows == len(emitted)
    assert pq.read_table(out / "history").num_rows >= len(emitted)
    stats = runner.invoke(cli, ["stats", str(tmp_path / "m")])
    assert stats.exit_code == 0, stats.output


def test_merge_while_a_worker_is_still_writing(tmp_path: Path) -> None:
    run = tmp_path / "live"
    worker = subprocess.Popen(
        generate_argv(run, 40, concurrency=2),
        env=scripted_env(0.2),
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while whole_lines(run / layout.CORPUS_FILE) < 3:
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.2)
        early = merge_runs([run], tmp_path / "m")
        assert worker.poll() is None  # it really was running
    finally:
        assert worker.wait(timeout=300) == 0
    assert 3 <= early.items < 40
    late = merge_runs([run], tmp_path / "m")  # the same output, rebuilt
    assert late.items == 40
    assert len(lines(tmp_path / "m" / layout.CORPUS_FILE)) == late.emitted
