"""One writer per run directory; a lock left by a killed process is stale, not a block."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest
from cli_process import generate_argv, run_to_end, scripted_env, start_logged, wait_for_header

from storyloom.graph.runlock import LockOwner, RunLock, RunLockedError


def test_second_generate_on_a_live_run_refuses_and_a_killed_owner_is_taken_over(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "shared"
    log = tmp_path / "first.txt"
    wide = scripted_env(0.0, columns=200)  # the refusal fits on one line
    first = start_logged(generate_argv(run_dir, 30), log, scripted_env(0.3, columns=200))
    wait_for_header(log, first)
    try:
        second = run_to_end(generate_argv(run_dir, 30), env=wide, timeout=120)
        message = second.stderr
        assert second.returncode == 1
        assert f"run directory is in use by pid {first.pid} on {socket.gethostname()}" in message
        assert "Traceback" not in message
        assert len(message.strip().splitlines()) == 1
        assert first.poll() is None, "the refused start did not disturb the live run"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)

    third = run_to_end(generate_argv(run_dir, 30), env=wide)
    output = third.stderr
    assert third.returncode == 0, output
    assert f"The previous run here (pid {first.pid}" in output
    assert "did not exit cleanly" in output


def test_lock_held_elsewhere_is_refused_with_its_owner(tmp_path: Path) -> None:
    with RunLock(tmp_path) as held:
        assert held.stale_owner is None
        with pytest.raises(RunLockedError, match=rf"in use by pid {os.getpid()} on "):
            RunLock(tmp_path).acquire()
    RunLock(tmp_path).acquire()  # free again once released


def test_note_of_a_dead_owner_is_reported_as_stale_and_replaced(tmp_path: Path) -> None:
    dead = LockOwner(pid=999_999, hostname="elsewhere", started=1_700_000_000.0)
    (tmp_path / "run.lock").write_text(json.dumps(dead.__dict__))
    lock = RunLock(tmp_path)
    lock.acquire()
    try:
        assert lock.stale_owner == dead
        note = json.loads((tmp_path / "run.lock").read_text())
        assert note["pid"] == os.getpid() and note["hostname"] == socket.gethostname()
    finally:
        lock.release()
    assert (tmp_path / "run.lock").read_text() == ""


def test_garbage_in_the_lock_file_does_not_block_a_run(tmp_path: Path) -> None:
    (tmp_path / "run.lock").write_bytes(b"\x00\xffnot json")
    with RunLock(tmp_path) as lock:
        assert lock.stale_owner is None
