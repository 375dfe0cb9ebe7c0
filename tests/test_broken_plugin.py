"""One plug-in kind whose import fails (a missing dependency) does not take down the
rest (issue 27): `--help`, `kinds` and `generate --kind story` work, the broken kind is
listed with its error, and asking for it is one plain line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import one_error_line

COMMAND = [sys.executable, "-m", "storyloom.cli"]


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment where an installed distribution declares kind `shaky`, whose module
    imports a package that is not installed (what `pip install` of a plug-in without its
    extra leaves behind)."""
    site = tmp_path_factory.mktemp("site")
    (site / "shaky_kind.py").write_text("import storyloom_missing_dependency\n")
    info = site / "shaky_kind-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shaky-kind\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[storyloom.kinds]\nshaky = shaky_kind:ShakyKind\n")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )


def test_help_and_kinds_list_the_broken_plugin_and_work(
    plugin_env: dict[str, str], tmp_path: Path
) -> None:
    shown = _run(["--help"], plugin_env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "generate" in shown.stdout
    listed = _run(["kinds"], plugin_env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert {"story", "documents", "advice", "augment", "shaky"} <= set(lines)
    assert "BROKEN" in lines["shaky"]
    assert "No module named 'storyloom_missing_dependency'" in lines["shaky"]
    assert "BROKEN" not in lines["story"]
    assert "--persona" in _run(["generate", "--help"], plugin_env, tmp_path).stdout


def test_generate_of_another_kind_runs_and_the_broken_one_is_one_line(
    plugin_env: dict[str, str], tmp_path: Path
) -> None:
    made = _run(
        ["generate", "--kind", "story", "-n", "1", "--backend", "scripted",
         "--run-dir", str(tmp_path / "run")],
        plugin_env, tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "run" / "run.json").is_file()
    refused = _run(
        ["generate", "--kind", "shaky", "-n", "1", "--backend", "scripted",
         "--run-dir", str(tmp_path / "shaky")],
        plugin_env, tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2
    line = one_error_line(refused.stderr)
    assert "kind 'shaky'" in line and "storyloom_missing_dependency" in line
    assert not (tmp_path / "shaky").exists()
