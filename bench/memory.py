"""Peak memory of a huge count: does a command stream, or does it hold the whole run?

    .venv/bin/python bench/memory.py plan                      # plan -n 10^7 --coverage-only
    .venv/bin/python bench/memory.py plan --count 100000 --count 10000000   # flat in -n?
    .venv/bin/python bench/memory.py generate --stories 3      # generate -n 10^9, scripted

Each command runs as a child process; its peak resident set (the kernel's ru_maxrss for
the child, from wait4) is printed with the seconds until its first output (for
`generate`, until its first `--stories` stories are written) and in all.

- `plan` waits for the command to finish unless `--seconds S` stops it (SIGINT) after S
  seconds: the coverage tables come at once, counting distinct premises takes a while.
- `generate` runs `generate -n COUNT --backend scripted` in a fresh run directory and
  stops it (SIGINT, as a user would) once `--stories` stories are in `corpus.jsonl`, or
  after `--seconds`. The run is what is measured, so a `generate` that draws every seed
  up front shows here as memory that grows with `--count`.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CLI = [sys.executable, "-m", "storyloom.cli"]


@dataclass(frozen=True)
class Measurement:
    command: str
    peak_mib: float
    first_output_s: float | None
    total_s: float
    exit_code: int


def measure(
    argv: list[str],
    *,
    stop_after: float | None = None,
    stop_when: Path | None = None,
    stories: int = 0,
) -> Measurement:
    """Run `argv`; SIGINT it after `stop_after` seconds, or once `stop_when` holds
    `stories` lines; return its peak memory and timings."""
    started = time.perf_counter()
    env = {**os.environ, "COLUMNS": "120"}
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert child.stdout is not None
    os.set_blocking(child.stdout.fileno(), False)
    watch = selectors.DefaultSelector()
    watch.register(child.stdout, selectors.EVENT_READ)
    first: float | None = None
    signalled = False
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)  # poll() would reap it first
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            break
        for _ in watch.select(timeout=0.2):
            if child.stdout.read() and first is None:
                first = time.perf_counter() - started
        elapsed = time.perf_counter() - started
        due = stop_after is not None and elapsed >= stop_after
        done = stop_when is not None and _lines(stop_when) >= stories
        if done and first is None:  # generate prints to stderr: its output is the corpus
            first = elapsed
        if (due or done) and not signalled:
            child.send_signal(signal.SIGINT)
            signalled = True
    return Measurement(
        command=" ".join(["storyloom", *argv[3:]]),
        peak_mib=usage.ru_maxrss / 1024,
        first_output_s=first,
        total_s=time.perf_counter() - started,
        exit_code=child.returncode,
    )


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


def _report(result: Measurement) -> None:
    first = f"{result.first_output_s:.1f} s" if result.first_output_s is not None else "none"
    print(
        f"{result.command}: peak {result.peak_mib:.0f} MiB, first output after {first}, "
        f"{result.total_s:.1f} s in all, exit {result.exit_code}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["plan", "generate"])
    parser.add_argument(
        "--count", type=int, action="append", help="-n (repeat to compare; default 10^7/10^9)"
    )
    parser.add_argument("--seconds", type=float, help="stop the command after this long")
    parser.add_argument("--stories", type=int, default=3, help="generate: stop after these")
    args = parser.parse_args()
    if args.command == "plan":
        for count in args.count or [10**7]:
            argv = [*CLI, "plan", "-n", str(count), "--coverage-only"]
            _report(measure(argv, stop_after=args.seconds))
        return
    for count in args.count or [10**9]:
        with tempfile.TemporaryDirectory() as folder:
            run = Path(folder) / "run"
            argv = [*CLI, "generate", "-n", str(count), "--backend", "scripted"]
            argv += ["--run-dir", str(run)]
            corpus = run / "corpus.jsonl"
            _report(measure(argv, stop_after=args.seconds, stop_when=corpus, stories=args.stories))


if __name__ == "__main__":
    main()
