"""Running `storyloom` in this process with click's CliRunner: for what a command says
and writes, which needs no process of its own and no interpreter start-up. Signals,
Ctrl-C at start-up, closed pipes and file size limits do need one: cli_process.py."""

from __future__ import annotations

import contextlib
from pathlib import Path

from click.testing import CliRunner, Result

from storyloom.cli.main import cli


def invoke(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """`storyloom ARGS` in `cwd` (default: here), with a terminal wide enough that no
    message wraps."""
    with contextlib.chdir(cwd or Path.cwd()):
        return CliRunner().invoke(
            cli, [str(arg) for arg in args], env={"COLUMNS": "300", **(env or {})}
        )


def error_line(result: Result) -> str:
    """The failure as the user sees it: a non-zero exit the CLI chose (no exception it
    let through), no traceback, and exactly one `Error:` line, on stderr."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"unhandled: {result.exception!r}"
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


def finished_run(run_dir: Path, count: int = 2) -> Path:
    """`run_dir` holding a finished run of `count` items on the scripted backend."""
    made = invoke("generate", "-n", str(count), "--backend", "scripted", "--run-dir", run_dir)
    assert made.exit_code == 0, made.output
    return run_dir
