"""`storyloom export` against hostile runs: values a user controls reach the dataset card
as text (no HTML element, no heading, no broken YAML header), and a damaged corpus is one
plain line naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from markdown_it import MarkdownIt
from shard_runs import make_run_dir

from storyloom.cli.main import cli
from storyloom.core import layout
from storyloom.dataset.export import ExportOptions, export_run

SCRIPT = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="alert(2)">'
#: A run name that tries to end the YAML header, open a heading and inject HTML.
NAME = f'evil" \n---\nlicense: mit\n# {SCRIPT} {IMAGE} | cell ` tick [link](http://x.test)'


def test_user_values_reach_the_card_as_text(make_run, tmp_path: Path) -> None:
    run = make_run_dir(make_run, "run", 2)
    config = json.loads(run.config_path.read_text())
    config["name"] = NAME
    config["model"] = f"model {IMAGE}"
    config["settings"]["kind_options"] = {"system": f"# Be nice\n{SCRIPT}\n| a | b |"}
    config["settings"]["task_models"] = {"judge": f"judge-{SCRIPT}"}
    run.config_path.write_text(json.dumps(config))
    rejected = {"id": "run/9", "reason": f"odd {IMAGE}", "metadata": {}}
    with run.path.joinpath(layout.REJECTED_FILE).open("a") as file:
        file.write(json.dumps(rejected) + "\n")

    export_run(run.path, tmp_path / "ds", ExportOptions(stats=False))

    card = (tmp_path / "ds" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n")
    front, body = card[4:].split("\n---\n", 1)
    header = yaml.safe_load(front)
    assert header["license"] == "other"  # the name did not add or replace a key
    assert header["pretty_name"] == "storyloom story corpus: " + NAME.replace("\n", " ")
    html = MarkdownIt("commonmark").enable("table").render(body)
    for raw in ("<script", "<img", "<a ", "<h2>license"):
        assert raw not in html
    assert html.count("<h1>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    assert html.count("<table>") == body.count("\n|---|")  # no table of its own


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"text": "no id", "metadata": {}}, "id: field required"),
        ({"id": 7, "text": "an integer id", "metadata": {}}, "id: input should be a valid string"),
        ({"id": "run/1", "text": 42, "metadata": {}}, "text: input should be a valid string"),
    ],
)
def test_a_damaged_corpus_is_one_line_naming_the_file_and_line(
    make_run, tmp_path: Path, record: dict, problem: str
) -> None:
    run = make_run_dir(make_run, "run", 1)
    with run.corpus_path.open("a") as file:
        file.write(json.dumps(record) + "\n")
    out = tmp_path / "ds"

    result = CliRunner().invoke(cli, ["export", str(run.path), "--out", str(out)])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: {run.corpus_path}: line 2 ")
    assert problem in result.output
    assert not out.exists()
