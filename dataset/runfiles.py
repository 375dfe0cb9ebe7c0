"""Reading a run directory's files as plain JSON, for every command of this package.

Plain dicts rather than the workflow's models: shards and merges may carry fields this
version does not know (a worker's `shard`), and reading must still work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.jsonl import JsonlError, JsonlReader
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
