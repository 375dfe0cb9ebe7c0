"""The run's two outputs, `corpus.jsonl` and `rejected.jsonl`, written idempotently.

Each story id lands in exactly one file, once. Lines are appended whole and fsynced; a
torn last line left by a crash is cut off when the run is reopened, so that story is
produced again rather than lost or half-counted.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def repair_jsonl(path: Path) -> int:
    """Cut a torn or unparsable tail off `path`; return how many bytes were removed."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = len(data)
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
    while keep > 0:
        start = data.rfind(b"\n", 0, keep - 1) + 1
        try:
            json.loads(data[start:keep])
            break
        except ValueError:
            keep = start
    if keep == len(data):
        return 0
    with path.open("r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - keep


def read_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids


class JsonlSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.repaired_bytes = repair_jsonl(path)
        self.ids = read_ids(path)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> bool:
        """Append `record` unless its id is already there; True if it was written."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if record["id"] in self.ids:
                return False
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self.ids.add(record["id"])
            return True


class RunSinks:
    def __init__(self, corpus_path: Path, rejected_path: Path) -> None:
        self.corpus = JsonlSink(corpus_path)
        self.rejected = JsonlSink(rejected_path)

    def finished(self, story_id: str) -> bool:
        return story_id in self.corpus.ids or story_id in self.rejected.ids
