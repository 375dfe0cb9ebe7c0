"""Reading JSON Lines written by a run that may still be going (or was killed).

A crash can leave a torn last line; that one is skipped and counted, because a report on a
run in progress must not fail. A malformed line anywhere else means the file is not what
the user thinks it is, and that is an error naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ReportInputError(ValueError):
    """The input cannot be reported on; the message names the file and the problem."""


class JsonlReader:
    """Iterates the JSON objects of one file; `skipped` counts torn or blank lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = 0
        self.line = 0  # the line number of the record last yielded, for error messages

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise ReportInputError(f"{self.path}: cannot read ({exc.strerror})") from exc
        with handle:
            pending: tuple[int, bytes] | None = None
            for number, raw in enumerate(handle, start=1):
                if pending is not None:
                    yield self._parse(*pending)
                    pending = None
                if not raw.strip():
                    self.skipped += 1
                    continue
                pending = (number, raw)
            if pending is not None:
                record = self._parse_or_none(*pending)
                if record is not None:
                    yield record

    def _parse_or_none(self, number: int, raw: bytes) -> dict[str, Any] | None:
        """The last line: a torn write (no newline, not JSON) is skipped, not an error."""
        if raw.endswith(b"\n"):
            return self._parse(number, raw)
        try:
            return self._parse(number, raw)
        except ReportInputError:
            self.skipped += 1
            return None

    def _parse(self, number: int, raw: bytes) -> dict[str, Any]:
        self.line = number
        try:
            value = json.loads(raw)
        except UnicodeDecodeError as exc:
            raise ReportInputError(f"{self.path}: line {number} is not UTF-8 text") from exc
        except json.JSONDecodeError as exc:
            raise ReportInputError(
                f"{self.path}: line {number} is not valid JSON ({exc.msg})"
            ) from exc
        if not isinstance(value, dict):
            raise ReportInputError(f"{self.path}: line {number} is not a JSON object")
        return value
