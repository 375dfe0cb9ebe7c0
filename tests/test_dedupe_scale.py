"""Dedupe at scale: spilling to disk and signing on several cores change nothing in the
outputs; `--against` removes near-copies of an existing corpus and nothing else."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from dedupe_corpus import PlantedCorpus, build_corpus

from storyloom.cli.dedupe_cmd import dedupe
from storyloom.dedupe import parallel, runs
from storyloom.dedupe.index import NearDuplicateIndex
from storyloom.dedupe.runs import RunSet
from storyloom.dedupe.stream import DedupeSummary, dedupe_jsonl


@pytest.fixture(scope="module")
def corpus() -> PlantedCorpus:
    return build_corpus(400, seed=5, words_per_doc=120, duplicate_fraction=0.2)


@pytest.fixture
def corpus_file(tmp_path: Path, corpus: PlantedCorpus) -> Path:
    path = tmp_path / "in.jsonl"
    corpus.write_jsonl(path)
    return path


def _run(corpus_file: Path, out_dir: Path, **options: object) -> tuple[bytes, bytes, DedupeSummary]:
    out_dir.mkdir()
    out, clusters = out_dir / "out.jsonl", out_dir / "removed.jsonl"
    summary = dedupe_jsonl(corpus_file, out, clusters_path=clusters, **options)  # type: ignore[arg-type]
    assert sorted(path.name for path in out_dir.iterdir()) == ["out.jsonl", "removed.jsonl"]
    return out.read_bytes(), clusters.read_bytes(), summary


def test_spilling_and_worker_processes_give_byte_identical_outputs(
    tmp_path: Path, corpus_file: Path, corpus: PlantedCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _run(corpus_file, tmp_path / "memory")
    assert reference[2].spills == 0
    assert reference[2].removed >= len(corpus.planted_pairs) * 0.9
    # Small chunks and a tiny budget: dozens of spills, so runs are merged and blocks of
    # documents are joined against several runs, in small pieces.
    monkeypatch.setattr(parallel, "CHUNK_DOCUMENTS", 8)
    monkeypatch.setattr(runs, "CHUNK_ENTRIES", 64)
    monkeypatch.setattr(runs, "FENCE_EVERY", 16)
    spilled = _run(corpus_file, tmp_path / "spilled", memory_bytes=60_000)
    assert spilled[2].spills >= 8
    two_workers = _run(corpus_file, tmp_path / "workers", memory_bytes=60_000, workers=2)
    one_worker_in_memory = _run(corpus_file, tmp_path / "small-chunks")
    for other in (spilled, two_workers, one_worker_in_memory):
        assert other[0] == reference[0]
        assert other[1] == reference[1]
        assert other[2].removed == reference[2].removed
        assert other[2].clusters == reference[2].clusters


def test_a_spilled_run_set_finds_exactly_what_a_dictionary_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "FENCE_EVERY", 8)
    rng = np.random.default_rng(3)
    run_set = RunSet(tmp_path, chunk_entries=50)
    table: dict[int, list[int]] = {}
    number = 0
    for _ in range(17):  # four merges of four runs, a merge of those, then one more run
        keys = rng.integers(0, 400, size=120, dtype=np.uint64) << np.uint64(50)
        numbers = np.arange(number, number + keys.size, dtype=np.uint32)
        number += keys.size
        for key, entry in zip(keys.tolist(), numbers.tolist(), strict=True):
            table.setdefault(key, []).append(entry)
        run_set.add(keys, numbers)
    assert run_set.runs == 2 and len(run_set) == number
    wanted = np.sort(rng.integers(0, 500, size=300, dtype=np.uint64) << np.uint64(50))
    at, found = run_set.join(wanted)
    got = sorted(zip(at.tolist(), found.tolist(), strict=True))
    expected = sorted(
        (place, entry) for place, key in enumerate(wanted.tolist()) for entry in table.get(key, [])
    )
    assert got == expected
    run_set.close()
    assert list(tmp_path.iterdir()) == []


def _write(path: Path, texts: list[str], prefix: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for number, text in enumerate(texts):
            handle.write(json.dumps({"id": f"{prefix}-{number}", "text": text}) + "\n")


def test_against_removes_near_copies_of_an_existing_corpus_and_nothing_else(
    tmp_path: Path,
) -> None:
    corpus = build_corpus(240, seed=11, words_per_doc=150, duplicate_fraction=0.25)
    pairs = sorted(corpus.planted_pairs)
    in_pairs = {number for pair in pairs for number in pair}
    distinct = [number for number in range(len(corpus.texts)) if number not in in_pairs]
    originals = [corpus.texts[first] for first, _ in pairs]
    copies = [corpus.texts[second] for _, second in pairs]
    existing_a, existing_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    half = len(originals) // 2
    _write(existing_a, originals[:half] + [corpus.texts[n] for n in distinct[:20]], "a")
    _write(existing_b, originals[half:], "b")
    new_texts = [corpus.texts[n] for n in distinct[20:]]
    rng = random.Random(4)
    slots = sorted(rng.sample(range(len(new_texts) + len(copies)), len(copies)))
    merged: list[str] = []
    copy_positions: dict[int, int] = {}
    remaining_copies, remaining_new = iter(enumerate(copies)), iter(new_texts)
    for position in range(len(new_texts) + len(copies)):
        if position in slots:
            which, text = next(remaining_copies)
            copy_positions[position] = which
            merged.append(text)
        else:
            merged.append(next(remaining_new))
    new = tmp_path / "new.jsonl"
    _write(new, merged, "new")
    before = {
        path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (existing_a, existing_b)
    }
    out, removed = tmp_path / "out.jsonl", tmp_path / "removed.jsonl"
    result = CliRunner().invoke(
        dedupe,
        [
            str(new),
            str(out),
            "--against",
            str(existing_a),
            "--against",
            str(existing_b),
            "--clusters",
            str(removed),
            "--workers",
            "1",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    kept = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert kept == new_texts
    records = [json.loads(line) for line in removed.read_text().splitlines()]
    assert [record["line"] - 1 for record in records] == sorted(copy_positions)
    for record in records:
        which = copy_positions[record["line"] - 1]
        source = existing_a if which < half else existing_b
        expected_line = which + 1 if which < half else which - half + 1
        assert record["duplicate_of"]["file"] == str(source)
        assert record["duplicate_of"]["line"] == expected_line
        assert record["duplicate_of"]["id"] == f"{source.stem}-{expected_line - 1}"
    after = {
        path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (existing_a, existing_b)
    }
    assert after == before


def test_against_refuses_a_corpus_that_is_also_the_output(tmp_path: Path) -> None:
    new, existing = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    _write(new, ["one two three four five six"], "n")
    _write(existing, ["seven eight nine ten eleven"], "o")
    before = existing.read_bytes()
    result = CliRunner().invoke(dedupe, [str(new), str(existing), "--against", str(existing)])
    assert result.exit_code != 0
    assert "--against" in result.output and str(existing) in result.output
    assert existing.read_bytes() == before


def test_a_shingle_size_in_the_billions_is_refused_at_once_in_python_too() -> None:
    with pytest.raises(ValueError, match="shingle_size must be between 1 and"):
        NearDuplicateIndex(shingle_size=1_000_000_000)


def _tiny_synonym_model(folder: Path, words: list[str]) -> Path:
    """A model2vec model in which each word and its synonym (`word` + "ish") share a vector:
    a stand-in for a real embedding model, which no package here ships inside its wheel."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocabulary = {"[UNK]": 0, "[PAD]": 1}
    rows = [np.zeros(32), np.zeros(32)]
    rng = np.random.default_rng(9)
    for word in words:
        vector = rng.normal(size=32)
        for form in (word, f"{word}ish"):
            vocabulary[form] = len(rows)
            rows.append(vector)
    tokenizer = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    model = StaticModel(vectors=np.array(rows, dtype=np.float32), tokenizer=tokenizer)
    model.save_pretrained(folder)
    return folder


def test_the_semantic_pass_catches_a_paraphrase_that_minhash_misses(tmp_path: Path) -> None:
    pytest.importorskip("model2vec")
    pytest.importorskip("usearch")
    words = [f"w{number}" for number in range(200)]
    model = _tiny_synonym_model(tmp_path / "model", words)
    rng = random.Random(2)
    original = rng.sample(words[:100], 40)
    paraphrase = [f"{word}ish" for word in original]  # every word swapped for its synonym
    paraphrase[5], paraphrase[6] = paraphrase[6], paraphrase[5]
    texts = [
        " ".join(original),
        " ".join(rng.sample(words[100:], 40)),
        " ".join(paraphrase),
        " ".join(rng.sample(words[100:], 40)),
    ]
    corpus = tmp_path / "in.jsonl"
    _write(corpus, texts, "doc")
    plain, semantic = tmp_path / "plain.jsonl", tmp_path / "semantic.jsonl"
    removed = tmp_path / "removed.jsonl"
    result = CliRunner().invoke(dedupe, [str(corpus), str(plain), "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert len(plain.read_text().splitlines()) == 4  # MinHash sees no shared shingle
    result = CliRunner().invoke(
        dedupe,
        [
            str(corpus),
            str(semantic),
            "--semantic",
            str(model),
            "--clusters",
            str(removed),
            "--quiet",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    kept = [json.loads(line)["id"] for line in semantic.read_text().splitlines()]
    assert kept == ["doc-0", "doc-1", "doc-3"]
    (record,) = [json.loads(line) for line in removed.read_text().splitlines()]
    assert record["id"] == "doc-2" and record["by"] == "semantic"
    assert record["duplicate_of"] == {"line": 1, "id": "doc-0"}
    assert record["similarity"] > 0.99


def test_a_semantic_model_that_cannot_be_loaded_is_one_plain_line(tmp_path: Path) -> None:
    pytest.importorskip("model2vec")
    corpus, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(corpus, ["one two three four five six"], "n")
    missing = tmp_path / "no-model-here"
    missing.mkdir()
    result = CliRunner().invoke(dedupe, [str(corpus), str(out), "--semantic", str(missing)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: --semantic ") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("size", ["1K", "lots", "nan", "inf", "2T", "-5M"])
def test_a_memory_budget_out_of_range_is_refused_when_parsed(tmp_path: Path, size: str) -> None:
    corpus, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(corpus, ["one two three four five six"], "n")
    result = CliRunner().invoke(dedupe, [str(corpus), str(out), "--memory", size])
    assert result.exit_code == 2
    assert "Invalid value for '--memory'" in result.output
    assert not out.exists()


def test_an_interrupted_spilling_run_leaves_no_spill_files(
    tmp_path: Path, corpus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "CHUNK_DOCUMENTS", 8)
    calls = {"count": 0}
    original = RunSet.join

    def crash_on_the_third_join(self, wanted):  # type: ignore[no-untyped-def]
        calls["count"] += 1
        if calls["count"] == 3:
            raise KeyboardInterrupt
        return original(self, wanted)

    monkeypatch.setattr(RunSet, "join", crash_on_the_third_join)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(KeyboardInterrupt):
        dedupe_jsonl(corpus_file, out_dir / "out.jsonl", memory_bytes=60_000)
    assert calls["count"] == 3
    assert list(out_dir.iterdir()) == []
