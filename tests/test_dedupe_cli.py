"""`storyloom dedupe` end to end: kept lines, the clusters file, bad input, atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from dedupe_corpus import PlantedCorpus, build_corpus

from storyloom.cli.dedupe_cmd import dedupe
from storyloom.dedupe import bounded, parallel, stream


@pytest.fixture(scope="module")
def corpus() -> PlantedCorpus:
    return build_corpus(150, seed=21, words_per_doc=300)


@pytest.fixture
def corpus_file(tmp_path: Path, corpus: PlantedCorpus) -> Path:
    path = tmp_path / "in.jsonl"
    corpus.write_jsonl(path)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(dedupe, list(args))
    return result.exit_code, result.output


def test_keeps_first_occurrences_and_lists_what_each_removed_document_duplicated(
    tmp_path: Path, corpus_file: Path, corpus: PlantedCorpus
) -> None:
    out, removed = tmp_path / "out.jsonl", tmp_path / "removed.jsonl"
    code, output = run(str(corpus_file), str(out), "--clusters", str(removed))
    assert code == 0, output
    later_of_each_pair = {max(pair) for pair in corpus.planted_pairs}
    input_lines = corpus_file.read_bytes().splitlines(keepends=True)
    expected = [line for number, line in enumerate(input_lines) if number not in later_of_each_pair]
    assert out.read_bytes().splitlines(keepends=True) == expected  # byte for byte, in order
    records = [json.loads(line) for line in removed.read_text().splitlines()]
    found = {(record["duplicate_of"]["line"] - 1, record["line"] - 1) for record in records}
    assert found == set(corpus.planted_pairs)
    for record in records:
        assert record["id"] == f"doc/{record['line'] - 1:06d}"
        assert record["duplicate_of"]["id"] == f"doc/{record['duplicate_of']['line'] - 1:06d}"
        assert record["document"]["text"] == corpus.texts[record["line"] - 1]
        assert 0.4 <= record["similarity"] <= 1.0
    assert f"{len(corpus.planted_pairs)} (" in output  # the summary counts the removed


def test_another_text_field_and_blank_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    text = "a story about a lighthouse keeper who answers every letter she gets " * 3
    source.write_text(
        json.dumps({"body": text})
        + "\n\n"
        + json.dumps({"body": text})
        + "\n"
        + json.dumps({"body": "something else entirely, short"})
    )
    out = tmp_path / "out.jsonl"
    code, output = run(str(source), str(out), "--text-field", "body", "--quiet")
    assert code == 0, output
    assert output == ""
    kept = [json.loads(line)["body"] for line in out.read_text().splitlines()]
    assert kept == [text, "something else entirely, short"]
    assert out.read_text().endswith("\n")  # a missing final newline is not carried over


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "fine"}\n{"text": broken\n', "in.jsonl:2: not valid JSON"),
        ('{"text": "fine"}\n{"body": "no text"}\n', "in.jsonl:2: text field 'text' is missing"),
        ('{"text": 5}\n', "in.jsonl:1: text field 'text' is not a string"),
        ('["a list"]\n', "in.jsonl:1: not a JSON object"),
        ("", "in.jsonl is empty"),
        ("\n\n", "in.jsonl holds no documents"),
    ],
)
def test_bad_input_is_one_clear_line_and_leaves_no_output(
    tmp_path: Path, content: str, message: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(content)
    out = tmp_path / "out.jsonl"
    code, output = run(str(source), str(out), "--clusters", str(tmp_path / "removed.jsonl"))
    assert code == 1
    assert message in output
    assert output.strip().count("\n") == 0  # one line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl"]  # no leftovers


def test_output_equal_to_input_is_refused_and_the_input_untouched(corpus_file: Path) -> None:
    before = corpus_file.read_bytes()
    code, output = run(str(corpus_file), str(corpus_file))
    assert code == 1 and "OUT.jsonl is the input file" in output
    alias = corpus_file.parent / "." / corpus_file.name
    code, output = run(str(corpus_file), str(alias))
    assert code == 1 and "OUT.jsonl is the input file" in output
    code, output = run(
        str(corpus_file), str(corpus_file.parent / "o.jsonl"), "--clusters", str(corpus_file)
    )
    assert code == 1 and "--clusters" in output
    assert corpus_file.read_bytes() == before


def test_bad_flags_name_the_flag(corpus_file: Path, tmp_path: Path) -> None:
    code, output = run(str(corpus_file), str(tmp_path / "o.jsonl"), "--threshold", "1.5")
    assert code == 2 and "--threshold" in output
    code, output = run(str(corpus_file), str(tmp_path / "missing" / "o.jsonl"))
    assert code == 1 and "does not exist" in output


def test_an_interrupted_run_leaves_the_previous_output_whole(
    tmp_path: Path, corpus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous complete output\n")
    calls = {"count": 0}
    original = bounded.BoundedIndex._decide_part

    def crash_midway(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["count"] += 1
        if calls["count"] == 6:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    # Chunks of 16 documents, each decided in one part: the 6th part is 80 documents in.
    monkeypatch.setattr(parallel, "CHUNK_DOCUMENTS", 16)
    monkeypatch.setattr(bounded.BoundedIndex, "_decide_part", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        stream.dedupe_jsonl(corpus_file, out)
    assert out.read_text() == "previous complete output\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
