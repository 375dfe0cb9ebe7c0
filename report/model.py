"""The typed result of `storyloom stats`: one value the terminal, JSON and HTML renderers
all read, so the three can never disagree about a number.

`None` means "not known for this input" (a bare corpus has no usage ledger, a run may
not record how many items were planned); renderers show it as "n/a".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Summary(_Frozen):
    """Distribution of one number over documents (percentiles interpolate linearly)."""

    count: int
    total: float | None = None
    mean: float | None = None
    min: float | None = None
    median: float | None = None
    p90: float | None = None
    max: float | None = None


class Histogram(_Frozen):
    """`counts[i]` values fall in `[edges[i], edges[i+1])`; the last bin includes its top."""

    edges: list[float]
    counts: list[int]


class Share(_Frozen):
    value: str
    count: int
    share: float


class SourceInfo(_Frozen):
    path: str
    kind: str = Field(description="'run' (a run directory) or 'corpus' (a bare JSONL file)")
    run_name: str | None = None
    backend: str | None = None
    model: str | None = None
    text_field: str
    skipped_lines: int = Field(description="torn or blank lines skipped (a run in progress)")


class Counts(_Frozen):
    planned: int | None
    started: int | None = Field(description="item threads with a checkpoint")
    finished: int
    in_progress: int | None
    emitted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    revision_rounds: dict[str, int] = Field(description="finished items by revise rounds")
    near_duplicates_removed: int
    plan_duplicates: int


class LengthBand(_Frozen):
    documents: int
    target_words: tuple[int, int] | None
    within_target: float | None = Field(description="share of documents inside the band")
    words: Summary
    histogram: Histogram


class Size(_Frozen):
    documents: int
    words: Summary
    tokens: Summary
    tokenizer: str
    named_tokenizer: str | None = None
    named_tokens_per_word: float | None = Field(
        default=None, description="measured on the sample; multiply by words for a total"
    )
    named_tokens_estimated_total: int | None = None
    length_bands: dict[str, LengthBand]


class TokenSpend(_Frozen):
    calls: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    usd: float
    cache_read_share: float | None = Field(
        default=None, description="cache read / (input + cache write + cache read) tokens"
    )


class Cost(_Frozen):
    total: TokenSpend
    per_node: dict[str, TokenSpend]
    per_model: dict[str, TokenSpend]
    items: int
    per_item_usd: Summary
    per_item_tokens: Summary
    usd_on_emitted: float
    usd_on_rejected: float
    usd_unattributed: float = Field(description="items neither emitted nor rejected yet")
    usd_per_accepted_document: float | None
    tokens_per_accepted_document: float | None
    usd_per_1k_output_tokens: float | None = None


class ScoreDistribution(_Frozen):
    scored: int
    mean: float | None
    histogram: dict[str, int] = Field(description="score 1..5 -> documents")


class SectionQuality(_Frozen):
    title: str | None
    documents: int = Field(description="emitted documents with this section in play")
    scores: ScoreDistribution


class Quality(_Frozen):
    criteria: dict[str, ScoreDistribution]
    sections: dict[str, SectionQuality]
    section_scored_by: str | None = Field(
        default=None, description="the criterion scoring a section when none is named for it"
    )
    verdicts: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="checks with labelled outcomes: {check: {label: n}}"
    )
    gate_findings_emitted: dict[str, int]
    gate_findings_drafts: dict[str, int] = Field(
        default_factory=dict, description="findings in first drafts of finished items"
    )
    gate_findings_rejected: dict[str, int]
    judged: int = Field(description="finished items the judge saw at least once")
    first_drafts_judged: int = 0
    first_pass_rate: float | None
    final_pass_rate: float | None
    rewritten: int = Field(default=0, description="finished items revised at least once")
    comparisons: int = Field(default=0, description="rewrites judged beside their draft")
    rewrite_won: int = 0


class Heatmap(_Frozen):
    x_axis: str
    y_axis: str
    x_values: list[str]
    y_values: list[str]
    counts: list[list[int]] = Field(description="counts[y][x]")


class AxisValue(_Frozen):
    emitted: int
    rejected: int


class Coverage(_Frozen):
    axes: dict[str, dict[str, AxisValue]]
    heatmap: Heatmap | None
    sections: dict[str, int]
    uncovered_sections: list[str]
    persona_names: dict[str, int] | None = Field(description="None: a kind without personas")


class Similarity(_Frozen):
    method: str
    pairs: int
    summary: Summary
    histogram: Histogram
    pairs_at_or_above_threshold: int
    threshold: float


class Names(_Frozen):
    method: str
    distinct: int
    mentions: int = Field(description="(document, name) pairs")
    top: list[Share]
    top_share: float | None = Field(description="share of mentions taken by the top name")


class Skeletons(_Frozen):
    method: str
    plans: int
    clusters: int
    largest_share: float | None = Field(description="share of plans in the largest cluster")
    top: list[Share] = Field(description="clusters by size, named by their first plan")


class Diversity(_Frozen):
    sample_documents: int
    distinct_1: float | None
    distinct_2: float | None
    distinct_3: float | None
    self_bleu: float | None = Field(
        default=None, description="mean BLEU-4 of each sampled document against the others"
    )
    self_bleu_documents: int = Field(
        default=0, description="sampled documents self-BLEU and compression ratio read"
    )
    compression_ratio: float | None = Field(
        default=None, description="bytes / gzip bytes of those documents together"
    )
    skeletons: Skeletons | None = None
    openings: list[Share]
    opening_top_share: float | None
    opening_distinct: int
    closings: list[Share]
    closing_top_share: float | None
    closing_distinct: int
    repeated_phrases: list[Share] = Field(description="4-grams by documents containing them")
    similarity: Similarity | None
    names: Names | None = Field(description="None: a kind without a cast of characters")
    monologue_share: Summary | None = None
    monologue_histogram: Histogram | None = None


class StatsReport(_Frozen):
    source: SourceInfo
    counts: Counts
    size: Size
    cost: Cost | None
    quality: Quality
    coverage: Coverage
    diversity: Diversity
    kind: str | None = Field(default=None, description="the corpus kind the records were read as")
    noun: tuple[str, str] = Field(
        default=("item", "items"), description="the kind's item noun: singular, plural"
    )
    kind_figures: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="the kind's own tables: {title: {row: value}}"
    )
    notes: list[str] = Field(default_factory=list, description="what was sampled or missing")
    warnings: list[str] = Field(
        default_factory=list, description="damage in the input, such as an item id twice"
    )
