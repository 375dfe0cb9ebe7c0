"""`storyloom export` of every kind's scripted run: the Parquet loads with `datasets`
with `metadata` as a dict and `tools` as a list that a chat template takes as it is, and
every sentence of the card is checked against the run it describes."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from augment_source import write_source
from click.testing import CliRunner
from jsonl_files import records
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from storyloom.cli.main import cli
from storyloom.dataset.arrow_types import JSON
from storyloom.stories.registry import get_kind

#: (kind, generate flags, the card's sentences on how its items were made)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "story": (
        ["--rewrite", "on-fail"],
        [
            "Every draft went through the kind's deterministic gates and was judged by an "
            "LLM against the kind's rubric.",
            "A draft that failed was revised after a review of the draft (`--rewrite "
            "on-fail`), up to 2 revisions; an item still failing after that was rejected.",
            "Each item was planned first; a plan at MinHash Jaccard 0.5 or more to an "
            "earlier one was planned again, up to 3 attempts.",
            "An item at MinHash Jaccard 0.4 or more to an earlier accepted one of its dedupe "
            "group (the kind's own grouping) was rejected as a near-duplicate.",
        ],
    ),
    "documents": (
        ["--max-revisions", "0"],
        [
            "Every draft went through the kind's deterministic gates and was judged by an "
            "LLM against the kind's rubric.",
            "Drafts were not revised (`--max-revisions 0`): an item whose first draft failed "
            "was rejected.",
            "Each item was planned first; a plan at MinHash Jaccard 0.5 or more to an "
            "earlier one was planned again, up to 3 attempts.",
            "An item at MinHash Jaccard 0.4 or more to an earlier accepted one was rejected "
            "as a near-duplicate.",
        ],
    ),
    "advice": (
        ["--max-revisions", "1"],
        [
            "Every draft went through the kind's deterministic gates; the first draft was "
            "not judged, and each rewrite was judged by an LLM against the kind's rubric.",
            "Every item was rewritten at least once after a review of the draft (`--rewrite "
            "always`), then revised again while it failed, up to 1 revision in all; an item "
            "still failing after that was rejected.",
            "Each item was planned first; a plan at MinHash Jaccard 0.5 or more to an "
            "earlier one was planned again, up to 3 attempts.",
            "An item at MinHash Jaccard 0.4 or more to an earlier accepted one was rejected "
            "as a near-duplicate.",
        ],
    ),
    "augment": (
        [],
        [
            "Every draft went through the kind's deterministic gates and was checked by an "
            "LLM (the kind's own check, no scored criteria).",
            "A draft that failed was revised (`--rewrite on-fail`), up to 2 revisions; an "
            "item still failing after that was rejected.",
            "A revision draws the next deployment context and writes its system prompt; the "
            "chat's turns are never rewritten: they are copied from the source unchanged.",
            "An item at MinHash Jaccard 0.4 or more to an earlier accepted one of its dedupe "
            "group (the kind's own grouping) was rejected as a near-duplicate.",
        ],
    ),
}
SECTIONS = [
    "How the items were made",
    "Files",
    "Columns of `default`",
    "Generation config",
    "Models (from the usage ledger)",
    "Inputs (content fingerprints)",
    "Counts",
    "Key figures (`storyloom stats`)",
]


@dataclass(frozen=True)
class Exported:
    kind: str
    run: Path
    out: Path


def invoke(*args: str | Path) -> None:
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module", params=list(CASES))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    kind = request.param
    base = tmp_path_factory.mktemp(kind)
    run, out = base / kind, base / "dataset"
    extra = ["--source", write_source(base / "chats.jsonl", 4)] if kind == "augment" else []
    invoke("generate", "--kind", kind, "-n", "3", "--backend", "scripted", "--run-dir", run,
           *extra, *CASES[kind][0])  # fmt: skip
    invoke("export", run, "--out", out)
    return Exported(kind, run, out)


def load(out: Path, config: str = "data") -> datasets.Dataset:
    return datasets.load_dataset("parquet", data_files=f"{out}/{config}/*.parquet", split="train")


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer made here (no download) with a chat template that prints each
    tool as JSON and each turn after its role, as Hugging Face templates do."""
    model = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    model.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=model, unk_token="[UNK]")
    tokenizer.chat_template = (
        "{%- for tool in tools or [] %}<tool>{{ tool | tojson }}</tool>\n{% endfor %}"
        "{%- for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
    )
    return tokenizer


def test_the_parquet_loads_with_nested_fields_as_dicts_and_lists(exported: Exported) -> None:
    corpus = records(exported.run / "corpus.jsonl")
    ds = load(exported.out)

    assert len(ds) == len(corpus) > 0
    for row, record in zip(ds, corpus, strict=True):
        assert row["id"] == record["id"]
        assert isinstance(row["metadata"], dict)
        holds(row["metadata"], record["metadata"])
        if "messages" in record:
            assert "text" not in row  # the words without roles are not a training text
            assert row["messages"] == record["messages"]
        else:
            assert row["text"] == record["text"]
    if exported.kind not in ("advice", "augment"):
        return
    tokenizer = tiny_tokenizer()
    for row, record in zip(ds, corpus, strict=True):
        assert ("tools" in row) == (exported.kind == "augment")  # advice gives no tools
        tools = row.get("tools")
        rendered = tokenizer.apply_chat_template(row["messages"], tools=tools, tokenize=False)
        for tool in record.get("tools") or ():  # OpenAI's function shape, schema as a dict
            shaped = {
                "type": "function",
                "function": {
                    "name": tool["name"],
                    "description": tool["description"],
                    "parameters": tool["input_schema"],
                },
            }
            assert f"<tool>{json.dumps(shaped)}</tool>" in rendered
        for message in record["messages"]:
            assert f"<|{message['role']}|>{message['content']}" in rendered


def holds(loaded: Any, original: Any) -> None:
    """`loaded` holds `original`; a struct may add other rows' fields, as nulls."""
    if isinstance(original, dict):
        for key, value in original.items():
            holds(loaded[key], value)
        assert all(loaded[key] is None for key in set(loaded) - set(original))
    elif isinstance(original, list):
        assert len(loaded) == len(original)
        for got, value in zip(loaded, original, strict=True):
            holds(got, value)
    else:
        assert loaded == original


def test_the_card_features_are_what_datasets_reads(exported: Exported) -> None:
    header = front_matter(exported.out)
    info = {entry["config_name"]: entry for entry in header["dataset_info"]}
    for config, folder in ((c["config_name"], c["data_files"][0]["path"].split("/")[0])
                           for c in header["configs"]):  # fmt: skip
        features = datasets.Features._from_yaml_list(info[config]["features"])
        assert features == load(exported.out, folder).features


def front_matter(out: Path) -> dict[str, Any]:
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("\n---\n")[0][4:])


def sections(out: Path) -> dict[str, list[str]]:
    """The card's body by `## ` section, as lines (blank lines dropped)."""
    body = (out / "README.md").read_text(encoding="utf-8").split("\n---\n", 1)[1]
    parts: dict[str, list[str]] = {"": []}
    current = ""
    for line in body.splitlines():
        if line.startswith("## "):
            current = line[3:]
            parts[current] = []
        elif line.strip():
            parts[current].append(line)
    return parts


def table(lines: list[str]) -> list[list[str]]:
    """The rows of the Markdown table in `lines` (without its head), cells unescaped."""
    rows = [line for line in lines if line.startswith("|")][2:]
    return [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        for row in rows
    ]


def json_paths(schema: pa.Schema, prefix: str = "") -> list[str]:
    paths = []
    for field in schema:
        path, kind = prefix + field.name, field.type
        while pa.types.is_list(kind):
            kind, path = kind.value_type, path + "[]"
        if kind == JSON:
            paths.append(path)
        elif pa.types.is_struct(kind):
            paths += json_paths(pa.schema(list(kind)), path + ".")
    return paths


def test_every_sentence_of_the_card_is_true_of_the_run(exported: Exported) -> None:
    config = json.loads((exported.run / "run.json").read_text())
    settings = config["settings"]
    kind = get_kind(exported.kind)
    card = sections(exported.out)
    assert list(card) == ["", *SECTIONS]
    schema = pq.read_schema(next((exported.out / "data").glob("*.parquet")))
    corpus = records(exported.run / "corpus.jsonl")
    rejected = records(exported.run / "rejected.jsonl")

    title, intro = card[""][1:]  # after the export's marker
    assert title == f"# storyloom {exported.kind} corpus: {exported.kind}"
    assert intro == (
        f"Synthetic data made with storyloom, corpus kind {exported.kind} (version "
        f"{config['kind_version']}, recipe fingerprint {config['recipe']}: prompts, rubric "
        f"and gate thresholds): {kind.summary.replace(':', ':')}."
    )

    made = card["How the items were made"]
    assert made[0] == " ".join(CASES[exported.kind][1])
    assert made[1] == "Output budgets sent with each request (`max_tokens`):"
    assert table(made) == [
        [step, f"`{task.max_tokens}`", str(settings[task.max_tokens])]
        for step, task in kind.tasks.items()
    ]

    files = table(card["Files"])
    expected_configs = {"default": len(corpus)}
    if (exported.run / "pairs.jsonl").exists():
        expected_configs["pairs"] = len(records(exported.run / "pairs.jsonl"))
    assert {row[0].strip("`"): int(row[2]) for row in files} == expected_configs

    columns = card["Columns of `default`"]
    assert [row[0].strip("`") for row in table(columns)] == schema.names
    prose = [line for line in columns if not line.startswith("|")]
    struct = [f"`{f.name}`" for f in schema if pa.types.is_struct(f.type)]
    expected = [
        f"{', '.join(struct)}: a struct in Parquet, so `datasets` gives a dict with the same "
        "fields for every row (null where a row lacks one)."
    ]
    if paths := json_paths(schema):
        expected.append(
            "Values whose shape varies between rows are Arrow JSON, which `datasets` decodes "
            f"(its `Json` feature): {', '.join(f'`{p}`' for p in paths)}."
        )
    if "messages" in schema.names:
        expected.append(
            "There is no `text` column: `messages` holds the conversation (`storyloom export "
            "--chat-text roles` adds one with role markers)."
        )
    assert prose == expected
    if "tools" in schema.names:
        tools_row = dict((r[0], r[1]) for r in table(columns))["`tools`"]
        assert "OpenAI functions" in tools_row

    generation = card["Generation config"]
    assert generation[0] == "Backend scripted, model scripted-demo."
    shown = {row[0].strip("`"): row[1].strip("`") for row in table(generation)}
    for key, value in shown.items():
        setting = settings[key]
        if setting is None:
            assert value == "not set: the model's default"
        else:
            assert value == (setting if isinstance(setting, str) else json.dumps(setting))
    steps = set(kind.tasks)
    assert ("plan_max_tokens" in shown) == ("plan" in steps)
    assert ("max_plan_attempts" in shown) == ("plan" in steps)
    assert ("rewrite" in shown) == ("max_revisions" in shown) == ("revise" in steps)
    assert "name_variants" not in shown  # the story's own, at its default
    assert set(shown) >= {task.max_tokens for task in kind.tasks.values()}

    usage = records(exported.run / "usage.jsonl")
    assert table(card["Models (from the usage ledger)"]) == [
        [
            "`scripted-demo`",
            str(len(usage)),
            str(sum(u["input_tokens"] for u in usage)),
            str(sum(u["output_tokens"] for u in usage)),
            "$0.0000",
        ]
    ]
    assert table(card["Inputs (content fingerprints)"]) == [
        [name, f"`{entry['fingerprint']}`"] for name, entry in config["inputs"].items()
    ]
    reasons = Counter(r["reason"] for r in rejected)
    assert table(card["Counts"]) == [
        ["accepted", str(len(corpus))],
        ["rejected", str(len(rejected))],
        *[[f"rejected: `{r}`", str(n)] for r, n in reasons.most_common()],
    ]

    figures = {row[0]: row[1] for row in table(card["Key figures (`storyloom stats`)"])}
    finished = len(corpus) + len(rejected)
    if kind.judge_first_draft:  # stats gives pass rates where first drafts are judged
        assert figures["final pass rate"] == f"{len(corpus) / finished:.1%}"
        assert "first-pass rate (judge)" in figures
    else:
        assert "first-pass rate (judge)" not in figures
    judge_rows = [label for label in figures if label.startswith("judge score")]
    assert bool(judge_rows) == bool(kind.rubric.criteria)
    assert not any("story" in label for label in figures) or exported.kind == "story"


def test_history_gives_a_chat_kinds_drafts_as_turns(exported: Exported, tmp_path: Path) -> None:
    invoke("export", exported.run, "--out", tmp_path / "h", "--include-history")
    history = load(tmp_path / "h", "history")
    users = {
        r["id"]: [m["content"] for m in r.get("messages") or () if m["role"] == "user"]
        for r in records(exported.run / "corpus.jsonl")
    }
    assert ("turns" in history.features) == (exported.kind in ("advice", "augment"))
    for row in history if "turns" in history.features else ():
        turns = row["turns"]
        if exported.kind == "augment":  # a draft is the system prompt alone
            assert turns == [{"role": "system", "content": row["text"]}]
            continue
        replies = json.loads(row["text"])["replies"]
        assert [t["content"] for t in turns if t["role"] == "assistant"] == replies
        assert [t["content"] for t in turns if t["role"] == "user"] == users[row["id"]]
