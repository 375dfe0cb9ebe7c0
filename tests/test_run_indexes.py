"""RunIndexes: one journal per persona variant, rebuilt from the run's corpus and rejected
files when missing or damaged, and a journal append that fails (disk full) leaves it whole."""

from __future__ import annotations

import errno
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from storyloom.dedupe.index import NearDuplicateIndex, StaleIndexError
from storyloom.graph.indexes import ITEM_SHINGLE_SIZE, PLAN_SHINGLE_SIZE, RunIndexes
from storyloom.graph.rundir import RunDir
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.registry import get_kind
from storyloom.stories.story.models import Premise

SETTINGS = GenerationSettings()
STORY = get_kind("story")
_VOCABULARY = [f"w{number}" for number in range(20000)]


def _text(seed: int, words: int = 200) -> str:
    return " ".join(random.Random(seed).choices(_VOCABULARY, k=words))


def _near(text: str) -> str:
    """A light edit (one word in forty replaced): well above the story threshold."""
    words = text.split()
    return " ".join("edited" if number % 40 == 7 else word for number, word in enumerate(words))


def _premise(seed: int) -> dict[str, Any]:
    return Premise(
        title=_text(seed, 4),
        logline=_text(seed + 1, 12),
        situation=_text(seed + 2, 30),
        conflict=_text(seed + 3, 12),
        values_and_why=_text(seed + 4, 25),
        emotional_arc=_text(seed + 5, 8),
        beats=[_text(seed + 6, 8), _text(seed + 7, 8), _text(seed + 8, 8)],
    ).model_dump()


def _premise_text(premise: dict[str, Any]) -> str:
    return Premise.model_validate(premise).as_text()


def _corpus_record(
    story_id: str, text: str, variant: int, premise: dict[str, Any] | None
) -> dict[str, Any]:
    return {"id": story_id, "text": text, "metadata": {"dedupe_group": variant, "premise": premise}}


def _rejected_record(story_id: str, variant: int, premise: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": story_id,
        "reason": "max_revisions",
        "detail": "the judge did not pass it",
        "findings": [],
        "last_draft": "",
        "metadata": {"dedupe_group": variant, "premise": premise},
    }


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")


def _story_journal(path: Path) -> NearDuplicateIndex:
    """Load a story journal directly, so a damaged one raises instead of being rebuilt."""
    return NearDuplicateIndex(
        path=path, threshold=SETTINGS.dedupe_threshold, shingle_size=ITEM_SHINGLE_SIZE
    )


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    run = RunDir(tmp_path / "run")
    run.prepare()
    return run


def test_each_variant_has_its_own_journal_and_variants_are_not_compared(run: RunDir) -> None:
    indexes = RunIndexes(run, SETTINGS, STORY)
    story = _text(1)
    assert indexes.items(0).check_and_insert("run/0", story) is None
    # The same draw under another name is meant to resemble variant 0: not a duplicate.
    assert indexes.items(1).check_and_insert("run/1", story) is None
    assert indexes.items(0).check_and_insert("run/2", _near(story)) == "run/0"
    assert indexes.plans(1).check_and_insert("run/1", _premise_text(_premise(5))) is None

    assert run.item_index_path == run.path / "dedupe-stories.jsonl"
    assert run.item_index_path.exists()
    assert (run.path / "dedupe-stories-v1.jsonl").exists()
    assert (run.path / "dedupe-premises-v1.jsonl").exists()
    assert not run.plan_index_path.exists()  # variant 0 premises were never asked for

    # The corpus is empty, so a reopened run can only know these stories from its journals.
    reopened = RunIndexes(run, SETTINGS, STORY)
    assert reopened.items(0).find_duplicate(_near(story)) == "run/0"
    assert reopened.items(1).find_duplicate(_near(story)) == "run/1"
    assert len(reopened.items(0)) == 1


def test_a_missing_journal_is_rebuilt_from_the_corpus(run: RunDir) -> None:
    first, second = _text(1), _text(2)
    _write_jsonl(
        run.corpus_path,
        [
            _corpus_record("run/0", first, 0, _premise(10)),
            _corpus_record("run/1", second, 1, _premise(20)),
        ],
    )
    indexes = RunIndexes(run, SETTINGS, STORY)
    assert indexes.items(0).find_duplicate(_near(first)) == "run/0"
    assert indexes.items(0).find_duplicate(_near(second)) is None  # another variant's
    assert indexes.items(1).find_duplicate(_near(second)) == "run/1"
    assert indexes.items(0).check_and_insert("run/2", _near(first)) == "run/0"
    assert len(_story_journal(run.item_index_path)) == 1


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b'{"key": "x", "signature": "!!"}\n', id="bad-signature"),
        pytest.param(b"\xff\xfe not json at all\n", id="undecodable-bytes"),
        # What a plain append left after ENOSPC: a fragment with the next entry glued on.
        pytest.param(
            b'{"key": "run/9", "signa{"key": "run/8", "signature": "AAAA"}\n', id="glued-fragment"
        ),
    ],
)
def test_a_journal_with_a_damaged_middle_line_is_rebuilt(run: RunDir, damage: bytes) -> None:
    texts = [_text(seed) for seed in range(3)]
    _write_jsonl(
        run.corpus_path,
        [
            _corpus_record(f"run/{number}", text, 0, _premise(number))
            for number, text in enumerate(texts)
        ],
    )
    RunIndexes(run, SETTINGS, STORY).items(0)  # writes the journal from the corpus
    lines = run.item_index_path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 4  # the header and three entries
    run.item_index_path.write_bytes(b"".join([lines[0], lines[1], damage, *lines[3:]]))
    with pytest.raises(StaleIndexError):
        _story_journal(run.item_index_path)

    stories = RunIndexes(run, SETTINGS, STORY).items(0)
    for number, text in enumerate(texts):
        assert stories.find_duplicate(_near(text)) == f"run/{number}"
    assert len(_story_journal(run.item_index_path)) == 3  # rewritten whole


def test_premises_are_rebuilt_from_the_corpus_and_the_rejected_stories(run: RunDir) -> None:
    accepted, rejected, other_variant = _premise(100), _premise(200), _premise(300)
    _write_jsonl(run.corpus_path, [_corpus_record("run/0", _text(1), 0, accepted)])
    _write_jsonl(
        run.rejected_path,
        [
            _rejected_record("run/1", 0, rejected),
            _rejected_record("run/2", 0, None),  # rejected before a premise was planned
            _rejected_record("run/3", 1, other_variant),
        ],
    )
    indexes = RunIndexes(run, SETTINGS, STORY)
    premises = indexes.plans(0)
    assert premises.find_duplicate(_premise_text(accepted)) == "run/0"
    assert premises.find_duplicate(_premise_text(rejected)) == "run/1"
    assert premises.find_duplicate(_premise_text(other_variant)) is None
    assert len(premises) == 2
    assert indexes.plans(1).find_duplicate(_premise_text(other_variant)) == "run/3"
    assert (
        NearDuplicateIndex(
            path=run.plan_index_path,
            threshold=SETTINGS.plan_dedupe_threshold,
            shingle_size=PLAN_SHINGLE_SIZE,
        ).find_duplicate(_premise_text(rejected))
        == "run/1"
    )


def test_an_append_that_fails_half_way_leaves_the_journal_whole(
    run: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _text(1), _text(2)
    stories = RunIndexes(run, SETTINGS, STORY).items(0)
    assert stories.check_and_insert("run/0", first) is None
    before = run.item_index_path.read_bytes()

    real_write = os.write
    calls = 0

    def disk_fills_up(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_fills_up)
    with pytest.raises(OSError) as raised:
        stories.check_and_insert("run/1", second)
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC
    assert calls == 2  # half the line really reached the file before the failure
    assert run.item_index_path.read_bytes() == before
    assert "run/1" not in stories

    assert stories.check_and_insert("run/1", second) is None
    assert stories.check_and_insert("run/2", _near(second)) == "run/1"
    reloaded = _story_journal(run.item_index_path)  # raises if any line were damaged
    assert len(reloaded) == 2
    assert reloaded.find_duplicate(_near(first)) == "run/0"
    assert reloaded.find_duplicate(_near(second)) == "run/1"
