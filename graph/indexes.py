"""The run's near-duplicate indexes: items and plans, one pair per dedupe group.

A kind may split its items into groups deduplicated apart (the story kind's persona name
variants are the same draws written under other names, meant to resemble each other).
What is indexed comes from the kind: `dedupe_text(record)` and `plan_text(plan)`.
An index journal that is missing, damaged or written with other parameters is rebuilt from
what the run already produced, so dedupe never forgets an accepted item and one bad line
cannot fail every later item.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.group_commit import GroupCommit
from storyloom.core.jsonl import JsonlReader
from storyloom.core.records import CorpusRecord, RejectedRecord, parse_record
from storyloom.dedupe.index import NearDuplicateIndex, StaleIndexError
from storyloom.graph.rundir import RunDir
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.shared import SharedRun
from storyloom.stories.kind import CorpusKind

ITEM_SHINGLE_SIZE = 5
PLAN_SHINGLE_SIZE = 3


def _records(
    path: Path, record_type: type[CorpusRecord] | type[RejectedRecord]
) -> Iterator[CorpusRecord | RejectedRecord]:
    """The records of one output (the sinks validated every line when the run opened)."""
    if path.exists():
        for number, value in JsonlReader(path).numbered():
            yield parse_record(record_type, value, path, number)


_Check = tuple[NearDuplicateIndex, str, str]


def _check_group(checks: list[_Check]) -> list[str | Exception | None]:
    """Each check's duplicate key (None: inserted), or the error its index's journal
    write raised (that index took none of its texts in; the other indexes did)."""
    outcomes: list[str | Exception | None] = [None] * len(checks)
    by_index: dict[int, list[int]] = {}
    for position, (index, _, _) in enumerate(checks):
        by_index.setdefault(id(index), []).append(position)
    for positions in by_index.values():
        index = checks[positions[0]][0]
        try:
            matches = index.check_and_insert_many([checks[p][1:] for p in positions])
        except Exception as error:
            for position in positions:
                outcomes[position] = error
            continue
        for position, match in zip(positions, matches, strict=True):
            outcomes[position] = None if match is None else match.key
    return outcomes


def _group(record: CorpusRecord | RejectedRecord) -> int:
    return int(record.metadata.get("dedupe_group", 0))


class RunIndexes:
    def __init__(
        self,
        run: RunDir,
        settings: GenerationSettings,
        kind: CorpusKind,
        shared: SharedRun | None = None,
    ) -> None:
        self._run = run
        self._shared = shared
        self._group_commit: GroupCommit[_Check, str | Exception | None] = GroupCommit(_check_group)
        self._settings = settings
        self._kind = kind
        self._items: dict[int, NearDuplicateIndex] = {}
        self._plans: dict[int, NearDuplicateIndex] = {}

    async def check_and_insert(self, index: NearDuplicateIndex, key: str, text: str) -> str | None:
        """`index.check_and_insert`, off the event loop (it hashes and fsyncs its journal).
        The texts of items that get here together are checked in one worker thread, in
        turn, so two near-duplicates in flight can never both get in, and each index's
        new entries share one journal write; returns once its entry is durable."""
        outcome = await self._group_commit((index, key, text))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def items(self, variant: int) -> NearDuplicateIndex:
        if variant not in self._items and self._shared is not None:
            self._items[variant] = self._open_shared(
                "items", variant, self._settings.dedupe_threshold, ITEM_SHINGLE_SIZE
            )
        if variant not in self._items:
            self._items[variant] = self._open(
                self._path(layout.ITEM_INDEX_STEM, variant),
                self._item_texts(variant),
                threshold=self._settings.dedupe_threshold,
                shingle_size=ITEM_SHINGLE_SIZE,
            )
        return self._items[variant]

    def plans(self, variant: int) -> NearDuplicateIndex:
        if variant not in self._plans and self._shared is not None:
            self._plans[variant] = self._open_shared(
                "plans", variant, self._settings.plan_dedupe_threshold, PLAN_SHINGLE_SIZE
            )
        if variant not in self._plans:
            self._plans[variant] = self._open(
                self._path(layout.PLAN_INDEX_STEM, variant),
                self._plan_texts(variant),
                threshold=self._settings.plan_dedupe_threshold,
                shingle_size=PLAN_SHINGLE_SIZE,
            )
        return self._plans[variant]

    def _open_shared(
        self, name: str, group: int, threshold: float, shingle_size: int
    ) -> NearDuplicateIndex:
        """An index every worker of the run shares in Redis (it outlives any worker, so a
        restarted worker finds what it and the others accepted)."""
        assert self._shared is not None
        return NearDuplicateIndex(
            threshold=threshold,
            shingle_size=shingle_size,
            redis_client=self._shared.client,
            redis_namespace=self._shared.index_namespace(name, group),
        )

    def _path(self, stem: str, variant: int) -> Path:
        return self._run.path / layout.index_file(stem, variant)

    @staticmethod
    def _open(
        path: Path, documents: Iterator[tuple[str, str]], **params: Any
    ) -> NearDuplicateIndex:
        if NearDuplicateIndex.is_current(path, **params):
            try:
                return NearDuplicateIndex(path=path, **params)
            except StaleIndexError:
                pass  # a damaged entry: what the run produced is the truth, so start over
        return NearDuplicateIndex.rebuild(documents, path=path, **params)

    def _item_texts(self, variant: int) -> Iterator[tuple[str, str]]:
        for record in _records(self._run.corpus_path, CorpusRecord):
            if isinstance(record, CorpusRecord) and _group(record) == variant:
                yield record.id, self._kind.dedupe_text(record.model_dump())

    def _plan_texts(self, variant: int) -> Iterator[tuple[str, str]]:
        outputs = itertools.chain(
            _records(self._run.corpus_path, CorpusRecord),
            _records(self._run.rejected_path, RejectedRecord),
        )
        for record in outputs:
            plan = record.metadata.get(self._kind.plan_field)
            if plan and _group(record) == variant:
                yield record.id, self._kind.plan_text(plan)
