"""Every numeric option of every command is range-checked when the command line is
parsed: `nan`, `inf` and sizes no run could use are one line and exit 2, before any file
is opened (issue 11: `--max-cost nan` ran nothing and exited 0, `--dedupe-threshold nan`
printed a pydantic traceback, `--num-perm 1000000000` tried to allocate 7.45 TiB).
Parsing needs no process of its own: each command runs in this one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import files_of
from cli_runner import error_line, invoke

GENERATE = ("generate", "-n", "1", "--backend", "scripted", "--run-dir", "run")

CASES = [
    (GENERATE, "--max-cost", "nan"),
    (GENERATE, "--max-cost", "inf"),
    (GENERATE, "--timeout", "nan"),
    (GENERATE, "--timeout", "1e9"),
    (GENERATE, "--call-timeout", "nan"),
    (GENERATE, "--call-timeout", "inf"),
    (GENERATE, "--dedupe-threshold", "nan"),
    (GENERATE, "--plan-threshold", "nan"),
    (GENERATE, "--premise-threshold", "nan"),
    (GENERATE, "--premise-threshold", "-inf"),
    (GENERATE, "--temperature", "nan"),
    (GENERATE, "--seed", str(2**70)),
    (("plan",), "--seed", str(-(2**70))),
    (("dedupe", "in.jsonl", "out.jsonl"), "--threshold", "nan"),
    (("dedupe", "in.jsonl", "out.jsonl"), "--num-perm", "1000000000"),
    (("dedupe", "in.jsonl", "out.jsonl"), "--shingle-size", "1000000000"),
    (("stats", "in.jsonl"), "--sample", "1000000000"),
]


@pytest.mark.parametrize(("command", "option", "value"), CASES, ids=lambda c: str(c)[:24])
def test_an_unusable_number_is_one_line_at_parse_time(
    tmp_path: Path, command: tuple[str, ...], option: str, value: str
) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": "one two three"}) + "\n")
    before = files_of(tmp_path)
    result = invoke(*command, option, value, cwd=tmp_path)
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert line.startswith(f"Error: Invalid value for '{option}"), line
    assert "is not a finite number" in line or "is not in the range" in line, line
    assert files_of(tmp_path) == before  # no run directory, no output, nothing touched


def test_nan_is_named_as_not_finite(tmp_path: Path) -> None:
    result = invoke(*GENERATE, "--max-cost", "nan", cwd=tmp_path)
    assert (
        error_line(result) == "Error: Invalid value for '--max-cost': 'nan' is not a finite number."
    )
