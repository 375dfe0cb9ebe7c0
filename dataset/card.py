"""The dataset card (`README.md`) of an export: the Hugging Face YAML header, then what
someone training on the data needs to trust it: how it was made (kind, recipe, settings,
models, input fingerprints), what came out (counts, rejection reasons) and key figures
from `storyloom stats`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from storyloom.dataset.merge import WORKER_SETTINGS
from storyloom.report.model import StatsReport
from storyloom.stories.registry import UnknownKindError, get_kind

#: The line that marks a folder as made by `storyloom export` (so it may be rebuilt).
MARKER = "<!-- made by storyloom export -->"
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


@dataclass(frozen=True)
class TableInfo:
    """One config of the dataset: its folder, files, rows and features."""

    config: str
    folder: str
    extension: str
    rows: int
    #: Bytes of its files (the card's `num_bytes`, `download_size`, `dataset_size`).
    size: int
    features: list[dict[str, Any]]
    description: str


@dataclass
class ModelUse:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0


@dataclass(frozen=True)
class CardFacts:
    """Everything the card says, gathered by the export."""

    run: Mapping[str, Any]
    tables: list[TableInfo]
    emitted: int
    rejected_by_reason: Counter[str]
    models: dict[str, ModelUse]
    license: str
    stats: StatsReport | None = None
    notes: list[str] = field(default_factory=list)


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    bounds += [(1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "n>1T" if rows >= 10**12 else "100M<n<1B" if rows < 10**9 else "1B<n<10B"


def header(facts: CardFacts) -> dict[str, Any]:
    kind = str(facts.run.get("kind") or "story")
    return {
        "license": facts.license,
        "language": ["en"],
        "pretty_name": f"storyloom {kind} corpus: {facts.run.get('name', 'run')}",
        "size_categories": [size_category(facts.emitted)],
        "task_categories": ["text-generation"],
        "tags": ["synthetic", "alignment", "storyloom", kind],
        "configs": [
            {
                "config_name": table.config,
                "data_files": [
                    {"split": "train", "path": f"{table.folder}/train-*.{table.extension}"}
                ],
            }
            for table in facts.tables
        ],
        "dataset_info": [_info(table) for table in facts.tables],
    }


def _info(table: TableInfo) -> dict[str, Any]:
    """A config's `dataset_info` (features only where the files carry a schema)."""
    info: dict[str, Any] = {"config_name": table.config}
    if table.features:
        info["features"] = table.features
    info["splits"] = [{"name": "train", "num_bytes": table.size, "num_examples": table.rows}]
    info["download_size"] = table.size
    info["dataset_size"] = table.size
    return info


def render_card(facts: CardFacts) -> str:
    run = facts.run
    front = yaml.safe_dump(header(facts), sort_keys=False, allow_unicode=True)
    parts = [f"---\n{front}---\n{MARKER}\n", f"# {header(facts)['pretty_name']}\n"]
    parts.append(
        f"Synthetic data made with storyloom, corpus kind `{run.get('kind')}` (version "
        f"{run.get('kind_version')}, recipe fingerprint `{run.get('recipe')}`: prompts, "
        f"rubric and gate thresholds){_summary(str(run.get('kind')))}. Every item went "
        "through the kind's deterministic gates and its LLM checks, was revised until it "
        "passed or was rejected, and near-duplicates were removed.\n"
    )
    parts.append(_tables_section(facts))
    parts.append(_generation_section(run))
    parts.append(_models_section(facts))
    parts.append(_inputs_section(run))
    parts.append(_counts_section(facts))
    if facts.stats is not None:
        parts.append(_figures_section(facts.stats))
    if facts.notes:
        parts.append("## Notes\n\n" + "".join(f"- {note}\n" for note in facts.notes))
    return _scrub("\n".join(parts))


def _summary(kind: str) -> str:
    """The kind's own one-line description, when this install has the kind."""
    try:
        return f": {get_kind(kind).summary}"
    except UnknownKindError:
        return ""


def _scrub(text: str) -> str:
    """No `user:password@` of a URL a setting held reaches the card."""
    return _CREDENTIALS.sub(r"\1***@", text)


def _table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _tables_section(facts: CardFacts) -> str:
    rows = [(f"`{t.config}`", f"`{t.folder}/`", t.rows, t.description) for t in facts.tables]
    first = facts.tables[0]
    example = (
        "```python\nfrom datasets import load_dataset\n\n"
        f'ds = load_dataset("{_loader(first.extension)}", '
        f'data_files="{first.folder}/*.{first.extension}", split="train")\n```\n'
    )
    fields = (
        "Nested values are JSON strings (`json.loads` them): `metadata` (what the kind "
        "records of each item: its draw, scores, revisions, model), `tools`, `findings`, "
        "`critique`, `review`. Chat kinds' `messages` are `{role, content}` lists.\n"
    )
    table = _table(("config", "folder", "rows", "what"), rows)
    return "## Files\n\n" + table + "\n" + example + "\n" + fields


def _loader(extension: str) -> str:
    return "parquet" if extension == "parquet" else "json"


def _generation_section(run: Mapping[str, Any]) -> str:
    settings = run.get("settings") or {}
    rows = [
        (f"`{key}`", f"`{value!r}`" if not isinstance(value, str) else f"`{value}`")
        for key, value in settings.items()
        if key not in WORKER_SETTINGS
    ]
    lines = f"Backend `{run.get('backend')}`, model `{run.get('model')}`.\n\n"
    return "## Generation config\n\n" + lines + _table(("setting", "value"), rows)


def _models_section(facts: CardFacts) -> str:
    if not facts.models:
        return "## Models\n\nNo usage ledger: calls per model are not known.\n"
    rows = [
        (f"`{name}`", use.calls, use.input_tokens, use.output_tokens, f"${use.usd:.4f}")
        for name, use in sorted(facts.models.items())
    ]
    head = ("model", "calls", "input tokens", "output tokens", "USD")
    return "## Models (from the usage ledger)\n\n" + _table(head, rows)


def _inputs_section(run: Mapping[str, Any]) -> str:
    inputs = run.get("inputs") or {}
    rows = [
        (name, f"`{entry.get('fingerprint')}`" if isinstance(entry, dict) else entry)
        for name, entry in inputs.items()
    ]
    return (
        "## Inputs (content fingerprints)\n\nThe same fingerprint means the same file "
        "content (the constitution first of all).\n\n" + _table(("input", "fingerprint"), rows)
    )


def _counts_section(facts: CardFacts) -> str:
    rejected = sum(facts.rejected_by_reason.values())
    rows: list[tuple[Any, ...]] = [("accepted", facts.emitted), ("rejected", rejected)]
    rows += [(f"rejected: `{r}`", n) for r, n in facts.rejected_by_reason.most_common()]
    return "## Counts\n\n" + _table(("items", "count"), rows)


def _figures_section(stats: StatsReport) -> str:
    rows: list[tuple[Any, ...]] = []
    words, tokens = stats.size.words, stats.size.tokens
    rows.append(("words per document (mean / median / p90)", _triple(words)))
    rows.append((f"tokens per document, {stats.size.tokenizer} (mean)", _num(tokens.mean)))
    quality = stats.quality
    rows.append(("first-pass rate (judge)", _pct(quality.first_pass_rate)))
    rows.append(("final pass rate", _pct(quality.final_pass_rate)))
    rounds = ", ".join(f"{k}: {v}" for k, v in sorted(stats.counts.revision_rounds.items()))
    rows.append(("finished items by revision rounds", rounds or "n/a"))
    rows.append(("near-duplicates removed", stats.counts.near_duplicates_removed))
    for name, scores in sorted(quality.criteria.items()):
        rows.append((f"judge score `{name}` (mean of 5)", _num(scores.mean)))
    diversity = stats.diversity
    rows.append(("distinct-2 (sample)", _num(diversity.distinct_2)))
    if diversity.similarity is not None:
        similarity = diversity.similarity
        rows.append(
            (
                f"pairs at MinHash Jaccard >= {similarity.threshold} (of {similarity.pairs})",
                similarity.pairs_at_or_above_threshold,
            )
        )
    if stats.cost is not None:
        rows.append(("total cost", f"${stats.cost.total.usd:.4f}"))
        per_doc = stats.cost.usd_per_accepted_document
        rows.append(("cost per accepted document", "n/a" if per_doc is None else f"${per_doc:.4f}"))
    return "## Key figures (`storyloom stats`)\n\n" + _table(("figure", "value"), rows)


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _triple(summary: Any) -> str:
    return " / ".join(_num(v) for v in (summary.mean, summary.median, summary.p90))
