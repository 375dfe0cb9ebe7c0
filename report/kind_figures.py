"""The run kind's own figures (`ReportProfile.figures`, e.g. the advice kind's rewrite win
rate): each record's id and metadata are kept while the report streams the run, then
handed to the kind once. The kind comes from run.json, or for a bare corpus file from
the records' own `metadata.kind` (every workflow record carries it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storyloom.stories.kind import KindFigures, UnknownKindError, get_kind


def _figures_of(name: object) -> tuple[KindFigures | None, str]:
    if not isinstance(name, str):
        return None, ""
    try:
        kind = get_kind(name)
    except UnknownKindError:
        return None, ""
    return kind.report_profile.figures, kind.plan_field


class KindFigureCollector:
    def __init__(self, config: Mapping[str, Any] | None) -> None:
        self._decided = bool(config and config.get("kind"))
        self._figures, self._plan_field = _figures_of((config or {}).get("kind"))
        self.corpus: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []

    def add(self, record: Mapping[str, Any], outcome: str) -> None:
        metadata = record.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        if not self._decided:
            self._decided = True
            self._figures, self._plan_field = _figures_of(metadata.get("kind"))
        if self._figures is None:
            return
        # The plan is the bulk of the metadata and no figure needs it.
        kept = {key: value for key, value in metadata.items() if key != self._plan_field}
        entry = {"id": record.get("id"), "metadata": kept}
        (self.corpus if outcome == "emitted" else self.rejected).append(entry)

    def result(self) -> dict[str, dict[str, Any]]:
        if self._figures is None:
            return {}
        return self._figures(self.corpus, self.rejected)
