"""Every numeric option of every command is range-checked when the command line is
parsed: `nan`, `inf` and sizes no run could use are one line and exit 2, before any file
is opened (issue 11: `--max-cost nan` ran nothing and exited 0, `--dedupe-threshold nan`
printed a pydantic traceback, `--num-perm 1000000000` tried to allocate 7.45 TiB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import files_of, one_error_line, run_storyloom

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
    result = run_storyloom(*command, option, value, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert line.startswith(f"Error: Invalid value for '{option}"), line
    assert "is not a finite number" in line or "is not in the range" in line, line
    assert files_of(tmp_path) == before  # no run directory, no output, nothing touched


def test_nan_is_named_as_not_finite(tmp_path: Path) -> None:
    result = run_storyloom(*GENERATE, "--max-cost", "nan", cwd=tmp_path)
    assert "Error: Invalid value for '--max-cost': 'nan' is not a finite number." in (
        result.stderr.splitlines()
    )
