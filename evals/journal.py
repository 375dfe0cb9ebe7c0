"""The eval run directory: `results.jsonl`, one line per finished trial, appended whole and
fsynced (like generate's sinks), so after any kill (SIGKILL included) a resumed run skips
exactly the trials already there and every trial is in the file once; `usage.jsonl`, the
usage ledger `--max-cost` counts against; `eval.json`, each suite's fingerprint when the
run first met it (a suite edited since would mix two suites' results)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from storyloom.core.files import append_whole, write_atomically
from storyloom.core.jsonl import JsonlError, JsonlReader, cut_torn_tail
from storyloom.evals.suite import Suite
from storyloom.stories.inputs import InputError

RESULTS = "results.jsonl"
USAGE = "usage.jsonl"
CONFIG = "eval.json"
#: What an eval run directory may hold before its config is written (a start killed early).
RUN_FILES = frozenset({RESULTS, USAGE, CONFIG, "run.lock"})


def result_id(model: str, suite: str, trial: str) -> str:
    return f"{model}|{suite}|{trial}"


class ResultsJournal:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / RESULTS
        self._lock = threading.Lock()
        #: Bytes of a torn last line (a kill mid-append), cut and kept in `.torn`.
        self.torn_bytes = cut_torn_tail(self.path)
        self.done: set[str] = set()
        for number, record in self._numbered():
            if record["id"] in self.done:
                raise InputError(
                    f"{self.path}: line {number} repeats trial {record['id']!r}; "
                    "remove one of the two lines, then run again"
                )
            self.done.add(record["id"])

    def _numbered(self) -> Iterator[tuple[int, dict[str, Any]]]:
        if not self.path.exists():
            return
        try:
            for number, record in JsonlReader(self.path).numbered():
                if not isinstance(record.get("id"), str):
                    raise InputError(f"{self.path}: line {number} is not an eval result (no id)")
                yield number, record
        except JsonlError as error:
            raise InputError(f"{error}: edited or damaged? Fix or remove that line") from None

    def records(self) -> list[dict[str, Any]]:
        return [record for _, record in self._numbered()]

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            if record["id"] in self.done:
                return
            try:
                append_whole(self.path, line.encode("utf-8"))
            except OSError as error:  # a full disk: name the file (the CLI shows one line)
                raise OSError(error.errno, error.strerror, str(self.path)) from error
            self.done.add(str(record["id"]))


def check_suites(run_dir: Path, suites: list[Suite]) -> None:
    """Record each suite's fingerprint, or refuse a suite changed since the run met it."""
    path = run_dir / CONFIG
    known: dict[str, str] = {}
    if path.exists():
        try:
            known = dict(json.loads(path.read_text("utf-8"))["suites"])
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}: not an eval run's config ({error})") from None
    for suite in suites:
        before = known.get(suite.name)
        if before is not None and before != suite.fingerprint:
            raise InputError(
                f"{path}: suite {suite.name!r} has changed since this run started "
                f"(fingerprint {before}, now {suite.fingerprint}); evaluate it in a new run "
                "directory"
            )
        known[suite.name] = suite.fingerprint
    write_atomically(path, json.dumps({"suites": known}, indent=2, sort_keys=True) + "\n")
