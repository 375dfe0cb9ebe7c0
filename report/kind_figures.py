"""A corpus kind's own figures (`ReportProfile.figures`), e.g. a rewrite's win rate.

The kind's function takes every corpus record and every rejected record at once, so when
(and only when) the kind has figures, the records are kept as they stream past in the
report's one pass over each file: nothing is read twice, but a large corpus is held in
memory for the length of the call. Whole records, as the contract says: a kind's figures
may read the text (the documents kind's openings) or a rejection's findings. Values are
kept JSON-plain, so the JSON, terminal and HTML reports all show them.
"""

from __future__ import annotations

import json
from typing import Any

from storyloom.core.records import Outcome
from storyloom.stories.kind import ReportProfile


class KindFigureCollector:
    def __init__(self, kind_name: str, profile: ReportProfile) -> None:
        self.kind_name = kind_name
        self._figures = profile.figures
        self._records: dict[Outcome, list[dict[str, Any]]] = {"emitted": [], "rejected": []}

    def add(self, record: dict[str, Any], outcome: Outcome) -> None:
        if self._figures is not None:
            self._records[outcome].append(record)

    def result(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The figures and notes; a kind's figures that fail become a note, not a crash,
        so the rest of the report still comes out."""
        if self._figures is None:
            return {}, []
        try:
            tables = self._figures(self._records["emitted"], self._records["rejected"])
        except Exception as error:  # the kind's own code: any failure is reported, not fatal
            return {}, [f"kind {self.kind_name!r}: its figures failed ({error!r})"]
        finally:
            self._records = {"emitted": [], "rejected": []}
        if not isinstance(tables, dict):
            return {}, [f"kind {self.kind_name!r}: its figures are not a {{title: rows}} map"]
        return {
            str(title): {str(row): _plain(value) for row, value in rows.items()}
            for title, rows in tables.items()
            if isinstance(rows, dict)
        }, []


def _plain(value: Any) -> Any:
    """The value if it is JSON as it stands, else its text."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value
