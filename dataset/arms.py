"""`export --arms` and `export --holdout`: from one run, the training sets a lab needs to
replicate the research's ablations on its own model.

- **Rewrite ablation**: `final` (the items as emitted) against `draft` (the same items'
  first drafts, read from the checkpoints and rendered by the kind exactly as it renders
  an emitted item).
- **Format ablation**, where a kind renders both (a kind whose `documents` option writes
  each item as a document: advice, as an advice column's letter and reply): the same
  content as chat (`final`, `draft`) and as a document (`final_document`,
  `draft_document`).

Every arm holds the same item ids, and the token totals of the arms are matched within
`TOKEN_TOLERANCE`: items are set aside, the same in every arm, from those that push the
totals furthest apart; when a format adds tokens to every item (a letter's salutation),
whole last sentences come off the longest documents of the longer arm. The card says how
many of each, and the totals. No text ends mid-sentence and chat turns are never cut.

`--holdout KEY` sets aside whole groups (every item whose `KEY` — an axis such as dilemma
or setting, or a metadata field such as section(s) — takes one of the held-out values) as
a `test` split, in every arm; the held-out values are drawn with the run's seed until the
test split has about `holdout_share` of the items.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.core import layout
from storyloom.core.files import write_atomically
from storyloom.dataset.card import MARKER
from storyloom.dataset.checkpoints import CheckpointReader, CheckpointReadError
from storyloom.dataset.files import Format, TableWriter
from storyloom.dataset.merge import output_owner
from storyloom.dataset.outdir import build_and_swap, check_output_dir
from storyloom.dataset.rows import InferredShape
from storyloom.dataset.runfiles import DatasetError, read_records, read_run_config
from storyloom.dataset.tools import ToolsShape, shape_tools
from storyloom.report.tokens import TOKENIZER_NAME, count_tokens
from storyloom.stories.kind import CorpusKind, Draft, ItemView
from storyloom.stories.registry import UnknownKindError, get_kind

#: Largest spread of token totals across arms, as a share of the largest total.
TOKEN_TOLERANCE = 0.02
DEFAULT_HOLDOUT_SHARE = 0.2
#: Most of a split that may be set aside to match the arms' tokens; beyond it the export
#: stops and says by how much the arms differ.
MAX_SET_ASIDE = 0.25
DOCUMENTS_OPTION = "documents"
DOCUMENTS_FILE = "documents.jsonl"


class ArmsError(DatasetError):
    """The arms cannot be made as asked; one line naming the run and the problem."""


@dataclass(frozen=True)
class ArmsOptions:
    form: Format = "jsonl"
    rows_per_file: int = 100_000
    holdout: str | None = None
    holdout_share: float = DEFAULT_HOLDOUT_SHARE
    tolerance: float = TOKEN_TOLERANCE
    tools: ToolsShape = "anthropic"


@dataclass
class SplitFigures:
    """One split (`train`, or `test` with a holdout) across the arms."""

    name: str
    ids: list[str] = field(default_factory=list)
    #: Items set aside (the same in every arm) so the token totals match.
    set_aside: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    #: Sentences taken off the end of documents, per arm, to match the totals.
    trimmed: dict[str, int] = field(default_factory=dict)

    @property
    def spread(self) -> float:
        if not self.tokens or not max(self.tokens.values()):
            return 0.0
        return (max(self.tokens.values()) - min(self.tokens.values())) / max(self.tokens.values())


@dataclass
class ArmsReport:
    arms: list[str]
    splits: list[SplitFigures]
    #: Items whose final text is their first draft (no rewrite was kept).
    unchanged: int = 0
    without_draft: list[str] = field(default_factory=list)
    held_out: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def arm_names(kind: CorpusKind) -> list[str]:
    names = ["final", "draft"]
    if DOCUMENTS_OPTION in kind.options_model.model_fields:
        names += ["final_document", "draft_document"]
    return names


def export_arms(run_dir: Path, out: Path, options: ArmsOptions, *, arms: bool) -> ArmsReport:
    """Write the arms (or, with `arms=False`, only `final`) under `out`, one folder per arm
    and split, with a card."""
    config = read_run_config(run_dir)
    try:
        kind = get_kind(str(config.get("kind") or "story"))
    except UnknownKindError as error:
        raise ArmsError(f"{run_dir}: {error}") from None
    if arms and kind.tasks.get("revise") is None:
        raise ArmsError(f"{run_dir}: the {kind.name} kind never rewrites, so it has no arms")
    owner = output_owner("export --arms", config)
    if problem := check_output_dir(out, [run_dir], owner, is_previous=_is_arms_output):
        raise ArmsError(problem)
    records = list(read_records(run_dir / layout.CORPUS_FILE))
    if not records:
        raise ArmsError(f"{run_dir / layout.CORPUS_FILE}: no items to export")
    names = arm_names(kind) if arms else ["final"]
    rows, report = _arm_rows(run_dir, config, kind, records, names)
    groups = _groups(records, options.holdout, run_dir) if options.holdout else {}
    test_ids, report.held_out = _holdout(records, groups, options, config)
    kept = [str(r["id"]) for r in records if str(r["id"]) in rows[names[0]]]
    split_ids = {"train": [i for i in kept if i not in test_ids]}
    if options.holdout:
        split_ids["test"] = [i for i in kept if i in test_ids]
    if empty := [split for split, ids in split_ids.items() if not ids]:
        raise ArmsError(
            f"{run_dir}: --holdout {options.holdout} leaves no {empty[0]} items "
            f"(every item has a held-out value); lower --holdout-share"
        )
    tokens = {name: _token_counts(rows[name]) for name in names}
    for split, ids in split_ids.items():
        report.splits.append(_matched(split, ids, rows, tokens, names, options.tolerance, run_dir))

    def build(staging: Path) -> None:
        for name in names:
            for split in report.splits:
                chosen = [_shaped(rows[name][i], options.tools) for i in split.ids]
                _write(staging / name / split.name, chosen, options)
        report.files = sorted(p.relative_to(staging) for p in staging.rglob(f"*.{options.form}"))
        write_atomically(staging / "README.md", _card(config, kind, report, options))

    build_and_swap(out, owner, build)
    return report


def _is_arms_output(path: Path) -> bool:
    try:
        return MARKER in (path / "README.md").read_text(encoding="utf-8")[:20_000]
    except (OSError, UnicodeDecodeError):
        return False


def _arm_rows(
    run_dir: Path,
    config: Mapping[str, Any],
    kind: CorpusKind,
    records: list[dict[str, Any]],
    names: Sequence[str],
) -> tuple[dict[str, dict[str, dict[str, Any]]], ArmsReport]:
    """Each arm's record per item id; items without a readable first draft are left out
    of every arm (and named in the report)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in names}
    report = ArmsReport(arms=list(names), splits=[])
    if names == ["final"]:
        rows["final"] = {str(r["id"]): {"id": str(r["id"]), **_content(r)} for r in records}
        return rows, report
    options = _kind_options(kind, config, run_dir)
    path = run_dir / layout.CHECKPOINTS_FILE
    try:
        with CheckpointReader(path) as reader:
            for record in records:
                item_id = str(record["id"])
                texts = _first_and_best(reader, item_id)
                if texts is None:
                    report.without_draft.append(item_id)
                    continue
                view, first, best = texts
                view = ItemView(**{**view, "options": options})
                report.unchanged += first == best
                try:
                    built = _rendered(kind, view, record, first, best, names)
                except ArmsError as error:
                    raise ArmsError(f"{run_dir}: {error}") from None
                for name in names:
                    rows[name][item_id] = {"id": item_id, **built[name]}
    except CheckpointReadError as error:
        raise ArmsError(str(error)) from None
    return rows, report


def _kind_options(kind: CorpusKind, config: Mapping[str, Any], run_dir: Path) -> Any:
    values = dict((config.get("settings") or {}).get("kind_options") or {})
    try:
        return kind.options_model.model_validate(values)
    except ValueError as error:
        raise ArmsError(
            f"{run_dir / layout.CONFIG_FILE}: kind options unreadable ({error})"
        ) from None


def _first_and_best(
    reader: CheckpointReader, item_id: str
) -> tuple[dict[str, Any], str, str] | None:
    state = reader.latest(item_id)
    if state is None:
        return None
    values = state.values
    drafts = list(values.get("drafts") or ())
    first = next((d for d in drafts if int(d.get("round", 0)) == 0), None)
    best_position = values.get("best")
    if first is None or not isinstance(best_position, int) or best_position >= len(drafts):
        return None
    first_text, best_text = (
        reader.text(first.get("text")),
        reader.text(drafts[best_position].get("text")),
    )
    if not isinstance(first_text, str) or not isinstance(best_text, str):
        return None
    index = int(str(item_id).rsplit("/", 1)[-1]) if str(item_id).rsplit("/", 1)[-1].isdigit() else 0
    view = {
        "item_id": item_id,
        "index": index,
        "draw": reader.text(values.get("draw")) or {},
        "inputs": None,
        "settings": None,
        "plan": reader.text(values.get("plan")),
    }
    return view, first_text, best_text


def _content(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a trainer reads: the text, and a chat kind's messages and tools."""
    return {key: record[key] for key in ("text", "messages", "tools") if key in record}


def _shaped(record: dict[str, Any], tools: ToolsShape) -> dict[str, Any]:
    """A chat record's tool definitions in the shape the trainer asked for."""
    if record.get("tools") is None:
        return record
    return {**record, "tools": shape_tools(record["tools"], tools)}


def _rendered(
    kind: CorpusKind,
    view: ItemView,
    record: Mapping[str, Any],
    first: str,
    best: str,
    names: Sequence[str],
) -> dict[str, dict[str, Any]]:
    try:
        draft = kind.record(view, Draft(text=first))
    except (AttributeError, KeyError, TypeError, ValueError):
        # A kind whose records need the run's loaded inputs (augment: a chat wrapped in a
        # drawn context, which its "rewrite" redraws) has no draft to train on.
        raise ArmsError(
            f"the {kind.name} kind cannot render a first draft (item {record['id']}) from its "
            "checkpoint alone, so it has no draft arm (export --holdout alone still works)"
        ) from None
    built: dict[str, dict[str, Any]] = {"final": _content(record), "draft": _content(draft)}
    if "final_document" in names:
        documents = ItemView(
            **{**view.__dict__, "options": view.options.model_copy(update={DOCUMENTS_OPTION: True})}
        )
        for name, text in (("final_document", best), ("draft_document", first)):
            side = kind.side_records(documents, Draft(text=text), "emitted", "")
            document = side.get(DOCUMENTS_FILE)
            if not isinstance(document, dict):
                raise ArmsError(f"the {kind.name} kind wrote no document for item {record['id']}")
            built[name] = {"text": document["text"]}
    return built


def _groups(records: Iterable[Mapping[str, Any]], key: str, run_dir: Path) -> dict[str, set[str]]:
    """Each item's values of `key`: an axis, else a metadata field (a list field, such as
    `sections`, also answers to its singular)."""
    groups: dict[str, set[str]] = {}
    for record in records:
        metadata = record.get("metadata") or {}
        axes = metadata.get("axes") or {}
        value = axes.get(key, metadata.get(key, metadata.get(f"{key}s")))
        if value is None:
            fields = sorted({*axes, *metadata})
            raise ArmsError(
                f"{run_dir / layout.CORPUS_FILE}: item {record.get('id')} has no {key!r} to hold "
                f"out by (its axes and metadata fields: {', '.join(fields)})"
            )
        values = value if isinstance(value, list) else [value]
        groups[str(record["id"])] = {str(v) for v in values}
    return groups


def _holdout(
    records: list[dict[str, Any]],
    groups: Mapping[str, set[str]],
    options: ArmsOptions,
    config: Mapping[str, Any],
) -> tuple[set[str], list[str]]:
    """The test ids and the held-out values: values in a seeded order until about
    `holdout_share` of the items are in the test split (always one value, never all)."""
    if not groups:
        return set(), []
    values = sorted({v for vs in groups.values() for v in vs})
    if len(values) < 2:
        raise ArmsError(f"--holdout {options.holdout}: the run has one value only ({values[0]})")
    random.Random(f"holdout:{(config.get('settings') or {}).get('seed', 0)}").shuffle(values)
    held: list[str] = []
    test: set[str] = set()
    target = options.holdout_share * len(records)
    for value in values[:-1]:
        if held and len(test) >= target:
            break
        held.append(value)
        test |= {item for item, vs in groups.items() if value in vs}
    return test, sorted(held)


def _token_counts(rows: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    ids = list(rows)
    counts = count_tokens([str(rows[i].get("text") or "") for i in ids]) if ids else []
    return dict(zip(ids, counts, strict=True))


def _spread(totals: np.ndarray) -> np.ndarray:
    """(max - min) / max of each row of arm totals (0 for an empty row)."""
    top = totals.max(axis=-1)
    return np.where(top > 0, (top - totals.min(axis=-1)) / np.maximum(top, 1), 0.0)


def _matched(
    split: str,
    ids: list[str],
    rows: Mapping[str, dict[str, dict[str, Any]]],
    tokens: Mapping[str, dict[str, int]],
    names: Sequence[str],
    tolerance: float,
    run_dir: Path,
) -> SplitFigures:
    """`ids` with the arms' token totals brought within `tolerance` of the largest: first
    by setting aside items (the same in every arm; each step the one whose absence narrows
    the spread most, at most `MAX_SET_ASIDE` of the split), then, when a format adds
    tokens to every item, by taking whole last sentences off the longest documents of the
    longer arms (`_trim`)."""
    table = np.array([[tokens[name][i] for name in names] for i in ids], dtype=np.int64)
    table = table.reshape(len(ids), len(names))
    keep = np.ones(len(ids), dtype=bool)
    totals = table.sum(axis=0)
    limit = int(MAX_SET_ASIDE * len(ids))
    while len(ids) and float(_spread(totals)) > tolerance and (~keep).sum() < limit:
        after = _spread(totals[None, :] - table)
        after[~keep] = np.inf
        worst = int(after.argmin())
        if after[worst] >= _spread(totals):
            break
        keep[worst] = False
        totals = totals - table[worst]
    figures = SplitFigures(split)
    figures.ids = [i for i, k in zip(ids, keep, strict=True) if k]
    figures.set_aside = [i for i, k in zip(ids, keep, strict=True) if not k]
    figures.tokens = {name: int(total) for name, total in zip(names, totals, strict=True)}
    if figures.ids and figures.spread > tolerance:
        _trim(figures, rows, tokens, tolerance, run_dir)
    return figures


_SENTENCE_END = re.compile("(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*\\s+")


def _trim(
    figures: SplitFigures,
    rows: Mapping[str, dict[str, dict[str, Any]]],
    tokens: Mapping[str, dict[str, int]],
    tolerance: float,
    run_dir: Path,
) -> None:
    """Take whole last sentences off the longest documents of each arm above the smallest
    total's allowance, until it fits; a chat arm (messages) is never cut."""
    ceiling = int(min(figures.tokens.values()) / (1 - tolerance))
    for name, total in figures.tokens.items():
        if total <= ceiling:
            continue
        if any("messages" in rows[name][i] for i in figures.ids):
            raise ArmsError(
                f"{run_dir}: the {figures.name} split's arms differ by {figures.spread:.1%} of "
                f"tokens and {name} is chat, which is never cut; setting aside "
                f"{MAX_SET_ASIDE:.0%} of the items does not match them"
            )
        lengths = {i: tokens[name][i] for i in figures.ids}
        while total > ceiling:
            longest = max(lengths, key=lambda i: lengths[i])
            text = str(rows[name][longest]["text"])
            cuts = [m.end() for m in _SENTENCE_END.finditer(text.rstrip())]
            if not cuts or lengths[longest] == 0:
                raise ArmsError(f"{run_dir}: {name} cannot be cut to match the other arms")
            shorter = text[: cuts[-1]].rstrip()
            (count,) = count_tokens([shorter])
            rows[name][longest] = {**rows[name][longest], "text": shorter}
            total -= lengths[longest] - count
            lengths[longest] = count
            figures.trimmed[name] = figures.trimmed.get(name, 0) + 1
        figures.tokens[name] = total


def _write(folder: Path, records: list[dict[str, Any]], options: ArmsOptions) -> None:
    shape = InferredShape.of(records)
    writer = TableWriter(
        folder,
        shape.schema(),
        form=options.form,
        rows_per_file=options.rows_per_file,
        split=folder.name,
    )
    for record in records:
        writer.write(record if options.form == "jsonl" else shape.row(record))
    writer.close()


def _card(
    config: Mapping[str, Any], kind: CorpusKind, report: ArmsReport, options: ArmsOptions
) -> str:
    configs = [
        {
            "config_name": name,
            "data_files": [
                {"split": split.name, "path": f"{name}/{split.name}/*.{options.form}"}
                for split in report.splits
            ],
        }
        for name in report.arms
    ]
    import yaml

    front = yaml.safe_dump({"configs": configs, "tags": ["storyloom", "ablation"]}, sort_keys=False)
    lines = [
        f"---\n{front}---\n{MARKER}\n",
        f"# Ablation arms of the {kind.name} run {_code(config.get('name'))}\n",
        f"Made by `storyloom export --arms` from run {_code(config.get('run_id'))} (kind "
        f"{kind.name} {_code(config.get('kind_version'))}, recipe "
        f"{_code(config.get('recipe'))}, backend {_code(config.get('backend'))}, model "
        f"{_code(config.get('model'))}).\n",
        arms_paragraph(report, options),
    ]
    return "\n".join(lines)


def _code(value: Any) -> str:
    """A value from the run's files as a Markdown code span: never read as markup."""
    return "`" + " ".join(str(value).replace("`", "'").split()) + "`"


def arms_paragraph(report: ArmsReport, options: ArmsOptions) -> str:
    """The card's account of the arms: what each holds, the token totals, what was set
    aside to match them, and the held-out groups."""
    meaning = {
        "final": "the items as emitted (after review and rewrite)",
        "draft": "the same items' first drafts, before any rewrite",
        "final_document": "the emitted content written as a document",
        "draft_document": "the first drafts written as a document",
    }
    lines = ["## Arms\n"]
    lines += [f"- `{name}`: {meaning[name]}" for name in report.arms]
    lines.append(
        f"\nEvery arm holds the same item ids. Tokens ({TOKENIZER_NAME}) are counted on each "
        f"record's `text`; the totals are matched within {options.tolerance:.0%} by setting "
        "items aside, the same in every arm, and where a format adds tokens to every item "
        "by taking whole last sentences off the longest documents (chat is never cut).\n"
    )
    header = "| split | items | set aside | " + " | ".join(report.arms) + " | spread |"
    lines += [header, "|" + "---|" * (len(report.arms) + 4)]
    for split in report.splits:
        totals = " | ".join(f"{split.tokens.get(name, 0):,}" for name in report.arms)
        lines.append(
            f"| {split.name} | {len(split.ids)} | {len(split.set_aside)} | {totals} | "
            f"{split.spread:.2%} |"
        )
    if cut := [
        f"{split.name} `{name}` {count}"
        for split in report.splits
        for name, count in split.trimmed.items()
    ]:
        lines.append(f"\nLast sentences taken off documents to match: {', '.join(cut)}.")
    if len(report.arms) > 1:
        lines.append(
            f"\n{report.unchanged} item(s) kept their first draft (no rewrite won), so their "
            "`final` and `draft` rows are the same text."
        )
    if report.without_draft:
        lines.append(f"\n{len(report.without_draft)} item(s) have no checkpoint, so no arms.")
    if options.holdout:
        held = ", ".join(_code(value) for value in report.held_out)
        key = _code(options.holdout)
        lines.append(
            f"\nHeld out by {key} as the `test` split: every item whose {key} is {held}. "
            "No `train` item has any of these values."
        )
    return "\n".join(lines) + "\n"
