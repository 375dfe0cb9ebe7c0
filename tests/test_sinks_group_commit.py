"""Output lines of items that finish together share one append and one fsync, and each
writer returns only once its own line is durable (`JsonlSink.write_async`)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from pathlib import Path

import pytest

from storyloom.core import files
from storyloom.graph import sinks
from storyloom.graph.sinks import JsonlSink, SinkWriteError


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_lines_finishing_together_share_a_write_and_each_returns_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "corpus.jsonl"
    sink = JsonlSink(path)
    fsyncs: list[int] = []
    real_fsync = os.fsync

    def counted(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", counted)

    async def scenario() -> list[bool]:
        async def one(i: int) -> bool:
            written = await sink.write_async({"id": f"run/{i}", "text": f"T{i}."})
            assert f"run/{i}" in _ids(path)  # returned: its line is on disk
            return written

        return await asyncio.gather(*(one(i) for i in range(20)), one(3))

    written = asyncio.run(scenario())
    assert written.count(True) == 20 and written.count(False) == 1  # run/3 once only
    assert sorted(_ids(path)) == sorted(f"run/{i}" for i in range(20))
    assert 1 <= len(fsyncs) < 5  # 21 writes in flight together, grouped
    assert sink.write({"id": "run/4", "text": "again"}) is False


def test_a_failed_group_write_leaves_the_file_whole_and_fails_every_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "corpus.jsonl"
    sink = JsonlSink(path)
    sink.write({"id": "a", "text": "A."})
    before = path.read_bytes()
    real_write = os.write

    def short_then_full(fd: int, data: bytes | memoryview) -> int:
        real_write(fd, bytes(data[:3]))
        raise OSError(errno.ENOSPC, "No space left on device")

    async def scenario() -> list[BaseException | bool]:
        monkeypatch.setattr(os, "write", short_then_full)
        try:
            return await asyncio.gather(
                *(sink.write_async({"id": f"b{i}", "text": "B."}) for i in range(5)),
                return_exceptions=True,
            )
        finally:
            monkeypatch.undo()

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, SinkWriteError) and o.errno == errno.ENOSPC for o in outcomes)
    assert path.read_bytes() == before
    assert sink.ids == {"a"}
    assert asyncio.run(sink.write_async({"id": "b0", "text": "B."})) is True
    assert _ids(path) == ["a", "b0"]
    assert sinks.read_ids(path, sink.record_type) == {"a": 1, "b0": 2}
