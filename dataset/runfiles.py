"""Reading a run directory's files as plain JSON, for every command of this package.

Plain dicts rather than the workflow's models: shards and merges may carry fields this
version does not know (a worker's `shard`), and reading must still work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storyloom.core import layout
from storyloom.core.jsonl import JsonlError, JsonlReader
from storyloom.core.records import parse_record
from storyloom.core.runconfig import read_config_object


class DatasetError(ValueError):
    """A run cannot be merged, exported or inspected as asked: one line naming the file."""


def read_run_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / layout.CONFIG_FILE
    if not run_dir.is_dir() or not path.is_file():
        raise DatasetError(f"{run_dir}: not a run directory (no {layout.CONFIG_FILE})")
    return read_config_object(path, DatasetError)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The whole lines of `path` (none when it is missing); a torn last line is a write
    in progress and is left out, a damaged line anywhere else is a DatasetError."""
    if not path.exists():
        return
    try:
        yield from JsonlReader(path)
    except JsonlError as error:
        raise DatasetError(f"{error}; fix or remove that line, then run again") from None


def read_checked_records(path: Path, record_type: type[BaseModel]) -> Iterator[dict[str, Any]]:
    """`read_records`, each record checked against `record_type` first (an id that is a
    string, a text that is one): a record that is not one is a DatasetError naming the
    file and the line, never a traceback further on."""
    if not path.exists():
        return
    try:
        for number, value in JsonlReader(path).numbered():
            parse_record(record_type, value, path, number)  # type: ignore[type-var]
            yield value
    except JsonlError as error:
        raise DatasetError(f"{error}; fix or remove that line, then run again") from None
