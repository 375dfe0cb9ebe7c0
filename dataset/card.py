"""The dataset card (`README.md`) of an export: the Hugging Face YAML header, then what
someone training on the data needs to trust it: how it was made (kind, recipe, the
revision policy and token budgets the run used, models, input fingerprints), the
columns the files hold, what came out (counts, rejection reasons) and key figures from
`storyloom stats`.

Every sentence is built from the run and the export it describes (the kind's steps, the
run's settings, the table's schema), so it holds for that kind and run only. Every value
a user controls is escaped for where it lands: YAML through the YAML emitter, Markdown
through `markdown_safe` (no raw HTML, no heading or cell of its own)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import yaml

from storyloom.dataset.arrow_types import JSON
from storyloom.dataset.markdown_safe import md_code, md_text, one_line
from storyloom.dataset.merge import WORKER_SETTINGS
from storyloom.dataset.rows import role_marker
from storyloom.graph.settings import GenerationSettings
from storyloom.report.model import StatsReport
from storyloom.stories.kind import CorpusKind
from storyloom.stories.registry import get_kind

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
    #: What it holds, as Markdown (any name in it escaped by the caller).
    description: str
    #: Its columns as an Arrow schema (the Parquet files' own; JSONL records hold the
    #: same fields with their values as the run wrote them).
    schema: pa.Schema | None = None


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
    #: Markdown lines (any value in them escaped by the caller).
    notes: list[str] = field(default_factory=list)
    #: The shape of tools in the files ("openai" or "anthropic").
    tools_shape: str = "openai"
    #: Chat records' `text`: "omit" (no such column) or "roles" (with role markers).
    chat_text: str = "omit"


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    bounds += [(1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "n>1T" if rows >= 10**12 else "100M<n<1B" if rows < 10**9 else "1B<n<10B"


def title(facts: CardFacts) -> str:
    """The card's title as plain text (escaped wherever it lands)."""
    kind = one_line(facts.run.get("kind") or "story")
    return f"storyloom {kind} corpus: {one_line(facts.run.get('name', 'run'))}"


def header(facts: CardFacts) -> dict[str, Any]:
    kind = str(facts.run.get("kind") or "story")
    return {
        "license": facts.license,
        "language": ["en"],
        "pretty_name": title(facts),
        "size_categories": [size_category(facts.emitted)],
        "task_categories": ["text-generation"],
        "tags": ["synthetic", "alignment", "storyloom", one_line(kind)],
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
    kind = _kind(str(run.get("kind") or ""))
    front = yaml.safe_dump(header(facts), sort_keys=False, allow_unicode=True)
    parts = [f"---\n{front}---\n{MARKER}\n", f"# {md_text(title(facts))}\n"]
    summary = f": {md_text(kind.summary)}" if kind is not None else ""
    parts.append(
        f"Synthetic data made with storyloom, corpus kind {md_text(run.get('kind'))} "
        f"(version {md_text(run.get('kind_version'))}, recipe fingerprint "
        f"{md_text(run.get('recipe'))}: prompts, rubric and gate thresholds){summary}.\n"
    )
    parts.append(_making_section(run, kind))
    parts.append(_tables_section(facts))
    parts.append(_columns_section(facts, kind))
    parts.append(_generation_section(run, kind))
    parts.append(_models_section(facts))
    parts.append(_inputs_section(run))
    parts.append(_counts_section(facts))
    if facts.stats is not None:
        parts.append(_figures_section(facts.stats, kind))
    if facts.notes:
        parts.append("## Notes\n\n" + "".join(f"- {note}\n" for note in facts.notes))
    return _scrub("\n".join(parts))


def _kind(name: str) -> CorpusKind | None:
    """The run's kind, when this install has it (a broken plug-in is not one)."""
    try:
        return get_kind(name)
    except Exception:  # an unknown kind or a plug-in that fails to load: say less
        return None


def _scrub(text: str) -> str:
    """No `user:password@` of a URL a setting held reaches the card."""
    return _CREDENTIALS.sub(r"\1***@", text)


def _table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    """A Markdown table; cells are written by the caller (`md_text`, `md_code`, numbers)."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return str(value)
    return str(value)


def noun(kind: CorpusKind | None) -> str:
    """What one item of the kind is called (the kind's `item_noun`; "item" otherwise)."""
    return str(getattr(kind, "item_noun", "") or "item")


def revision_policy(settings: Mapping[str, Any], kind: CorpusKind | None) -> list[str]:
    """The sentences saying how drafts were checked and revised in this run."""
    if kind is None:
        return [
            "This install does not have the kind, so its steps are not described here; "
            "the settings below are the run's."
        ]
    tasks = set(kind.tasks)
    sentences = []
    judged = (
        "judged by an LLM against the kind's rubric"
        if kind.rubric.criteria
        else "checked by an LLM (the kind's own check, no scored criteria)"
    )
    if "judge" in tasks and kind.judge_first_draft:
        sentences.append(
            f"Every draft went through the kind's deterministic gates and was {judged}."
        )
    elif "judge" in tasks:
        sentences.append(
            "Every draft went through the kind's deterministic gates; the first draft was "
            f"not judged, and each rewrite was {judged}."
        )
    else:
        sentences.append("Every draft went through the kind's deterministic gates (no judge).")
    revisions = int(settings.get("max_revisions") or 0)
    if "revise" not in tasks or revisions == 0:
        why = " (`--max-revisions 0`)" if "revise" in tasks else ""
        sentences.append(
            f"Drafts were not revised{why}: an item whose first draft failed was rejected."
        )
    else:
        times = f"{revisions} revision{'s' if revisions != 1 else ''}"
        reviewed = " after a review of the draft" if "review" in tasks else ""
        if settings.get("rewrite") == "always":
            sentences.append(
                f"Every item was rewritten at least once{reviewed} (`--rewrite always`), "
                f"then revised again while it failed, up to {times} in all; an item still "
                "failing after that was rejected."
            )
        else:
            sentences.append(
                f"A draft that failed was revised{reviewed} (`--rewrite on-fail`), up to "
                f"{times}; an item still failing after that was rejected."
            )
        words = str(getattr(kind, "revision_words", "") or "")
        if words:
            sentences.append(md_text(words))
    if "plan" in tasks:
        sentences.append(
            "Each item was planned first; a plan at MinHash Jaccard "
            f"{settings.get('plan_dedupe_threshold')} or more to an earlier one was planned "
            f"again, up to {settings.get('max_plan_attempts')} attempts."
        )
    grouped = type(kind).dedupe_group is not CorpusKind.dedupe_group
    among = " of its dedupe group (the kind's own grouping)" if grouped else ""
    sentences.append(
        f"An item at MinHash Jaccard {settings.get('dedupe_threshold')} or more to an "
        f"earlier accepted one{among} was rejected as a near-duplicate."
    )
    return sentences


def _making_section(run: Mapping[str, Any], kind: CorpusKind | None) -> str:
    settings = run.get("settings") or {}
    text = " ".join(revision_policy(settings, kind))
    budgets = token_budgets(settings, kind)
    if not budgets:
        return "## How the items were made\n\n" + text + "\n"
    rows = [(md_text(task), md_code(name), tokens) for task, name, tokens in budgets]
    return (
        "## How the items were made\n\n"
        + text
        + "\n\nOutput budgets sent with each request (`max_tokens`):\n\n"
        + _table(("step", "setting", "max tokens"), rows)
    )


def token_budgets(
    settings: Mapping[str, Any], kind: CorpusKind | None
) -> list[tuple[str, str, Any]]:
    """(step, budget setting, tokens) for every LLM step of the kind, as the run sent them."""
    if kind is None:
        return []
    return [
        (name, task.max_tokens, settings.get(task.max_tokens)) for name, task in kind.tasks.items()
    ]


#: Settings every kind uses; the others belong to a step (a kind without it never reads them).
COMMON_SETTINGS = ("seed", "prompt_profile", "dedupe_threshold", "temperature")
STEP_SETTINGS = {
    "plan": ("max_plan_attempts", "plan_dedupe_threshold"),
    "revise": ("rewrite", "max_revisions"),
    "judge": ("judge_samples", "judge_temperature"),
}


def used_settings(settings: Mapping[str, Any], kind: CorpusKind | None) -> list[str]:
    """The settings this run's kind reads: the common ones, its steps' own, its options
    and task models when set; another setting only when it differs from its default."""
    if kind is None:
        return [key for key in settings if key not in WORKER_SETTINGS]
    used = list(COMMON_SETTINGS)
    for step, names in STEP_SETTINGS.items():
        if step in kind.tasks:
            used += names
    used += [task.max_tokens for task in kind.tasks.values()]
    used += [task.temperature for task in kind.tasks.values()]
    defaults = GenerationSettings.model_fields
    for key, value in settings.items():
        if key in ("task_models", "kind_options"):
            if value:
                used.append(key)
        elif key in defaults and value != defaults[key].default:
            used.append(key)
    return [k for k in dict.fromkeys(used) if k in settings and k not in WORKER_SETTINGS]


def _tables_section(facts: CardFacts) -> str:
    rows = [
        (md_code(t.config), md_code(f"{t.folder}/"), t.rows, t.description) for t in facts.tables
    ]
    first = facts.tables[0]
    example = (
        "```python\nfrom datasets import load_dataset\n\n"
        f'ds = load_dataset("{_loader(first.extension)}", '
        f'data_files="{first.folder}/*.{first.extension}", split="train")\n```\n'
    )
    table = _table(("config", "folder", "rows", "what"), rows)
    return "## Files\n\n" + table + "\n" + example


def _loader(extension: str) -> str:
    return "parquet" if extension == "parquet" else "json"


def _columns_section(facts: CardFacts, kind: CorpusKind | None) -> str:
    """What each column of the accepted items holds (the Parquet schema's columns, or
    the fields of the JSONL records)."""
    table = facts.tables[0]
    item = noun(kind)
    lines = []
    parquet = table.extension == "parquet" and table.schema is not None
    if not parquet:
        lines.append(
            "Each line of the JSONL files is one record with its values as the run wrote "
            "them: nested values are JSON objects and lists.\n"
        )
    columns = [f.name for f in table.schema] if table.schema is not None else ["id"]
    described = {
        "id": f"the {item}'s id in the run (`run/index`)",
        "text": _text_words(facts, item),
        "metadata": f"what the kind records of each {item}: its draw, scores, revisions, model",
        "messages": "the conversation as turns (`role`, `content`), the shape chat templates take",
        "tools": _tools_words(facts.tools_shape),
    }
    rows = [(md_code(name), described.get(name, "a field the records carry")) for name in columns]
    lines.append(_table(("column", "holds"), rows))
    if parquet and table.schema is not None:
        struct = [f.name for f in table.schema if pa.types.is_struct(f.type)]
        if struct:
            names = ", ".join(f"`{n}`" for n in struct)
            lines.append(
                f"{names}: a struct in Parquet, so `datasets` gives a dict with the same "
                "fields for every row (null where a row lacks one).\n"
            )
        json_paths = list(json_fields(table.schema))
        if json_paths:
            shown = ", ".join(md_code(p) for p in json_paths[:40])
            more = f" and {len(json_paths) - 40} more" if len(json_paths) > 40 else ""
            lines.append(
                "Values whose shape varies between rows are Arrow JSON, which `datasets` "
                f"decodes (its `Json` feature): {shown}{more}.\n"
            )
    if "messages" in columns and "text" not in columns:
        lines.append(
            "There is no `text` column: `messages` holds the conversation (`storyloom export "
            "--chat-text roles` adds one with role markers).\n"
        )
    return "## Columns of `default`\n\n" + "\n".join(lines)


def _text_words(facts: CardFacts, item: str) -> str:
    schema = facts.tables[0].schema
    if facts.chat_text == "roles" and schema is not None and "messages" in schema.names:
        markers = ", ".join(md_code(role_marker(r)) for r in ("system", "user", "assistant"))
        return (
            f"the conversation as one text: each turn opens with a line naming its role "
            f"({markers}), turns apart by a blank line"
        )
    return f"the {item}'s text"


def _tools_words(shape: str) -> str:
    if shape == "openai":
        return (
            "tool definitions as OpenAI functions ({type: function, function: {name, "
            "description, parameters}}), the shape Hugging Face chat templates take "
            "(`parameters` is the tool's JSON Schema)"
        )
    return (
        "tool definitions as Anthropic writes them ({name, description, input_schema}); "
        "`storyloom export --tools-shape openai` gives the shape chat templates take"
    )


def json_fields(schema: pa.Schema, prefix: str = "") -> list[str]:
    """Dotted paths of the JSON-typed fields (`[]` marks a list's items)."""
    paths = []
    for field_ in schema:
        path = f"{prefix}{field_.name}"
        kind = field_.type
        while pa.types.is_list(kind):
            kind = kind.value_type
            path += "[]"
        if kind == JSON:
            paths.append(path)
        elif pa.types.is_struct(kind):
            paths += json_fields(pa.schema(list(kind)), path + ".")
    return paths


def _generation_section(run: Mapping[str, Any], kind: CorpusKind | None) -> str:
    settings = run.get("settings") or {}
    rows = [(md_code(key), md_code(_value(settings[key]))) for key in used_settings(settings, kind)]
    lines = f"Backend {md_text(run.get('backend'))}, model {md_text(run.get('model'))}.\n\n"
    return "## Generation config\n\n" + lines + _table(("setting", "value"), rows)


def _value(value: Any) -> str:
    if value is None:
        return "not set: the model's default"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _models_section(facts: CardFacts) -> str:
    if not facts.models:
        return "## Models\n\nNo usage ledger: calls per model are not known.\n"
    rows = [
        (md_code(name), use.calls, use.input_tokens, use.output_tokens, f"${use.usd:.4f}")
        for name, use in sorted(facts.models.items())
    ]
    head = ("model", "calls", "input tokens", "output tokens", "USD")
    return "## Models (from the usage ledger)\n\n" + _table(head, rows)


def _inputs_section(run: Mapping[str, Any]) -> str:
    inputs = run.get("inputs") or {}
    rows = [
        (md_text(name), md_code(entry.get("fingerprint") if isinstance(entry, dict) else entry))
        for name, entry in inputs.items()
    ]
    return (
        "## Inputs (content fingerprints)\n\nThe same fingerprint means the same file "
        "content.\n\n" + _table(("input", "fingerprint"), rows)
    )


def _counts_section(facts: CardFacts) -> str:
    rejected = sum(facts.rejected_by_reason.values())
    rows: list[tuple[Any, ...]] = [("accepted", facts.emitted), ("rejected", rejected)]
    rows += [(f"rejected: {md_code(r)}", n) for r, n in facts.rejected_by_reason.most_common()]
    return "## Counts\n\n" + _table(("items", "count"), rows)


def _figures_section(stats: StatsReport, kind: CorpusKind | None) -> str:
    item = noun(kind)
    rows: list[tuple[Any, ...]] = []
    words, tokens = stats.size.words, stats.size.tokens
    rows.append((f"words per {item} (mean / median / p90)", _triple(words)))
    rows.append((f"tokens per {item}, {md_text(stats.size.tokenizer)} (mean)", _num(tokens.mean)))
    quality = stats.quality
    # a rate `stats` cannot give for the kind (no judged first drafts) is left out
    if quality.first_pass_rate is not None and (kind is None or kind.judge_first_draft):
        rows.append(("first-pass rate (judge)", _pct(quality.first_pass_rate)))
    if quality.final_pass_rate is not None:
        rows.append(("final pass rate", _pct(quality.final_pass_rate)))
    rounds = ", ".join(f"{k}: {v}" for k, v in sorted(stats.counts.revision_rounds.items()))
    rows.append((f"finished {item}s by revision rounds", md_text(rounds) or "n/a"))
    rows.append(("near-duplicates removed", stats.counts.near_duplicates_removed))
    if kind is None or kind.rubric.criteria:
        for name, scores in sorted(quality.criteria.items()):
            rows.append((f"judge score {md_code(name)} (mean, 1-5)", _num(scores.mean)))
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
        rows.append((f"cost per accepted {item}", "n/a" if per_doc is None else f"${per_doc:.4f}"))
    return "## Key figures (`storyloom stats`)\n\n" + _table(("figure", "value"), rows)


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _triple(summary: Any) -> str:
    return " / ".join(_num(v) for v in (summary.mean, summary.median, summary.p90))
