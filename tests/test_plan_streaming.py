"""`storyloom plan` streams (issue 11): `plan -n 10000000 --coverage-only` was killed at
3 GB. Coverage is now counted as seeds are drawn (nothing kept), distinct premises in a
constant-memory sketch, and the real process
prints its first coverage line within seconds in flat memory and stops at once on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from storyloom.stories.distinct import DistinctCounter
from storyloom.stories.story.coverage import (
    count_distinct_premises,
    coverage,
    distinct_premises,
    planned_coverage,
)
from storyloom.stories.story.draws import persona_names, plan_seeds
from storyloom.stories.story.inputs import load_inputs


@pytest.mark.parametrize("name_variants", [False, True])
def test_planned_coverage_is_what_drawing_every_seed_gives(name_variants: bool) -> None:
    inputs = load_inputs()
    names = persona_names(inputs, name_variants=name_variants)
    seeds = plan_seeds(inputs, 4, 1500, name_variants=name_variants)
    for count in (1, 2, 3, 7, 23, 24, 25, 100, 337, 1000, 1500):
        expected = coverage(seeds[:count], inputs, names)
        assert planned_coverage(inputs, 4, count, names) == expected, count
        distinct = count_distinct_premises(inputs, 4, count, name_variants=name_variants)
        assert distinct.exact and distinct.count == distinct_premises(seeds[:count]), count


def test_the_distinct_sketch_is_exact_when_small_and_close_when_large() -> None:
    small = DistinctCounter(k=1000)
    small.add_rows(np.array([[value, 1] for value in [*range(999), *range(500)]]))
    assert small.exact and small.count == 999
    large = DistinctCounter(k=4096)
    for start in range(0, 200_000, 50_000):
        large.add_rows(np.arange(start, start + 50_000).reshape(-1, 1))
    assert not large.exact and abs(large.count - 200_000) < 200_000 * 0.05


def _vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.slow
def test_plan_ten_million_counts_in_flat_memory_and_stops_on_ctrl_c() -> None:
    """Coverage is counted as the ten million seeds are drawn (minutes on two cores: the
    story kind's mapped, constrained draws have no closed form): memory stays flat while
    it runs, and Ctrl-C ends it at once, quietly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "storyloom.cli", "plan", "-n", "10000000", "--coverage-only"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    try:
        time.sleep(12)  # imports done, drawing well under way
        assert process.poll() is None
        peak_mib = _vm_kib(process.pid, "VmHWM") / 1024
        process.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert peak_mib < 500, peak_mib  # the CLI's imports are about 210 MiB here
    assert process.returncode == 130 and time.monotonic() - stopping < 3
    assert "Traceback" not in stderr, stderr
