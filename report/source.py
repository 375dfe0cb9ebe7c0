"""What a stats input is: a run directory (corpus, rejected, usage ledger, frozen config,
checkpoints) or a bare corpus JSONL from anywhere.

Everything is read as plain JSON rather than through the workflow's own models, because
formats gain fields and the report must still work on older and newer runs.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from storyloom.core.layout import (
    CHECKPOINTS_FILE,
    CONFIG_FILE,
    CORPUS_FILE,
    REJECTED_FILE,
    USAGE_FILE,
)
from storyloom.report.jsonl import ReportInputError
from storyloom.stories.inputs import load_axes, load_constitution

_PLANNED_KEYS = ("planned", "count", "n")


@dataclass(frozen=True)
class ReportInput:
    path: Path
    kind: Literal["run", "corpus"]
    corpus_path: Path | None
    rejected_path: Path | None = None
    usage_path: Path | None = None
    config: dict[str, Any] | None = None
    planned: int | None = None
    started: int | None = None
    section_titles: dict[str, str] = field(default_factory=dict)
    axis_values: dict[str, list[str]] = field(default_factory=dict)


def open_input(path: Path) -> ReportInput:
    if not path.exists():
        raise ReportInputError(f"{path}: no such file or directory")
    if path.is_file():
        return ReportInput(path=path, kind="corpus", corpus_path=path)
    if not (path / CONFIG_FILE).exists() and not (path / CORPUS_FILE).exists():
        raise ReportInputError(f"{path}: not a run directory (no {CONFIG_FILE} or {CORPUS_FILE})")
    config = _read_config(path / CONFIG_FILE)
    return ReportInput(
        path=path,
        kind="run",
        corpus_path=_existing(path / CORPUS_FILE),
        rejected_path=_existing(path / REJECTED_FILE),
        usage_path=_existing(path / USAGE_FILE),
        config=config,
        planned=_planned(config),
        started=_started_threads(path / CHECKPOINTS_FILE),
        section_titles=_section_titles(config, path),
        axis_values=_axis_values(config, path),
    )


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _read_config(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportInputError(f"{path}: run config is unreadable ({exc})") from exc
    if not isinstance(value, dict):
        raise ReportInputError(f"{path}: run config is not a JSON object")
    return value


def _planned(config: dict[str, Any] | None) -> int | None:
    """The run config does not record the count today; newer ones may, under any of these."""
    if not config:
        return None
    for scope in (config, config.get("settings") or {}):
        for key in _PLANNED_KEYS:
            value = scope.get(key) if isinstance(scope, dict) else None
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return None


def _started_threads(path: Path) -> int | None:
    """Threads with at least one checkpoint: stories begun, finished or not."""
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return None
    return int(row[0]) if row else None


def _input_file(config: dict[str, Any] | None, key: str, run_path: Path) -> Path | None:
    entry = (config or {}).get(key)
    raw = entry.get("path") if isinstance(entry, dict) else None
    if not isinstance(raw, str) or not raw:
        return None
    candidate = Path(raw)
    for option in (candidate, run_path / candidate):
        if option.is_file():
            return option
    return None


def _same_file(config: dict[str, Any] | None, key: str, fingerprint: str) -> bool:
    """An input edited since the run started would describe other stories: ignore it."""
    entry = (config or {}).get(key)
    recorded = entry.get("fingerprint") if isinstance(entry, dict) else None
    return recorded is None or recorded == fingerprint


def _section_titles(config: dict[str, Any] | None, run_path: Path) -> dict[str, str]:
    """Every section of the run's constitution, so sections never drawn show as gaps."""
    path = _input_file(config, "constitution", run_path)
    if path is None:
        return {}
    try:
        constitution = load_constitution(path)
    except (OSError, ValueError):
        return {}
    if not _same_file(config, "constitution", constitution.fingerprint):
        return {}
    return {section.slug: section.title for section in constitution.sections}


def _axis_values(config: dict[str, Any] | None, run_path: Path) -> dict[str, list[str]]:
    path = _input_file(config, "axes", run_path)
    if path is None:
        return {}
    try:
        axes = load_axes(path)
    except (OSError, ValueError):
        return {}
    if not _same_file(config, "axes", axes.fingerprint):
        return {}
    return {axis: list(values) for axis, values in axes.values.items()}
