"""`storyloom stats` over corpus kinds: both run.json shapes, a kind's dimensions and own
figures (a small fake kind registered here), `--kind` for a bare corpus, chat-shaped
records, and pairwise similarity that agrees with the run's dedupe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from storyloom.cli.stats_cmd import stats

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "run"


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _run(args: list[str]) -> Result:
    return CliRunner().invoke(stats, args)


def _json(tmp_path: Path, args: list[str]) -> dict[str, Any]:
    out = tmp_path / "out.json"
    result = _run([*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def _old_shape(config: dict[str, Any]) -> dict[str, Any]:
    """run.json as written before corpus kinds: inputs at the top level, no identity."""
    old = {key: config[key] for key in ("name", "backend", "model", "settings")}
    return {**old, **config["inputs"]}


def test_old_and_new_run_config_shapes_read_the_same_inputs(tmp_path: Path) -> None:
    new = _json(tmp_path, [str(FIXTURE)])
    run = tmp_path / "old"
    shutil.copytree(FIXTURE, run)
    config = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(_old_shape(config)))
    old = _json(tmp_path, [str(run)])
    # the constitution's and the axes file's values are read from either shape: the
    # fixture's never-drawn section and axis value show as gaps in both
    for report in (old, new):
        assert report["coverage"]["uncovered_sections"] == ["oversight-and-correction"]
        assert report["coverage"]["axes"]["setting"]["a library"] == {"emitted": 0, "rejected": 0}
    assert old["coverage"] == new["coverage"]
    assert old["quality"] == new["quality"]
