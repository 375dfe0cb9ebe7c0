"""What a stats input is: a run directory (corpus, rejected, usage ledger, frozen config,
checkpoints) or a bare corpus JSONL from anywhere, and which corpus kind made it.

Everything is read as plain JSON rather than through the workflow's own models, because
formats gain fields and the report must still work on older and newer runs: run.json keeps
its inputs under `inputs` ({name: {path, fingerprint}}) since the generic workflow, and
directly at the top level (`constitution`, `axes`, ...) before it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
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
from storyloom.core.runconfig import read_config_object
from storyloom.graph.settings import GenerationSettings
from storyloom.report.fields import as_str, metadata
from storyloom.report.jsonl import JsonlReader, ReportInputError
from storyloom.stories.constitution import load_constitution
from storyloom.stories.kind import CorpusKind, DimensionsInput, ReportProfile
from storyloom.stories.registry import UnknownKindError, get_kind

_PLANNED_KEYS = ("planned", "count", "n")
#: Runs from before corpus kinds, and bare corpora that do not say, are stories.
DEFAULT_KIND = "story"


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
    #: Every value each dimension can take (a value never drawn shows as a gap).
    axis_values: dict[str, list[str]] = field(default_factory=dict)
    #: The corpus kind's name, and the kind itself (None: not installed here).
    kind_name: str = DEFAULT_KIND
    corpus_kind: CorpusKind | None = None
    #: Dimension names in order: the kind's, else the first record's.
    dimensions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def profile(self) -> ReportProfile:
        return self.corpus_kind.report_profile if self.corpus_kind else ReportProfile()

    @property
    def default_heatmap_axes(self) -> tuple[str, str] | None:
        """The first two dimensions (story: setting x dilemma)."""
        return (self.dimensions[0], self.dimensions[1]) if len(self.dimensions) >= 2 else None


def open_input(path: Path, kind: str | None = None) -> ReportInput:
    """`kind` names the corpus kind of a bare corpus (default: the first record's
    `metadata.kind`, else story); a run's own kind comes from its run.json."""
    if not path.exists():
        raise ReportInputError(f"{path}: no such file or directory")
    if path.is_file():
        first = _first_record(path)
        name = kind or as_str(metadata(first).get("kind")) or DEFAULT_KIND
        corpus_kind, notes = _load_kind(name)
        return ReportInput(
            path=path,
            kind="corpus",
            corpus_path=path,
            kind_name=name,
            corpus_kind=corpus_kind,
            dimensions=_record_dimensions(first, corpus_kind),
            notes=notes,
        )
    if not (path / CONFIG_FILE).exists() and not (path / CORPUS_FILE).exists():
        raise ReportInputError(f"{path}: not a run directory (no {CONFIG_FILE} or {CORPUS_FILE})")
    config = _read_config(path / CONFIG_FILE)
    recorded = as_str((config or {}).get("kind"))
    if kind and recorded and kind != recorded:
        raise ReportInputError(
            f"{path}: the run is of kind {recorded!r}, not {kind!r} (leave out --kind)"
        )
    name = recorded or kind or DEFAULT_KIND
    corpus_kind, notes = _load_kind(name)
    corpus_path = _existing(path / CORPUS_FILE)
    axis_values = _kind_dimensions(corpus_kind, config, path) or _input_dimensions(
        corpus_kind, config, path
    )
    dimensions = tuple(axis_values) or _record_dimensions(
        _first_record(corpus_path) if corpus_path else None, corpus_kind
    )
    return ReportInput(
        path=path,
        kind="run",
        corpus_path=corpus_path,
        rejected_path=_existing(path / REJECTED_FILE),
        usage_path=_existing(path / USAGE_FILE),
        config=config,
        planned=_planned(config),
        started=_started_threads(path / CHECKPOINTS_FILE),
        section_titles=_section_titles(config, path),
        axis_values=axis_values,
        kind_name=name,
        corpus_kind=corpus_kind,
        dimensions=dimensions,
        notes=notes,
    )


def _load_kind(name: str) -> tuple[CorpusKind | None, tuple[str, ...]]:
    """A kind this installation lacks (a plugin) still gets the generic report."""
    try:
        return get_kind(name), ()
    except UnknownKindError:
        return None, (f"kind {name!r} is not installed here: its own figures are not shown",)


def _first_record(path: Path) -> dict[str, Any] | None:
    """One line read ahead, for what the corpus says about itself (kind, dimensions)."""
    return next(iter(JsonlReader(path)), None)


def _record_dimensions(
    record: dict[str, Any] | None, corpus_kind: CorpusKind | None
) -> tuple[str, ...]:
    """The first record's dimension names, in the kind's order where the kind knows them
    (records may store them sorted)."""
    field_name = (corpus_kind.report_profile if corpus_kind else ReportProfile()).dimensions_field
    found = metadata(record or {}).get(field_name)
    if not isinstance(found, dict):
        return ()
    names = [str(key) for key in found]
    order = [name for name in _sample_dimension_names(corpus_kind) if name in names]
    return (*order, *[name for name in names if name not in order])


def _sample_dimension_names(corpus_kind: CorpusKind | None) -> tuple[str, ...]:
    """The kind's dimensions over its shipped sample inputs (names and order only: a bare
    corpus may have been made from other inputs, so their values are not its gaps)."""
    if corpus_kind is None:
        return ()
    try:
        loaded = corpus_kind.load_inputs({})
        names = tuple(corpus_kind.dimensions(loaded.value, GenerationSettings()))
    except (OSError, ValueError):
        return ()
    if names:
        return names
    source = corpus_kind.report_profile.dimensions_input
    if source is None:
        return ()
    sample = next((s.sample for s in corpus_kind.input_specs if s.name == source.name), None)
    read = _read_dimensions(source, sample) if sample is not None else None
    return tuple(read[0]) if read is not None else ()


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _read_config(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return read_config_object(path, ReportInputError)


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
    """Threads with at least one checkpoint: items begun, finished or not."""
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


def _recorded_inputs(config: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{input name: {path, fingerprint}} from either run.json shape."""
    config = config or {}
    nested = config.get("inputs")
    scope = nested if isinstance(nested, dict) else config
    return {
        name: entry
        for name, entry in scope.items()
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    }


def _resolve(entry: Mapping[str, Any], run_path: Path) -> Path | None:
    raw = entry.get("path")
    if not isinstance(raw, str) or not raw:
        return None
    candidate = Path(raw)
    for option in (candidate, run_path / candidate):
        if option.is_file():
            return option
    return None


def _input_file(config: dict[str, Any] | None, key: str, run_path: Path) -> Path | None:
    entry = _recorded_inputs(config).get(key)
    return _resolve(entry, run_path) if entry is not None else None


def _same_file(config: dict[str, Any] | None, key: str, fingerprint: str) -> bool:
    """An input edited since the run started would describe other items: ignore it."""
    recorded = _recorded_inputs(config).get(key, {}).get("fingerprint")
    return recorded is None or recorded == fingerprint


def _kind_dimensions(
    corpus_kind: CorpusKind | None, config: dict[str, Any] | None, run_path: Path
) -> dict[str, list[str]]:
    """`kind.dimensions` over the run's own inputs, loaded from the recorded paths; {} when
    any of them is gone or was edited since (its values would describe another run)."""
    recorded = _recorded_inputs(config)
    if corpus_kind is None or not recorded:
        return {}
    paths = {name: _resolve(entry, run_path) for name, entry in recorded.items()}
    if any(path is None for path in paths.values()):
        return {}
    try:
        loaded = corpus_kind.load_inputs(_as_started(corpus_kind, paths))
        settings = GenerationSettings.model_validate((config or {}).get("settings") or {})
    except (OSError, ValueError):  # InputError and a ValidationError are ValueErrors
        return {}
    if any(
        loaded.fingerprints.get(name) != entry.get("fingerprint")
        for name, entry in recorded.items()
    ):
        return {}
    try:
        dimensions = corpus_kind.dimensions(loaded.value, settings)
    except (KeyError, TypeError, ValueError):  # e.g. kind options this version lacks
        return {}
    return {name: [str(value) for value in values] for name, values in dimensions.items()}


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


def _as_started(corpus_kind: CorpusKind, paths: dict[str, Path | None]) -> dict[str, Path | None]:
    """A recorded path that is the kind's shipped sample goes back as None, as the run was
    most likely started: a kind may load its sample more leniently than a user's file."""
    samples = {spec.name: spec.sample for spec in corpus_kind.input_specs if spec.sample}
    return {
        name: None if path and name in samples and _same_path(path, samples[name]) else path
        for name, path in paths.items()
    }


def _same_path(first: Path, second: Path) -> bool:
    try:
        return first.samefile(second)
    except OSError:
        return False


def _input_dimensions(
    corpus_kind: CorpusKind | None, config: dict[str, Any] | None, run_path: Path
) -> dict[str, list[str]]:
    """The fallback while a kind's `dimensions` gives nothing: the run's own copy of the
    input that names every dimension's values (`ReportProfile.dimensions_input`)."""
    source = corpus_kind.report_profile.dimensions_input if corpus_kind else None
    path = _input_file(config, source.name, run_path) if source else None
    read = _read_dimensions(source, path) if source and path else None
    if source is None or read is None or not _same_file(config, source.name, read[1]):
        return {}
    return {name: [str(value) for value in values] for name, values in read[0].items()}


def _read_dimensions(
    source: DimensionsInput, path: Path
) -> tuple[Mapping[str, Sequence[str]], str] | None:
    try:
        return source.read(path)
    except (OSError, ValueError):
        return None
