"""The CLI through click's runner: the happy path, resume, and bad input."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyloom.cli.main import cli


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def ids(path: Path) -> list[str]:
    return (
        [json.loads(line)["id"] for line in path.read_text().splitlines()] if path.exists() else []
    )


def test_generate_with_scripted_backend_emits_every_story(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    result = invoke("generate", "-n", "4", "--backend", "scripted", "--run-dir", run_dir)
    assert result.exit_code == 0, result.output
    assert sorted(ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl")) == [
        f"demo/{i}" for i in range(4)
    ]
    assert json.loads((run_dir / "run.json").read_text())["backend"] == "scripted"


def test_a_finished_run_ends_with_the_commands_to_look_at_it(tmp_path: Path) -> None:
    """A first-time user is told what to run next, on this run and one of its items; a
    capable (here scripted) backend gets no advice to switch models."""
    run_dir = tmp_path / "demo run"
    result = invoke("generate", "-n", "2", "--backend", "scripted", "--run-dir", run_dir)
    assert result.exit_code == 0, result.output
    made = ids(run_dir / "corpus.jsonl") or ids(run_dir / "rejected.jsonl")
    tail = result.output[result.output.index("Next:") :]
    assert f"storyloom stats '{run_dir}'" in tail
    assert f"storyloom inspect '{run_dir}' {shlex.quote(made[0])}" in tail
    assert "bundled" not in tail


def test_running_the_same_command_again_changes_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    args = ("generate", "-n", "3", "--backend", "scripted", "--run-dir", run_dir)
    assert invoke(*args).exit_code == 0
    before = (run_dir / "corpus.jsonl").read_bytes()
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert (run_dir / "corpus.jsonl").read_bytes() == before
    assert "finished before this start" in again.output


def test_changed_config_refuses_to_resume_and_names_the_change(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    assert (
        invoke("generate", "-n", "1", "--backend", "scripted", "--run-dir", run_dir).exit_code == 0
    )
    before = (run_dir / "corpus.jsonl").read_bytes()
    result = invoke(
        "generate", "-n", "1", "--backend", "scripted", "--run-dir", run_dir, "--max-revisions", "5"
    )
    assert result.exit_code == 1
    assert "settings.max_revisions: 2 -> 5" in result.output
    assert (run_dir / "corpus.jsonl").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--constitution", "missing.md"), "missing.md: constitution file not found"),
        (("--persona", "missing.toml"), "missing.toml: persona file not found"),
        (("--axes", "missing.toml"), "missing.toml: axes file not found"),
        (("-n", "0"), "Invalid value for '-n'"),
        (("--backend", "nope"), "Invalid value for '--backend'"),
        (
            ("--backend", "llamacpp", "--model-path", "no.gguf"),
            "no.gguf: GGUF model file not found",
        ),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = invoke("generate", "--backend", "scripted", "--run-dir", tmp_path / "r", *args)
    assert result.exit_code != 0
    assert expected in result.output
    assert "Traceback" not in result.output


def test_malformed_toml_and_sectionless_constitution(tmp_path: Path) -> None:
    persona = tmp_path / "persona.toml"
    persona.write_text("name = [unclosed")
    result = invoke("generate", "--backend", "scripted", "--persona", persona)
    assert result.exit_code == 1 and f"{persona}: invalid TOML" in result.output

    constitution = tmp_path / "c.md"
    constitution.write_text("Be good.\nNo sections here.\n")
    result = invoke("generate", "--backend", "scripted", "--constitution", constitution)
    assert result.exit_code == 1 and "has no '## ' sections" in result.output


def test_run_dir_that_is_a_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    run_file = tmp_path / "run"
    run_file.write_text("keep me")
    result = invoke("generate", "--backend", "scripted", "--run-dir", run_file)
    assert result.exit_code == 1
    assert "run directory is a file" in result.output
    assert run_file.read_text() == "keep me"


def test_graph_prints_every_node() -> None:
    result = invoke("graph")
    assert result.exit_code == 0
    for node in (
        "seed",
        "plan",
        "vet_plan",
        "write",
        "gate",
        "judge",
        "revise",
        "dedupe",
        "emit",
        "reject",
    ):
        assert f"{node}({node})" in result.output


def test_raising_n_extends_the_run_and_records_the_new_count(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    assert (
        invoke("generate", "-n", "2", "--backend", "scripted", "--run-dir", run_dir).exit_code == 0
    )
    first = (run_dir / "corpus.jsonl").read_text()
    result = invoke("generate", "-n", "3", "--backend", "scripted", "--run-dir", run_dir)
    assert result.exit_code == 0, result.output
    assert (run_dir / "corpus.jsonl").read_text().startswith(first)
    assert ids(run_dir / "corpus.jsonl") == ["demo/0", "demo/1", "demo/2"]
    assert json.loads((run_dir / "run.json").read_text())["count"] == 3
