"""Texts checked together give what checking them one after another gives, their journal
entries share one append and one fsync, and a failed append inserts none of them
(`NearDuplicateIndex.check_and_insert_many`, `RunIndexes.check_and_insert`)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from pathlib import Path

import pytest
from dedupe_corpus import PlantedCorpus, build_corpus

from storyloom.core import files
from storyloom.dedupe.index import NearDuplicateIndex
from storyloom.graph.indexes import RunIndexes
from storyloom.graph.rundir import RunDir
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.registry import get_kind


@pytest.fixture(scope="module")
def corpus() -> PlantedCorpus:
    return build_corpus(60, seed=7, words_per_doc=300)


def _journal_keys(path: Path) -> list[str]:
    return [json.loads(line)["key"] for line in path.read_text().splitlines()[1:]]


def test_a_group_decides_as_one_after_another_with_one_fsync(
    tmp_path: Path, corpus: PlantedCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [(str(n), text) for n, text in enumerate(corpus.texts)]
    one_by_one = NearDuplicateIndex()
    expected = [one_by_one.check_and_insert_match(key, text) for key, text in entries]
    assert any(match is not None for match in expected)  # planted pairs meet in the group

    path = tmp_path / "index.jsonl"
    grouped = NearDuplicateIndex(path=path)
    grouped.check_and_insert("0", corpus.texts[0])  # one entry from before the group
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    matches = grouped.check_and_insert_many(entries)

    assert matches == expected
    assert len(fsyncs) == 1
    inserted = [key for (key, _), match in zip(entries, expected, strict=True) if match is None]
    assert _journal_keys(path) == inserted
    assert len(NearDuplicateIndex(path=path)) == len(inserted)


def test_a_failed_group_append_inserts_none_of_its_texts(
    tmp_path: Path, corpus: PlantedCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.jsonl"
    index = NearDuplicateIndex(path=path)
    index.check_and_insert("a", corpus.texts[0])
    before = path.read_bytes()

    def full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        index.check_and_insert_many([("b", corpus.texts[1]), ("c", corpus.texts[2])])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert "b" not in index and "c" not in index and len(index) == 1
    assert index.check_and_insert_many([("b", corpus.texts[1])]) == [None]
    assert _journal_keys(path) == ["a", "b"]


def test_items_in_flight_together_let_one_of_each_near_duplicate_pair_in(
    tmp_path: Path, corpus: PlantedCorpus
) -> None:
    run = RunDir(tmp_path / "run")
    run.prepare()
    indexes = RunIndexes(run, GenerationSettings(), get_kind("story"))
    items = NearDuplicateIndex()  # the texts are not stories: the default shingles

    async def scenario() -> list[str | None]:
        return await asyncio.gather(
            *(indexes.check_and_insert(items, str(n), t) for n, t in enumerate(corpus.texts))
        )

    duplicates = asyncio.run(scenario())
    for first, second in corpus.planted_pairs:
        assert (duplicates[first] is None) != (duplicates[second] is None)
    assert len(items) == len(corpus.texts) - len(corpus.planted_pairs)
