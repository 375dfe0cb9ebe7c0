"""`storyloom export`: a run directory as a dataset a lab trains with.

Tables (each a `datasets` config of numbered Parquet or JSONL files): `default` (the
accepted items), and on request `rejected` (with reasons and last drafts) and `history`
(one row per settled draft, from the checkpoints: the text, gate findings, critique and
review of each round, so rewrites can be studied or used as preference pairs). Plus the
dataset card. The run is only read, whole line by whole line, so a run still being
written exports what is finished; the export is built beside `--out` and swapped in.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.files import write_atomically
from storyloom.core.layout import overwrite_problem
from storyloom.core.records import current_reason
from storyloom.dataset.card import MARKER, CardFacts, ModelUse, TableInfo, render_card
from storyloom.dataset.checkpoints import CheckpointReader, CheckpointReadError
from storyloom.dataset.files import Format, TableWriter
from storyloom.dataset.merge import output_owner
from storyloom.dataset.outdir import OutputDirError, build_and_swap, check_output_dir
from storyloom.dataset.rows import (
    HISTORY_SCHEMA,
    REJECTED_SCHEMA,
    CorpusShape,
    InferredShape,
    as_json,
    as_text,
    hf_features,
    jsonl_record,
    rejected_row,
)
from storyloom.dataset.runfiles import DatasetError, read_records, read_run_config
from storyloom.dataset.tools import ToolsShape
from storyloom.report.compute import StatsOptions, compute_stats
from storyloom.report.jsonl import ReportInputError
from storyloom.report.source import open_input

CARD_FILE = "README.md"
#: Config (and folder) names of the export's own tables; a kind's file is renamed around them.
RESERVED_CONFIGS = frozenset({"default", "data", "rejected", "history"})


class ExportError(DatasetError):
    """The run cannot be exported as asked; the message names the file and the problem."""


@dataclass(frozen=True)
class ExportOptions:
    form: Format = "parquet"
    include_rejected: bool = False
    include_history: bool = False
    tools: ToolsShape = "anthropic"
    rows_per_file: int = 100_000
    license: str = "other"
    #: Key figures from `storyloom stats` in the card (a pass over the corpus).
    stats: bool = True
    stats_workers: int = 2


@dataclass
class ExportReport:
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    #: Items whose history could not be read (no checkpoint thread).
    without_history: int = 0


def is_export_output(path: Path) -> bool:
    card = path / CARD_FILE
    try:
        return MARKER in card.read_text(encoding="utf-8")[:20_000]
    except (OSError, UnicodeDecodeError):
        return False


def export_run(run_dir: Path, out: Path, options: ExportOptions) -> ExportReport:
    config = read_run_config(run_dir)
    if problem := overwrite_problem(out / CARD_FILE, [run_dir / layout.CONFIG_FILE]):
        raise OutputDirError(problem)
    owner = output_owner("export", config)
    if problem := check_output_dir(out, [run_dir], owner, is_previous=is_export_output):
        raise OutputDirError(problem)
    if options.include_history and not (run_dir / layout.CHECKPOINTS_FILE).is_file():
        raise ExportError(
            f"{run_dir / layout.CHECKPOINTS_FILE}: no checkpoints, so no history to export "
            "(merged with --no-checkpoints?)"
        )
    report = ExportReport()
    build_and_swap(out, owner, lambda staging: _build(run_dir, config, staging, options, report))
    report.files = [out / path for path in report.files]
    return report


def _build(
    run_dir: Path,
    config: dict[str, Any],
    staging: Path,
    options: ExportOptions,
    report: ExportReport,
) -> None:
    corpus_path = run_dir / layout.CORPUS_FILE
    shape = CorpusShape.of(read_records(corpus_path))
    extension = options.form
    tables: list[TableInfo] = []
    exported: dict[str, str] = {}

    writer = _writer(staging / "data", shape.schema(), options)
    for record in read_records(corpus_path):
        exported[record["id"]] = "emitted"
        if options.form == "jsonl":
            writer.write(jsonl_record(record, options.tools))
        else:
            writer.write(shape.row(record, options.tools))
    tables.append(_table(writer, "default", "data", extension, "accepted items"))

    reasons: Counter[str] = Counter()
    rejected_writer = None
    if options.include_rejected:
        rejected_writer = _writer(staging / "rejected", REJECTED_SCHEMA, options)
    finished = set(exported)
    for record in read_records(run_dir / layout.REJECTED_FILE):
        finished.add(record["id"])
        reasons[current_reason(str(record.get("reason") or "unknown"))] += 1
        if rejected_writer is not None:
            exported[record["id"]] = "rejected"
            rejected_writer.write(record if options.form == "jsonl" else rejected_row(record))
    if rejected_writer is not None:
        tables.append(
            _table(rejected_writer, "rejected", "rejected", extension, "rejected items, why")
        )

    tables += _side_tables(run_dir, staging, finished, options)

    if options.include_history:
        history = _writer(staging / "history", HISTORY_SCHEMA, options)
        report.without_history = _write_history(run_dir, exported, history)
        tables.append(
            _table(history, "history", "history", extension, "every settled draft, per item")
        )

    notes = []
    for table in tables[1:]:
        if table.rows == 0:  # `datasets` cannot load a config with no rows: leave it out
            shutil.rmtree(staging / table.folder)
            notes.append(f"no `{table.config}` config: the run has no such rows")
    tables = [tables[0], *(table for table in tables[1:] if table.rows)]
    for table in tables:
        report.rows[table.config] = table.rows
    report.files = sorted(p.relative_to(staging) for p in staging.rglob(f"*.{extension}"))
    if report.without_history:
        notes.append(f"{report.without_history} item(s) have no checkpoint, so no history rows")
    facts = CardFacts(
        run=config,
        tables=tables,
        emitted=report.rows["default"],
        rejected_by_reason=reasons,
        models=_models(run_dir / layout.USAGE_FILE),
        license=options.license,
        stats=_stats(run_dir, options) if options.stats else None,
        notes=notes,
    )
    write_atomically(staging / CARD_FILE, render_card(facts))


def _side_tables(
    run_dir: Path, staging: Path, finished: set[str], options: ExportOptions
) -> list[TableInfo]:
    """A config for each of the kind's own files (`pairs.jsonl`: preference pairs), with
    the records of finished items (a line written just before a kill waits for its item)."""
    tables = []
    sides = sorted(p for p in run_dir.glob("*.jsonl") if layout.is_side_output(p.name))
    for path in sides:

        def records(path: Path = path) -> Iterator[dict[str, Any]]:
            return (r for r in read_records(path) if (r.get("item") or r.get("id")) in finished)

        name = path.stem if path.stem not in RESERVED_CONFIGS else f"side_{path.stem}"
        shape = InferredShape.of(records())
        writer = _writer(staging / name, shape.schema(), options)
        for record in records():
            writer.write(record if options.form == "jsonl" else shape.row(record))
        what = f"the kind's own {path.name}, its rows of finished items"
        tables.append(_table(writer, name, name, options.form, what))
    return tables


def _writer(folder: Path, schema: Any, options: ExportOptions) -> TableWriter:
    return TableWriter(folder, schema, form=options.form, rows_per_file=options.rows_per_file)


def _table(writer: TableWriter, config: str, folder: str, ext: str, what: str) -> TableInfo:
    size = sum(path.stat().st_size for path in writer.close())
    features = hf_features(writer.schema) if ext == "parquet" else []
    return TableInfo(config, folder, ext, writer.rows, size, features, what)


def _write_history(run_dir: Path, exported: dict[str, str], writer: TableWriter) -> int:
    """One row per settled draft of every exported item; how many items had no thread."""
    missing = 0
    try:
        with CheckpointReader(run_dir / layout.CHECKPOINTS_FILE) as reader:
            for item_id, outcome in exported.items():
                state = reader.latest(item_id)
                if state is None:
                    missing += 1
                    continue
                values = state.values
                for position, draft in enumerate(values.get("drafts") or ()):
                    writer.write(
                        {
                            "id": item_id,
                            "outcome": outcome,
                            "draft": position,
                            "round": int(draft.get("round", 0)),
                            "best": values.get("best") == position,
                            "passed": bool(draft.get("passed")),
                            "text": as_text(reader.text(draft.get("text"))),
                            "findings": as_json(draft.get("findings") or []),
                            "critique": as_json(reader.text(draft.get("critique"))),
                            "review": as_json(_review(reader, values, draft)),
                        }
                    )
    except CheckpointReadError as error:
        raise ExportError(str(error)) from None
    return missing


def _review(reader: CheckpointReader, values: dict[str, Any], draft: dict[str, Any]) -> Any:
    """The review written about this draft before it was revised (kept by round)."""
    ref = draft.get("review") or (values.get("reviews") or {}).get(str(draft.get("round")))
    return reader.text(ref)


def _models(usage_path: Path) -> dict[str, ModelUse]:
    models: dict[str, ModelUse] = {}
    for entry in read_records(usage_path):
        use = models.setdefault(str(entry.get("model") or "unknown"), ModelUse())
        use.calls += 1
        use.input_tokens += int(entry.get("input_tokens") or 0)
        use.output_tokens += int(entry.get("output_tokens") or 0)
        use.usd += float(entry.get("usd") or 0.0)
    return models


def _stats(run_dir: Path, options: ExportOptions) -> Any:
    try:
        return compute_stats(open_input(run_dir), StatsOptions(workers=options.stats_workers))
    except ReportInputError as error:
        raise ExportError(str(error)) from None
