"""Compute the whole report for one input: stream the corpus, rejected lines and usage
ledger once each, then run the sample-based diversity metrics and the kind's own figures.

Records are read as the input's corpus kind says (`ReportProfile`: where dimensions and
sections live); pairwise similarity compares the kind's `dedupe_text`, like the run did."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from storyloom.core.text import words
from storyloom.dedupe.index import DEFAULT_THRESHOLD
from storyloom.report.compression import compression_ratio
from storyloom.report.cost import CostCollector
from storyloom.report.duplicates import DuplicateIds
from storyloom.report.fields import as_float, as_str, metadata, text_at
from storyloom.report.jsonl import JsonlReader, ReportInputError
from storyloom.report.kind_figures import KindFigureCollector
from storyloom.report.model import Diversity, SourceInfo, StatsReport
from storyloom.report.names import character_names
from storyloom.report.ngrams import distinct_n, repeated_phrases
from storyloom.report.outcomes import OutcomeCollector
from storyloom.report.selfbleu import self_bleu
from storyloom.report.similarity import pairwise_similarity
from storyloom.report.skeletons import SkeletonSample
from storyloom.report.source import ReportInput
from storyloom.report.summaries import histogram, linear_edges, ratio, summarize, top_shares
from storyloom.report.texts import DedupeText, TextCollector
from storyloom.report.tokens import TokenCounter
from storyloom.stories.kind import ReportProfile

DEFAULT_SAMPLE = 2000
DEFAULT_TEXT_FIELD = "text"
TOP_EDGES = 10
MONOLOGUE_BINS = 20
#: Self-BLEU and the compression ratio read the first this many documents of the sample
#: (itself a random draw): together they cost about as much as distinct-n on 2,000.
CORPUS_METRIC_DOCUMENTS = 1000
BATCH = 512


@dataclass(frozen=True)
class StatsOptions:
    text_field: str = DEFAULT_TEXT_FIELD
    #: None: the kind's first two dimensions.
    heatmap_axes: tuple[str, str] | None = None
    sample: int = DEFAULT_SAMPLE
    max_pairs: int = 20_000
    seed: int = 0
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))

    def __post_init__(self) -> None:
        if not self.text_field.strip():
            raise ValueError("text field must not be empty")
        if self.sample < 2:
            raise ValueError(f"sample must be at least 2 documents, got {self.sample}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.max_pairs < 1:
            raise ValueError(f"max pairs must be at least 1, got {self.max_pairs}")
        axes = self.heatmap_axes
        if axes is not None and (len(axes) != 2 or axes[0] == axes[1]):
            raise ValueError(f"heat map needs two different axes, got {self.heatmap_axes}")


def compute_stats(source: ReportInput, options: StatsOptions) -> StatsReport:
    with TokenCounter(options.workers) as tokens:
        return _compute(source, options, tokens)


def _compute(source: ReportInput, options: StatsOptions, tokens: TokenCounter) -> StatsReport:
    profile = source.profile
    heatmap_axes = options.heatmap_axes or source.default_heatmap_axes
    outcomes = OutcomeCollector(heatmap_axes, profile)
    texts = TextCollector(
        options.sample,
        options.seed,
        tokens,
        profile,
        _dedupe_text(source, options),
        record_words=options.text_field == DEFAULT_TEXT_FIELD,
    )
    plan_field = source.corpus_kind.plan_field if source.corpus_kind else "plan"
    skeletons = SkeletonSample(profile.skeleton_fields, options.sample, options.seed)
    figures = KindFigureCollector(source.kind_name, profile)
    notes: list[str] = list(source.notes)
    duplicates = DuplicateIds()
    skipped = 0
    if source.corpus_path is not None:
        reader = JsonlReader(source.corpus_path)
        records = reader.numbered()
        while batch := list(islice(records, BATCH)):
            pairs = []
            for line, record in batch:
                pairs.append((record, _text(record, options.text_field, reader.path, line)))
                outcomes.add(record, "emitted")
                figures.add(record, "emitted")
                skeletons.add(metadata(record).get(plan_field))
                duplicates.add(as_str(record.get("id")), reader.path, line)
            texts.add_batch(pairs)
        skipped += reader.skipped
    if source.rejected_path is not None:
        reader = JsonlReader(source.rejected_path)
        for line, record in reader.numbered():
            outcomes.add(record, "rejected")
            figures.add(record, "rejected")
            duplicates.add(as_str(record.get("id")), reader.path, line)
        skipped += reader.skipped
    cost = None
    if source.usage_path is not None:
        ledger = CostCollector()
        reader = JsonlReader(source.usage_path)
        for entry in reader:
            ledger.add(entry)
        skipped += reader.skipped
        cost = ledger.result(outcomes.emitted_ids, outcomes.rejected_ids, outcomes.emitted)
    elif source.kind == "run":
        notes.append("no usage ledger (usage.jsonl): cost is n/a")
    if skipped:
        notes.append(f"{skipped} blank or torn line(s) skipped (a run in progress or killed)")
    if texts.seen > len(texts.sample):
        notes.append(
            "distinct-n, self-BLEU, compression, repeated phrases, pairwise similarity, "
            "plot skeletons and names are measured on a "
            f"random sample of {len(texts.sample)} of {texts.seen} documents "
            f"(seed {options.seed}); --sample changes its size"
        )
    coverage = outcomes.coverage(source.axis_values, source.section_titles)
    if coverage.heatmap is None and outcomes.emitted:
        notes.append(
            f"heat map: axes {heatmap_axes[0]!r} and {heatmap_axes[1]!r} "
            "are not both in the metadata"
            if heatmap_axes
            else "heat map: the records have fewer than two dimensions"
        )
    kind_figures, figure_notes = figures.result()
    notes.extend(figure_notes)
    return StatsReport(
        source=_source_info(source, options, skipped),
        counts=outcomes.counts(source.planned, source.started),
        size=texts.size(),
        cost=cost,
        quality=outcomes.quality(source.section_titles),
        coverage=coverage,
        diversity=_diversity(
            texts, options, _threshold(source), set(outcomes.personas), profile
        ).model_copy(update={"skeletons": skeletons.result()}),
        kind=source.kind_name,
        noun=(profile.noun.singular, profile.noun.plural),
        kind_figures=kind_figures,
        notes=notes,
        warnings=duplicates.summary(),
    )


def _dedupe_text(source: ReportInput, options: StatsOptions) -> DedupeText:
    """The text the run's dedupe compared: the kind's `dedupe_text` of the record. With
    another --text-field (or a kind not installed here) that field's text, as
    `storyloom dedupe --text-field` would compare; and the document text for a record the
    kind cannot read (a bare corpus can hold anything)."""
    kind = source.corpus_kind
    if kind is None or options.text_field != DEFAULT_TEXT_FIELD:
        return lambda record, text: text

    def kind_text(record: dict[str, Any], text: str) -> str:
        try:
            value = kind.dedupe_text(record)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return text
        return value if isinstance(value, str) else text

    return kind_text


def _text(record: dict[str, Any], field: str, path: Path, line: int) -> str:
    value = text_at(record, field)
    if not isinstance(value, str):
        problem = "is missing" if value is None else "is not a string"
        raise ReportInputError(
            f"{path}: line {line}: text field {field!r} {problem} "
            "(choose another with --text-field)"
        )
    return value


def _threshold(source: ReportInput) -> float:
    """The run's own item threshold; for a bare corpus, `storyloom dedupe`'s default."""
    settings = (source.config or {}).get("settings")
    value = None
    if isinstance(settings, dict):  # runs made before the rename wrote the former name
        value = as_float(settings.get("dedupe_threshold", settings.get("story_dedupe_threshold")))
    return value if value is not None and 0.0 < value <= 1.0 else DEFAULT_THRESHOLD


def _source_info(source: ReportInput, options: StatsOptions, skipped: int) -> SourceInfo:
    config = source.config or {}
    return SourceInfo(
        path=str(source.path),
        kind=source.kind,
        run_name=as_str(config.get("name")) or (source.path.name if source.kind == "run" else None),
        backend=as_str(config.get("backend")),
        model=as_str(config.get("model")),
        text_field=options.text_field,
        skipped_lines=skipped,
    )


def _diversity(
    texts: TextCollector,
    options: StatsOptions,
    threshold: float,
    personas: set[str],
    profile: ReportProfile,
) -> Diversity:
    # interned, so a 2,000-document sample holds each distinct word once
    sample_words = [list(map(sys.intern, words(body.lower()))) for body in texts.sample]
    seen = texts.seen
    openings = top_shares(texts.openings, seen, TOP_EDGES)
    closings = top_shares(texts.closings, seen, TOP_EDGES)
    return Diversity(
        sample_documents=len(sample_words),
        distinct_1=distinct_n(sample_words, 1),
        distinct_2=distinct_n(sample_words, 2),
        distinct_3=distinct_n(sample_words, 3),
        self_bleu=self_bleu(sample_words[:CORPUS_METRIC_DOCUMENTS]),
        self_bleu_documents=min(len(sample_words), CORPUS_METRIC_DOCUMENTS),
        compression_ratio=compression_ratio(texts.sample[:CORPUS_METRIC_DOCUMENTS]),
        openings=openings,
        opening_top_share=ratio(openings[0].count, seen) if openings else None,
        opening_distinct=len(texts.openings),
        closings=closings,
        closing_top_share=ratio(closings[0].count, seen) if closings else None,
        closing_distinct=len(texts.closings),
        repeated_phrases=repeated_phrases(sample_words),
        similarity=pairwise_similarity(
            [text for text, _ in texts.sample_dedupe],
            [group for _, group in texts.sample_dedupe],
            threshold=threshold,
            max_pairs=options.max_pairs,
            seed=options.seed,
        ),
        names=character_names(texts.sample, exclude=personas) if profile.story_rows else None,
        monologue_share=summarize(texts.monologue) if profile.story_rows else None,
        monologue_histogram=histogram(texts.monologue, linear_edges(0.0, 1.0, MONOLOGUE_BINS))
        if profile.story_rows
        else None,
    )
