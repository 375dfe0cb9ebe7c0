"""The end-of-run summary reports the run's spend from its usage ledger."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from storyloom.cli.main import cli
from storyloom.cli.progress import spend_table
from storyloom.graph.rundir import RunDir

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def row_cells(output: str, label: str) -> list[str]:
    """The cells of the summary row whose first cell is `label` (e.g. 'plan')."""
    for line in output.splitlines():
        cells = line.split()
        if cells[:1] == [label]:
            return cells[1:]
    raise AssertionError(f"no row {label!r} in:\n{output}")


def as_int(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_generate_prints_per_node_tokens_equal_to_the_ledger(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    result = CliRunner(env={"COLUMNS": "120"}).invoke(
        cli, ["generate", "-n", "3", "--backend", "scripted", "--run-dir", str(run_dir)]
    )
    assert result.exit_code == 0, result.output
    sums: dict[str, list[int]] = defaultdict(lambda: [0] * (1 + len(TOKEN_FIELDS)))
    for line in (run_dir / "usage.jsonl").read_text().splitlines():
        entry = json.loads(line)
        sums[entry["node"]][0] += 1
        for i, name in enumerate(TOKEN_FIELDS, start=1):
            sums[entry["node"]][i] += entry[name]
    assert {"plan", "write", "judge"} <= set(sums)
    for node, expected in sums.items():
        cells = row_cells(result.output, node)
        assert [as_int(cell) for cell in cells[:5]] == expected, node
        assert cells[5] == "$0.0000"  # the scripted model is free; its tokens still show
    totals = [sum(column) for column in zip(*sums.values(), strict=True)]
    assert [as_int(cell) for cell in row_cells(result.output, "total")[:5]] == totals


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


def test_spend_table_skips_torn_lines_and_divides_by_accepted_documents(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.prepare()

    def call(story: str, node: str, usd: float, **tokens: int) -> str:
        return json.dumps({"story_id": story, "node": node, "model": "m", "usd": usd, **tokens})

    write_lines(
        run.usage_path,
        [
            call("run/0", "plan", 0.5, input_tokens=100, cache_write_tokens=1000) + "\n",
            call("run/0", "write", 1.5, input_tokens=50, cache_read_tokens=1000) + "\n",
            "not json at all\n",
            call("run/1", "plan", 1.0, input_tokens=300, output_tokens=40) + "\n",
            '{"story_id": "run/1", "node": "wri',  # torn by a crash
        ],
    )
    write_lines(run.corpus_path, ['{"id": "run/0", "text": "a"}\n', '{"id": "run/1", "te'])
    table = spend_table(run)
    assert table is not None
    console = Console(record=True, width=120)
    console.print(table)
    output = console.export_text()
    assert row_cells(output, "plan") == ["2", "400", "40", "1,000", "0", "$1.50"]
    assert row_cells(output, "write") == ["1", "50", "0", "0", "1,000", "$1.50"]
    assert row_cells(output, "total") == ["3", "450", "40", "1,000", "1,000", "$3.00"]
    mean = re.search(r"mean per item \(2\)\s+(.*)", output)
    assert mean is not None and mean.group(1).split() == ["1.5", "225", "20", "500", "500", "$1.50"]
    per_doc = re.search(r"per accepted item \(1\)\s+(.*)", output)  # one whole line in corpus.jsonl
    assert per_doc is not None
    assert per_doc.group(1).split() == ["3", "450", "40", "1,000", "1,000", "$3.00"]


def test_no_ledger_means_no_spend_table(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.prepare()
    assert spend_table(run) is None
