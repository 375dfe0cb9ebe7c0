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
from storyloom.core.records import (
    CorpusRecord,
    RejectedRecord,
    SideRecord,
    UsageEntry,
    current_reason,
)
from storyloom.dataset.card import MARKER, CardFacts, ModelUse, TableInfo, render_card
from storyloom.dataset.checkpoints import CheckpointReader, CheckpointReadError
from storyloom.dataset.files import Format, TableWriter
from storyloom.dataset.markdown_safe import md_code
from storyloom.dataset.merge import output_owner
from storyloom.dataset.outdir import OutputDirError, build_and_swap, check_output_dir
from storyloom.dataset.rows import (
    HISTORY_SCHEMA,
    REJECTED_SCHEMA,
    TURNS_FIELD,
    ChatText,
    CorpusShape,
    InferredShape,
    as_json,
    as_text,
    chat_record,
    hf_features,
    rejected_row,
)
from storyloom.dataset.runfiles import DatasetError, read_checked_records, read_run_config
from storyloom.dataset.tools import ToolsShape
from storyloom.report.compute import StatsOptions, compute_stats
from storyloom.report.jsonl import ReportInputError
from storyloom.report.source import open_input
from storyloom.stories.kind import CorpusKind
from storyloom.stories.registry import get_kind

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
    #: Tool definitions as OpenAI functions (what Hugging Face chat templates take) or
    #: as Anthropic writes them.
    tools: ToolsShape = "openai"
    #: Chat records' `text`: left out, or the turns with role markers.
    chat_text: ChatText = "omit"
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
    learnt: set[str] = set()

    def first_pass() -> Iterator[dict[str, Any]]:
        for record in _corpus(corpus_path):
            learnt.add(record["id"])
            yield record

    shape = CorpusShape.of(first_pass(), options.tools, options.chat_text)
    extension = options.form
    tables: list[TableInfo] = []
    exported: dict[str, str] = {}

    writer = _writer(staging / "data", shape.schema(), options)
    for record in _corpus(corpus_path):
        if record["id"] not in learnt:  # written since the schema was learnt: next export
            continue
        exported[record["id"]] = "emitted"
        if options.form == "jsonl":
            writer.write(chat_record(record, options.tools, options.chat_text))
        else:
            writer.write(shape.row(record))
    tables.append(_table(writer, "default", "data", extension, "accepted items"))

    reasons: Counter[str] = Counter()
    rejected_writer = None
    if options.include_rejected:
        rejected_writer = _writer(staging / "rejected", REJECTED_SCHEMA, options)
    finished = set(exported)
    for record in read_checked_records(run_dir / layout.REJECTED_FILE, RejectedRecord):
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
        kind = _chat_kind(str(config.get("kind") or ""))
        schema = HISTORY_SCHEMA if kind is None else HISTORY_SCHEMA.append(TURNS_FIELD)
        history = _writer(staging / "history", schema, options)
        report.without_history = _write_history(run_dir, exported, history, kind)
        tables.append(
            _table(history, "history", "history", extension, "every settled draft, per item")
        )

    notes = []
    for table in tables[1:]:
        if table.rows == 0:  # `datasets` cannot load a config with no rows: leave it out
            shutil.rmtree(staging / table.folder)
            notes.append(f"no {md_code(table.config)} config: the run has no such rows")
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
        tools_shape=options.tools,
        chat_text=options.chat_text,
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
            return (
                r
                for r in read_checked_records(path, SideRecord)
                if (r.get("item") or r.get("id")) in finished
            )

        name = path.stem if path.stem not in RESERVED_CONFIGS else f"side_{path.stem}"
        shape = InferredShape.of(records())
        writer = _writer(staging / name, shape.schema(), options)
        for record in records():
            writer.write(record if options.form == "jsonl" else shape.row(record))
        what = f"the kind's own {md_code(path.name)}, its rows of finished items"
        tables.append(_table(writer, name, name, options.form, what))
    return tables


def _corpus(path: Path) -> Iterator[dict[str, Any]]:
    return read_checked_records(path, CorpusRecord)


def _writer(folder: Path, schema: Any, options: ExportOptions) -> TableWriter:
    return TableWriter(folder, schema, form=options.form, rows_per_file=options.rows_per_file)


def _table(writer: TableWriter, config: str, folder: str, ext: str, what: str) -> TableInfo:
    size = sum(path.stat().st_size for path in writer.close())
    features = hf_features(writer.schema) if ext == "parquet" else []
    return TableInfo(config, folder, ext, writer.rows, size, features, what, writer.schema)


def _chat_kind(name: str) -> CorpusKind | None:
    """The run's kind when it drafts chat turns (its history rows get a `turns` column)."""
    try:
        kind = get_kind(name)
    except Exception:  # an unknown kind or a plug-in that fails to load: drafts as text
        return None
    return kind if type(kind).draft_turns is not CorpusKind.draft_turns else None


def _write_history(
    run_dir: Path, exported: dict[str, str], writer: TableWriter, kind: CorpusKind | None
) -> int:
    """One row per settled draft of every exported item; how many items had no thread.
    A chat kind's drafts also come as `turns` (a draft's text is the kind's own form)."""
    missing = 0
    try:
        with CheckpointReader(run_dir / layout.CHECKPOINTS_FILE) as reader:
            for item_id, outcome in exported.items():
                state = reader.latest(item_id)
                if state is None:
                    missing += 1
                    continue
                values = state.values
                plan = reader.text(values.get("plan")) if kind is not None else None
                for position, draft in enumerate(values.get("drafts") or ()):
                    text = as_text(reader.text(draft.get("text")))
                    turns = {}
                    if kind is not None:
                        shaped = kind.draft_turns(text, plan if isinstance(plan, dict) else None)
                        turns = {"turns": shaped}
                    writer.write(
                        {
                            "id": item_id,
                            "outcome": outcome,
                            "draft": position,
                            "round": int(draft.get("round", 0)),
                            "best": values.get("best") == position,
                            "passed": bool(draft.get("passed")),
                            "text": text,
                            "findings": as_json(draft.get("findings") or []),
                            "critique": as_json(reader.text(draft.get("critique"))),
                            "review": as_json(_review(reader, values, draft)),
                            **turns,
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
    for entry in read_checked_records(usage_path, UsageEntry):
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
