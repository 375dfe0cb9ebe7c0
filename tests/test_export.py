"""`storyloom export`: Parquet (or JSONL) tables a trainer loads, and the dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from markdown_it import MarkdownIt
from shard_runs import lines, make_run_dir

from storyloom.cli.main import cli
from storyloom.core import layout
from storyloom.dataset.export import ExportOptions, export_run
from storyloom.dataset.outdir import OutputDirError
from storyloom.stories.judging import critique_scores

FAST = ExportOptions(stats_workers=1)


def assert_holds(loaded: Any, original: Any) -> None:
    """`loaded` (a row read back) holds `original`: the same values, where a struct may
    add the fields other rows have, as nulls; JSON-typed values read back as JSON text."""
    if isinstance(loaded, str) and not isinstance(original, str):
        loaded = json.loads(loaded)
    if isinstance(original, dict):
        assert isinstance(loaded, dict)
        for key, value in original.items():
            assert_holds(loaded[key], value)
        assert all(loaded[key] is None for key in set(loaded) - set(original))
    elif isinstance(original, list):
        assert isinstance(loaded, list) and len(loaded) == len(original)
        for got, value in zip(loaded, original, strict=True):
            assert_holds(got, value)
    else:
        assert loaded == original


def card_header(out: Path) -> dict:
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_parquet_export_reads_back_with_every_row_and_the_card_says_so(
    make_run, tmp_path: Path
) -> None:
    run = make_run_dir(make_run, "run", 4)  # items 1 and 3 rejected by the judge
    out = tmp_path / "dataset"

    options = ExportOptions(include_rejected=True, include_history=True, stats_workers=1)
    report = export_run(run.path, out, options)

    corpus = lines(run.corpus_path)
    table = pq.read_table(out / "data")
    assert table.num_rows == len(corpus) == 2
    assert table.column_names == ["id", "text", "metadata"]
    assert pa.types.is_struct(table.schema.field("metadata").type)
    first = table.to_pylist()[0]
    assert_holds(first["metadata"], corpus[0]["metadata"])
    assert first["text"] == corpus[0]["text"]
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert sorted(r["id"] for r in rejected) == ["run/1", "run/3"]
    assert {r["reason"] for r in rejected} == {"max_revisions"}
    history = pq.read_table(out / "history").to_pylist()
    assert {r["id"] for r in history} == {"run/0", "run/1", "run/2", "run/3"}
    assert all(critique_scores(json.loads(r["critique"])) for r in history)
    assert report.rows == {"default": 2, "rejected": 2, "history": 4}

    header = card_header(out)
    assert header["size_categories"] == ["n<1K"] and header["license"] == "other"
    info = {entry["config_name"]: entry for entry in header["dataset_info"]}
    assert info["default"]["splits"][0]["num_examples"] == 2
    assert [f["name"] for f in info["default"]["features"]] == ["id", "text", "metadata"]
    assert {c["config_name"] for c in header["configs"]} == {"default", "rejected", "history"}
    card = (out / "README.md").read_text()
    config = json.loads(run.config_path.read_text())
    assert config["inputs"]["constitution"]["fingerprint"] in card
    assert "| rejected: `max_revisions` | 2 |" in card
    assert "first-pass rate (judge) | 50.0%" in card


def test_chat_records_keep_messages_and_tools_in_openai_shape(make_run, tmp_path: Path) -> None:
    run = make_run_dir(make_run, "chat", 1)
    tool = {"name": "lookup", "description": "Find a thing.", "input_schema": {"type": "object"}}
    record = {
        "id": "chat/0",
        "text": "hello\nhi",
        "metadata": {"index": 0},
        "messages": [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": [{"type": "text", "text": "hi"}], "name": "bot"},
        ],
        "tools": [tool],
    }
    run.corpus_path.write_text(json.dumps(record) + "\n")

    export_run(run.path, tmp_path / "ds", ExportOptions(tools="openai", stats=False))

    [row] = pq.read_table(tmp_path / "ds" / "data").to_pylist()
    # a content that is a string here and blocks there is JSON (datasets decodes it)
    first, second = row["messages"]
    assert (first["role"], json.loads(first["content"]), first["name"]) == ("user", "hello", None)
    assert json.loads(second["content"]) == [{"type": "text", "text": "hi"}]
    assert second["name"] == "bot"
    [shaped] = row["tools"]
    assert shaped["type"] == "function"
    assert shaped["function"]["name"] == "lookup"
    assert shaped["function"]["description"] == "Find a thing."
    assert json.loads(shaped["function"]["parameters"]) == tool["input_schema"]
    assert "text" not in row  # chat records' text is left out unless asked for
    features = {f["name"]: f for f in card_header(tmp_path / "ds")["dataset_info"][0]["features"]}
    assert [f["name"] for f in features["messages"]["list"]] == ["role", "content", "name"]


def test_jsonl_export_rolls_files_and_keeps_records_whole(make_run, tmp_path: Path) -> None:
    run = make_run_dir(make_run, "run", 6)
    out = tmp_path / "ds"

    export_run(run.path, out, ExportOptions(form="jsonl", rows_per_file=2, stats=False))

    files = sorted((out / "data").iterdir())
    assert [f.name for f in files] == ["train-00000-of-00002.jsonl", "train-00001-of-00002.jsonl"]
    assert [r for f in files for r in lines(f)] == lines(run.corpus_path)
    assert card_header(out)["configs"][0]["data_files"][0]["path"] == "data/train-*.jsonl"


def test_export_never_writes_over_a_run_or_a_folder_it_did_not_make(
    make_run, tmp_path: Path
) -> None:
    run = make_run_dir(make_run, "run", 1)
    before = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    for out in (run.path, run.path / "export", tmp_path):
        with pytest.raises(OutputDirError):
            export_run(run.path, out, FAST)
    assert {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()} == before

    out = tmp_path / "ds"
    export_run(run.path, out, ExportOptions(stats=False))
    rebuilt = ExportOptions(stats=False, include_rejected=True, include_history=True)
    export_run(run.path, out, rebuilt)
    assert (out / "history").is_dir()
    # item 0 passed: `datasets` cannot load a config with no rows, so there is none
    assert not (out / "rejected").exists()
    assert "no `rejected` config" in (out / "README.md").read_text()
    assert "rejected" not in {c["config_name"] for c in card_header(out)["configs"]}


def test_cli_export_of_a_folder_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path}: not a run directory (no {layout.CONFIG_FILE})\n"


def test_a_kinds_own_file_becomes_a_config_with_message_columns(make_run, tmp_path: Path) -> None:
    run = make_run_dir(make_run, "run", 2)
    turn = [{"role": "user", "content": "what now?"}]
    pairs = [
        {"id": "run/0", "prompt": turn, "chosen": [{"role": "assistant", "content": "this"}]},
        {"id": "run/7", "prompt": turn, "chosen": []},  # an item not finished yet
    ]
    (run.path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))

    report = export_run(run.path, tmp_path / "ds", ExportOptions(stats=False))

    [row] = pq.read_table(tmp_path / "ds" / "pairs").to_pylist()
    assert row["chosen"] == [{"role": "assistant", "content": "this"}]
    assert row["prompt"] == turn
    assert report.rows["pairs"] == 1
    assert "pairs" in {c["config_name"] for c in card_header(tmp_path / "ds")["configs"]}


def test_the_card_never_shows_a_password_a_setting_held(make_run, tmp_path: Path) -> None:
    run = make_run_dir(make_run, "run", 1)
    config = json.loads(run.config_path.read_text())
    config["settings"]["kind_options"] = {"source": "https://ana:hunter2@example.org/chats"}
    run.config_path.write_text(json.dumps(config))

    export_run(run.path, tmp_path / "ds", ExportOptions(stats=False))

    card = (tmp_path / "ds" / "README.md").read_text()
    assert "hunter2" not in card and "https://***@example.org/chats" in card


def test_chat_text_is_left_out_or_rendered_with_the_role_markers_the_card_states(
    make_run, tmp_path: Path
) -> None:
    run = make_run_dir(make_run, "chat", 1)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
    ]
    record = {"id": "chat/0", "text": "hello\n\nhi", "metadata": {}, "messages": messages}
    run.corpus_path.write_text(json.dumps(record) + "\n")

    export_run(run.path, tmp_path / "roles", ExportOptions(chat_text="roles", stats=False))
    export_run(run.path, tmp_path / "plain", ExportOptions(form="jsonl", stats=False))

    [row] = pq.read_table(tmp_path / "roles" / "data").to_pylist()
    assert row["text"] == "<|system|>\nBe brief.\n\n<|user|>\nhello\n\n<|assistant|>\nhi"
    card = (tmp_path / "roles" / "README.md").read_text()
    html = MarkdownIt("commonmark").enable("table").render(card.split("\n---\n", 1)[1])
    [text_row] = [r for r in html.split("<tr>") if "<td><code>text</code></td>" in r]
    roles = ("system", "user", "assistant")
    markers = ", ".join(f"<code>&lt;|{role}|&gt;</code>" for role in roles)
    assert f"each turn opens with a line naming its role ({markers})" in text_row
    assert text_row.count("<td>") == 2  # the markers' bars did not split the row
    assert "There is no `text` column" not in card
    [line] = lines(next((tmp_path / "plain" / "data").glob("*.jsonl")))
    assert "text" not in line and line["messages"] == messages  # JSONL: values as written
    card = (tmp_path / "plain" / "README.md").read_text()
    assert "Each line of the JSONL files is one record" in card
    assert "There is no `text` column" in card and "struct in Parquet" not in card


def test_exporting_again_keeps_every_file_the_export_did_not_write(
    make_run, tmp_path: Path
) -> None:
    run = make_run_dir(make_run, "run", 2)
    out = tmp_path / "ds"
    export_run(run.path, out, ExportOptions(stats=False, include_history=True))
    users = {
        "LICENSE": b"Apache License 2.0\n",
        ".gitattributes": b"*.parquet filter=lfs\n",
        ".git/HEAD": b"ref: refs/heads/main\n",
        "data/NOTES.md": b"my notes inside a table folder\n",
    }
    for name, content in users.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(content)

    export_run(run.path, out, ExportOptions(stats=False, form="jsonl"))

    assert {name: (out / name).read_bytes() for name in users} == users
    assert not (out / "history").exists()  # the previous export's, not written this time
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "NOTES.md",
        "train-00000-of-00001.jsonl",
    ]


def test_an_export_of_another_run_is_never_written_over(make_run, tmp_path: Path) -> None:
    first = make_run_dir(make_run, "first", 1)
    second = make_run_dir(make_run, "second", 1)
    out = tmp_path / "ds"
    export_run(first.path, out, ExportOptions(stats=False))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    result = CliRunner().invoke(cli, ["export", str(second.path), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {out}: holds the export of another run, 'first'; a rebuild replaces only "
        "the same run's own output: choose a new folder\n"
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_an_export_without_its_list_of_files_is_refused_not_guessed(
    make_run, tmp_path: Path
) -> None:
    """An export of an earlier version kept no manifest: which files are ours is unknown."""
    run = make_run_dir(make_run, "run", 1)
    out = tmp_path / "ds"
    export_run(run.path, out, ExportOptions(stats=False))
    (out / ".storyloom-output.json").unlink()
    (out / "LICENSE").write_text("mine")
    with pytest.raises(OutputDirError, match="kept no list of the files it wrote"):
        export_run(run.path, out, ExportOptions(stats=False))
    (out / ".storyloom-output.json").write_text('{"files": ["../outside"]}')
    with pytest.raises(
        OutputDirError, match=r"storyloom-output.json: the list of files .* damaged"
    ):
        export_run(run.path, out, ExportOptions(stats=False))
    assert (out / "LICENSE").read_text() == "mine"
