"""A run's identity is its run.json, not its folder; per-task models; lean checkpoints;
a start refused before anything finished can be retried with other settings."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from storyloom.cli.main import cli


def generate(run_dir: Path, *extra: str, count: int = 6) -> str:
    result = CliRunner().invoke(
        cli,
        ["generate", "-n", str(count), "--backend", "scripted", "--run-dir", str(run_dir), *extra],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    return result.output


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_copied_and_renamed_run_directory_resumes_as_the_same_run(tmp_path: Path) -> None:
    original = tmp_path / "original"
    generate(original, count=4)
    copy = tmp_path / "renamed"
    shutil.copytree(original, copy)
    (copy / "run.lock").unlink()

    generate(copy, count=6)

    ids = [r["id"] for r in lines(copy / "corpus.jsonl") + lines(copy / "rejected.jsonl")]
    assert sorted(ids) == sorted(f"original/{i}" for i in range(6)), "ids keep the frozen name"
    assert len(ids) == len(set(ids))
    config = json.loads((copy / "run.json").read_text())
    assert config["name"] == "original"
    assert config["run_id"] == json.loads((original / "run.json").read_text())["run_id"]


def test_judge_model_receives_every_judge_call_and_nothing_else(tmp_path: Path) -> None:
    run_dir = tmp_path / "judged"
    generate(run_dir, "--judge-model", "judge-9")
    usage = lines(run_dir / "usage.jsonl")
    judge_models = {entry["model"] for entry in usage if entry["node"] == "judge"}
    other_models = {entry["model"] for entry in usage if entry["node"] != "judge"}
    assert judge_models == {"judge-9"}
    assert other_models == {"scripted-demo"}
    assert json.loads((run_dir / "run.json").read_text())["settings"]["task_models"] == {
        "judge": "judge-9"
    }


def test_a_changed_recipe_setting_refuses_to_resume_with_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    generate(run_dir, count=2)
    result = CliRunner().invoke(
        cli,
        ["generate", "-n", "2", "--backend", "scripted", "--run-dir", str(run_dir), "--seed", "5"],
    )
    assert result.exit_code == 1
    assert "run config changed (settings.seed: 0 -> 5)" in result.output
    assert "--allow-config-change" in result.output


def test_settings_change_is_taken_when_nothing_has_finished_yet(tmp_path: Path) -> None:
    run_dir = tmp_path / "fresh"
    generate(run_dir, count=1)
    for name in ("corpus.jsonl", "rejected.jsonl"):
        (run_dir / name).write_text("")  # as after a start refused before any item finished
    (run_dir / "checkpoints.sqlite").unlink()
    output = generate(run_dir, "--seed", "5", count=1)
    assert "taken, since no item had finished yet" in output
    assert json.loads((run_dir / "run.json").read_text())["settings"]["seed"] == 5


def test_checkpoints_hold_each_text_once_and_stay_under_three_times_the_output(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "lean"
    generate(run_dir, "--rewrite", "always", count=30)
    outputs = sum(
        (run_dir / n).stat().st_size
        for n in ("corpus.jsonl", "rejected.jsonl")
        if (run_dir / n).exists()
    )
    assert (run_dir / "checkpoints.sqlite").stat().st_size <= 3 * outputs
    with sqlite3.connect(run_dir / "checkpoints.sqlite") as conn:
        texts = conn.execute("SELECT count(*) FROM storyloom_texts").fetchone()[0]
        blobs = [row[0] for row in conn.execute("SELECT checkpoint FROM checkpoints")]
    # 30 items: a draw, a plan, two drafts, a review and two critiques each, at most
    # (identical texts are stored once; the rewrite's critique, which also scores the
    # draft beside it, differs from the first draft's).
    assert 30 * 3 <= texts <= 30 * 7
    assert max(len(blob) for blob in blobs) < 1200, "no text is copied into a checkpoint"
