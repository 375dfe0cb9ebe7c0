"""NearDuplicateIndex: detection, verification, atomic check-and-insert, the journal file,
staleness and rebuilding from a corpus."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from dedupe_corpus import PlantedCorpus, build_corpus

from storyloom.dedupe.index import NearDuplicateIndex, StaleIndexError
from storyloom.dedupe.lsh import BandLayout, candidate_probability


@pytest.fixture(scope="module")
def corpus() -> PlantedCorpus:
    return build_corpus(120, seed=4, words_per_doc=400)


def test_planted_near_duplicates_are_found_and_distinct_stories_are_not(
    corpus: PlantedCorpus,
) -> None:
    index = NearDuplicateIndex()
    flagged = {}
    for number, text in enumerate(corpus.texts):
        match = index.check_and_insert(str(number), text)
        if match is not None:
            flagged[number] = int(match)
    found = {tuple(sorted(pair)) for pair in flagged.items()}
    assert found == set(corpus.planted_pairs)
    assert len(index) == len(corpus.texts) - len(corpus.planted_pairs)


def test_replaying_a_key_already_inside_is_not_a_duplicate_of_itself(corpus: PlantedCorpus) -> None:
    index = NearDuplicateIndex()
    assert index.check_and_insert("a", corpus.texts[0]) is None
    assert index.check_and_insert("a", corpus.texts[0]) is None
    assert len(index) == 1
    assert "a" in index
    assert index.check_and_insert("b", corpus.texts[0]) == "a"
    assert "b" not in index


def test_find_duplicate_does_not_insert(corpus: PlantedCorpus) -> None:
    index = NearDuplicateIndex()
    index.check_and_insert("first", corpus.texts[0])
    assert index.find_duplicate(corpus.texts[0]) == "first"
    assert index.find_duplicate(corpus.texts[1]) is None
    assert len(index) == 1
    match = index.find_match(corpus.texts[0])
    assert match is not None and match.similarity == 1.0


def test_lsh_candidates_are_verified_against_the_threshold() -> None:
    base = " ".join(f"word{i}" for i in range(300))
    # Replace every 8th word: 3 in 8 five-word shingles survive (Jaccard about 0.23).
    edited = " ".join(f"other{i}" if i % 8 == 0 else f"word{i}" for i in range(300))
    # One row per band: any single agreeing slot makes the pair an LSH candidate.
    permissive = BandLayout(bands=128, rows=1)
    strict_index = NearDuplicateIndex(threshold=0.4, layout=permissive)
    strict_index.check_and_insert("base", base)
    estimate = strict_index.signature(edited) == strict_index.signature(base)
    assert 0 < estimate.mean() < 0.4  # it is a candidate, and below the threshold
    assert strict_index.find_duplicate(edited) is None
    loose_index = NearDuplicateIndex(threshold=0.01, layout=permissive)
    loose_index.check_and_insert("base", base)
    assert loose_index.find_duplicate(edited) == "base"


def test_concurrent_check_and_insert_lets_one_text_per_cluster_in(corpus: PlantedCorpus) -> None:
    index = NearDuplicateIndex()
    clusters = {number: [number] for number in range(len(corpus.texts))}
    for first, second in corpus.planted_pairs:
        clusters[first].append(second)
        clusters[second] = clusters[first]
    barrier = threading.Barrier(4)

    def worker(offset: int) -> None:
        barrier.wait()
        order = list(range(len(corpus.texts)))
        order = order[offset * 30 :] + order[: offset * 30]
        for number in order:
            index.check_and_insert(str(number), corpus.texts[number])

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for first, second in corpus.planted_pairs:
        assert (str(first) in index) != (str(second) in index)
    assert len(index) == len(corpus.texts) - len(corpus.planted_pairs)


def test_the_journal_reloads_and_survives_a_torn_last_line(
    tmp_path: Path, corpus: PlantedCorpus
) -> None:
    path = tmp_path / "index.jsonl"
    index = NearDuplicateIndex(path=path)
    for number in range(5):
        index.check_and_insert(f"k{number}", corpus.texts[number])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"key": "k9", "signature": "AAAA')  # a crash in the middle of an append
    reopened = NearDuplicateIndex(path=path)
    assert len(reopened) == 5
    assert reopened.find_duplicate(corpus.texts[3]) == "k3"
    assert reopened.check_and_insert("k5", corpus.texts[5]) is None
    # The torn bytes were cut, so the new entry is a whole line and a third opening sees it.
    assert len(NearDuplicateIndex(path=path)) == 6
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines[1:]] == [f"k{n}" for n in range(6)]


def test_an_index_file_with_other_parameters_is_stale(
    tmp_path: Path, corpus: PlantedCorpus
) -> None:
    path = tmp_path / "index.jsonl"
    NearDuplicateIndex(shingle_size=5, path=path).check_and_insert("a", corpus.texts[0])
    assert NearDuplicateIndex.is_current(path, shingle_size=5)
    assert not NearDuplicateIndex.is_current(path, shingle_size=3)
    assert not NearDuplicateIndex.is_current(tmp_path / "missing.jsonl")
    with pytest.raises(StaleIndexError, match="shingle_size: stored 5, wanted 3"):
        NearDuplicateIndex(shingle_size=3, path=path)
    with pytest.raises(StaleIndexError, match="num_perm"):
        NearDuplicateIndex(num_perm=64, path=path)
    # The threshold only steers lookups: the same signatures serve another one.
    assert NearDuplicateIndex.is_current(path, threshold=0.7)
    assert len(NearDuplicateIndex(threshold=0.7, path=path)) == 1


def test_a_foreign_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes, no newline")
    with pytest.raises(StaleIndexError, match="not a storyloom dedupe index"):
        NearDuplicateIndex(path=path)
    assert path.read_text() == "my notes, no newline"
    assert not NearDuplicateIndex.is_current(path)


def test_a_torn_header_is_replaced_by_a_fresh_index(tmp_path: Path) -> None:
    path = tmp_path / "index.jsonl"
    path.write_text('{"format": "storyloom-dedupe-ind')
    index = NearDuplicateIndex(path=path)
    assert len(index) == 0
    assert NearDuplicateIndex.is_current(path)


def test_rebuild_from_a_corpus_inserts_every_document(
    tmp_path: Path, corpus: PlantedCorpus
) -> None:
    corpus_path = tmp_path / "corpus.jsonl"
    with corpus_path.open("w", encoding="utf-8") as handle:
        for number, text in enumerate(corpus.texts[:70]):
            handle.write(
                json.dumps({"id": f"run/{number:05d}", "text": text, "metadata": {}}) + "\n"
            )
        handle.write('{"id": "run/99999", "text": "torn')  # a crash while appending
    index_path = tmp_path / "dedupe-index.jsonl"
    index = NearDuplicateIndex.rebuild_from_jsonl(corpus_path, path=index_path, shingle_size=5)
    assert len(index) == 70  # near-duplicates inside the corpus were accepted: all go in
    assert "run/00069" in index and "run/99999" not in index
    assert index.find_duplicate(corpus.texts[10]) == "run/00010"
    assert NearDuplicateIndex.is_current(index_path, shingle_size=5)
    assert len(NearDuplicateIndex(path=index_path)) == 70
    index.check_and_insert("new", corpus.texts[100])  # the rebuilt index keeps journaling
    assert "new" in NearDuplicateIndex(path=index_path)


def test_rebuild_from_a_nested_field_or_any_pairs(tmp_path: Path) -> None:
    corpus_path = tmp_path / "corpus.jsonl"
    premise = "an archivist AI is asked to quietly delete a letter that embarrasses its owner"
    corpus_path.write_text(
        json.dumps({"id": "r/1", "text": "story one", "metadata": {"premise": premise}})
        + "\n"
        + json.dumps({"id": "r/2", "text": "story two", "metadata": {"premise": "other"}})
        + "\n"
    )
    index = NearDuplicateIndex.rebuild_from_jsonl(
        corpus_path, text_field="metadata.premise", shingle_size=3
    )
    assert index.find_duplicate(premise) == "r/1"
    assert index.find_duplicate("story one") is None
    direct = NearDuplicateIndex.rebuild(
        [("a", premise), ("a", "other"), ("b", "other")], path=tmp_path / "p.jsonl", shingle_size=3
    )
    assert len(direct) == 2 and direct.find_duplicate(premise) == "a"


def test_rebuild_names_a_bad_line(tmp_path: Path) -> None:
    corpus_path = tmp_path / "corpus.jsonl"
    corpus_path.write_text('{"id": "a", "text": "fine"}\nnot json\n{"id": "b", "text": "x"}\n')
    with pytest.raises(ValueError, match=r"corpus.jsonl:2: not valid JSON"):
        NearDuplicateIndex.rebuild_from_jsonl(corpus_path)
    corpus_path.write_text('{"id": "a", "body": "fine"}\n')
    with pytest.raises(ValueError, match=r"corpus.jsonl:1: no string field 'text'"):
        NearDuplicateIndex.rebuild_from_jsonl(corpus_path)


@pytest.mark.parametrize(("threshold", "bands", "rows"), [(0.4, 42, 3), (0.8, 16, 8)])
def test_band_layout_is_chosen_for_the_threshold(threshold: float, bands: int, rows: int) -> None:
    layout = BandLayout.for_threshold(threshold, 128)
    assert (layout.bands, layout.rows) == (bands, rows)
    assert layout.probability(threshold) >= 0.9
    one_more_row = rows + 1
    assert candidate_probability(threshold, bands=128 // one_more_row, rows=one_more_row) < 0.9
    assert layout.probability(threshold + 0.1) > 0.99


def test_constructor_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateIndex(threshold=0)
    with pytest.raises(ValueError, match="shingle_size"):
        NearDuplicateIndex(shingle_size=0)
    with pytest.raises(ValueError, match="need 200 slots"):
        NearDuplicateIndex(layout=BandLayout(bands=50, rows=4))
    with pytest.raises(ValueError, match="not both"):
        NearDuplicateIndex(path=tmp_path / "x", redis_client=object())  # type: ignore[arg-type]
