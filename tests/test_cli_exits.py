"""How the real `storyloom` process ends when the user interrupts it or its output cannot
be written (issue 11): Ctrl-C at any moment of start-up is exit 130 and nothing printed;
`> /dev/full` is one line and exit 1; a closed pipe ends it quietly (exit 1, no output)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_process import files_of, generate_argv, scripted_env, still_there
from cli_runner import finished_run

COMMAND = [sys.executable, "-m", "storyloom.cli"]


@pytest.fixture(scope="module")
def made_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run for `stats` to read (made in this process: only the commands under
    test need one of their own)."""
    return finished_run(tmp_path_factory.mktemp("exits") / "run")


def _outputs(run: Path) -> list[list[str]]:
    return [["plan", "-n", "300"], ["stats", str(run)], ["graph"]]


def test_output_that_cannot_be_written_is_one_line(made_run: Path) -> None:
    before = files_of(made_run)
    for args in _outputs(made_run):
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [*COMMAND, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                timeout=120, env=scripted_env(0),
            )  # fmt: skip
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.splitlines() == [
            "Error: standard output: cannot write (No space left on device)"
        ], (args, result.stderr)
    assert still_there(before, made_run)


def test_a_closed_pipe_ends_the_process_quietly(made_run: Path) -> None:
    for args in _outputs(made_run):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first byte, like `| head -c 0`
        try:
            result = subprocess.run(
                [*COMMAND, *args], stdout=write_end, stderr=subprocess.PIPE, text=True,
                timeout=120, env=scripted_env(0),
            )  # fmt: skip
        finally:
            os.close(write_end)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr == "", (args, result.stderr)


@pytest.mark.parametrize("delay", [0.2, 0.5, 0.9, 1.4])
@pytest.mark.parametrize("signals", [1, 2])
def test_ctrl_c_during_start_up_exits_130_quietly(
    tmp_path: Path, delay: float, signals: int
) -> None:
    """The signal lands while the modules load (about 1-3 s here), or, late, in the run,
    which handles it as a stop: either way 130 and no traceback or `Aborted!`."""
    run = tmp_path / "run"
    process = subprocess.Popen(
        generate_argv(run, 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=scripted_env(0.5),
    )  # fmt: skip
    time.sleep(delay)
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr, stderr
