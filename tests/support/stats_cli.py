"""`storyloom stats` run in this process, for the report tests: its result, and the
report it writes with `--json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from storyloom.cli.stats_cmd import stats


def run_stats(args: list[str]) -> Result:
    return CliRunner().invoke(stats, args)


def stats_json(tmp_path: Path, args: list[str]) -> dict[str, Any]:
    """The `--json` report of `stats ARGS`, written to `tmp_path` (the run must succeed)."""
    out = tmp_path / "out.json"
    result = run_stats([*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))
