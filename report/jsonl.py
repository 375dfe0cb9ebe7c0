"""Reading JSON Lines written by a run that may still be going (or was killed).

The policy is the tool's one policy (`storyloom.core.jsonl`): a torn last line is skipped
and counted, because a report on a run in progress must not fail; a malformed line
anywhere else is an error naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from storyloom.core import jsonl


class ReportInputError(ValueError):
    """The input cannot be reported on; the message names the file and the problem."""


class JsonlReader(jsonl.JsonlReader):
    """The core reader, its errors raised as ReportInputError."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            yield from super().__iter__()
        except jsonl.JsonlError as error:
            raise ReportInputError(str(error)) from error
