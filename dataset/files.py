"""Rows written as numbered files of one table: `train-00000-of-00003.parquet`.

Files roll over at a row count, so a million-item run becomes files a trainer can stream
and the Hub can show; the `-of-N` names are given when the last file is closed. Parquet
files share one schema (a table's files must, for `datasets` to read them as one split;
rows come in plain, JSON values as strings, and are cast to it);
JSONL files hold the records as they are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from storyloom.dataset.arrow_types import storage_schema

Format = Literal["parquet", "jsonl"]
#: Rows buffered before they go to the file (one Parquet row group at most this size).
BATCH_ROWS = 1000


class TableWriter:
    """Writes one table's rows into `folder/<split>-NNNNN-of-MMMMM.<format>` files."""

    def __init__(
        self,
        folder: Path,
        schema: pa.Schema,
        *,
        form: Format,
        rows_per_file: int,
        split: str = "train",
    ) -> None:
        if rows_per_file < 1:
            raise ValueError(f"rows per file must be at least 1, got {rows_per_file}")
        self.folder = folder
        self.schema = schema
        self.form = form
        self.rows_per_file = rows_per_file
        self.split = split
        self.rows = 0
        self._parts: list[Path] = []
        self._in_file = 0
        self._buffer: list[Mapping[str, Any]] = []
        self._parquet: pq.ParquetWriter | None = None
        self._jsonl: Any = None
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, row: Mapping[str, Any]) -> None:
        if not self._parts or self._in_file >= self.rows_per_file:
            self._next_file()
        self._buffer.append(row)
        self._in_file += 1
        self.rows += 1
        if len(self._buffer) >= BATCH_ROWS:
            self._flush()

    def close(self) -> list[Path]:
        """Finish the last file (an empty table still gets one file, so its schema and
        split exist) and give every file its final name."""
        if not self._parts:
            self._next_file()
        self._close_file()
        total = len(self._parts)
        final = []
        for number, part in enumerate(self._parts):
            name = f"{self.split}-{number:05d}-of-{total:05d}.{self.form}"
            os.replace(part, self.folder / name)
            final.append(self.folder / name)
        return final

    def _next_file(self) -> None:
        self._close_file()
        part = self.folder / f".part-{len(self._parts):05d}.{self.form}"
        self._parts.append(part)
        self._in_file = 0
        if self.form == "parquet":
            self._parquet = pq.ParquetWriter(part, self.schema, compression="zstd")
        else:
            self._jsonl = part.open("w", encoding="utf-8")

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._parquet is not None:
            rows = pa.Table.from_pylist(self._buffer, schema=storage_schema(self.schema))
            self._parquet.write_table(rows.cast(self.schema))
        else:
            for row in self._buffer:
                self._jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._buffer = []

    def _close_file(self) -> None:
        self._flush()
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._jsonl is not None:
            self._jsonl.flush()
            os.fsync(self._jsonl.fileno())
            self._jsonl.close()
            self._jsonl = None
