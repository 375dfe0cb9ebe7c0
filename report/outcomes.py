"""Counts, quality and coverage from the metadata of emitted and rejected lines.

Score distributions and coverage are over emitted documents (what one would train on);
rejections are counted by reason and per axis value, so a value that fails often shows.
A judge criterion belongs to a constitution section when its slug is the section's slug
("Psychological stability" -> "psychological-stability"); the rest are craft criteria.
"first pass" is the judge's verdict on the first draft (a kind whose judge sees only
rewrites has none); an item is "judged" when any judgment of it is recorded (a first
pass, scores or a side-by-side comparison) and "finally passed" if it was emitted or
removed only as a near-duplicate (both passed the judge). A check the kind reports as a
verdict (`ReportProfile.verdicts`) is counted by its labels, not as a 1-5 score.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from storyloom.core.records import Outcome, current_reason
from storyloom.report.fields import (
    as_bool,
    as_int,
    as_str,
    finding_kinds,
    metadata,
    score_map,
    str_list,
    str_map,
)
from storyloom.report.model import (
    AxisValue,
    Counts,
    Coverage,
    Heatmap,
    Quality,
    ScoreDistribution,
    SectionQuality,
)
from storyloom.report.summaries import ratio, sorted_counts
from storyloom.stories.constitution import slugify
from storyloom.stories.kind import ReportProfile

SCORES = ("1", "2", "3", "4", "5")
PASSED_REJECTIONS = frozenset({"near_duplicate"})
UNKNOWN = "n/a"


def _distribution(counter: Counter[int]) -> ScoreDistribution:
    scored = sum(counter.values())
    mean = sum(score * n for score, n in counter.items()) / scored if scored else None
    histogram = {key: counter.get(int(key), 0) for key in SCORES}
    for score, n in sorted(counter.items()):
        if str(score) not in histogram:
            histogram[str(score)] = n  # a judge outside 1-5: show it rather than hide it
    return ScoreDistribution(
        scored=scored, mean=round(mean, 6) if mean is not None else None, histogram=histogram
    )


class OutcomeCollector:
    """Dimensions and sections are read where the kind's `ReportProfile` says."""

    def __init__(
        self, heatmap_axes: tuple[str, str] | None, profile: ReportProfile | None = None
    ) -> None:
        self.heatmap_axes = heatmap_axes
        self.profile = profile or ReportProfile()
        self.emitted_ids: set[str] = set()
        self.rejected_ids: set[str] = set()
        self.emitted = 0
        self.rejected = 0
        self.reasons: Counter[str] = Counter()
        self.rounds: Counter[str] = Counter()
        self.judged = 0
        self.first_judged = 0
        self.first_passed = 0
        self.rewritten = 0
        self.comparisons = 0
        self.rewrite_won = 0
        self.verdicts: dict[str, Counter[str]] = {name: Counter() for name in self.profile.verdicts}
        self.draft_findings: Counter[str] = Counter()
        self.finally_passed = 0
        self.criteria: dict[str, Counter[int]] = defaultdict(Counter)
        self.section_documents: Counter[str] = Counter()
        self.section_scores: dict[str, Counter[int]] = defaultdict(Counter)
        self.findings: dict[Outcome, Counter[str]] = {"emitted": Counter(), "rejected": Counter()}
        self.axes: dict[str, dict[str, Counter[Outcome]]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.personas: Counter[str] = Counter()

    def add(self, record: dict[str, Any], outcome: Outcome) -> None:
        meta = metadata(record)
        item_id = as_str(record.get("id"))
        reason = current_reason(as_str(record.get("reason")) or UNKNOWN)
        if outcome == "emitted":
            self.emitted += 1
            if item_id:
                self.emitted_ids.add(item_id)
        else:
            self.rejected += 1
            self.reasons[reason] += 1
            if item_id:
                self.rejected_ids.add(item_id)
        rounds = as_int(meta.get("revisions"))
        if meta:
            self.rounds[str(rounds) if rounds is not None else UNKNOWN] += 1
        self.rewritten += bool(rounds)
        first_pass = as_bool(meta.get("first_pass"))
        if first_pass is not None:
            self.first_judged += 1
            self.first_passed += first_pass
        comparison = meta.get("comparison")
        if isinstance(comparison, dict):
            self.comparisons += 1
            self.rewrite_won += comparison.get("winner") == "rewrite"
        if first_pass is not None or score_map(meta.get("scores")) or isinstance(comparison, dict):
            self.judged += 1
            self.finally_passed += outcome == "emitted" or reason in PASSED_REJECTIONS
        self.draft_findings.update(str_list(meta.get("draft_findings")))
        self.findings[outcome].update(
            str_list(meta.get("gate_findings")) if outcome == "emitted" else finding_kinds(record)
        )
        axes = str_map(meta.get(self.profile.dimensions_field))
        for axis, value in axes.items():
            self.axes[axis][value][outcome] += 1
        if outcome == "emitted":
            self._add_emitted(meta, axes)

    def _add_emitted(self, meta: dict[str, Any], axes: dict[str, str]) -> None:
        if self.heatmap_axes is not None:
            x_axis, y_axis = self.heatmap_axes
            if x_axis in axes and y_axis in axes:
                self.pairs[(axes[x_axis], axes[y_axis])] += 1
        persona = as_str(meta.get("persona"))
        if persona and self.profile.story_rows:
            self.personas[persona] += 1
        scores = score_map(meta.get("scores"))
        labels = self.profile.verdicts
        for criterion, score in scores.items():
            if criterion in labels:
                self.verdicts[criterion][labels[criterion].get(score, f"score {score}")] += 1
            else:
                self.criteria[criterion][score] += 1
        by_slug = {slugify(criterion): score for criterion, score in scores.items()}
        stand_in = scores.get(self.profile.section_criterion or "")
        for section in dict.fromkeys(str_list(meta.get(self.profile.sections_field))):
            self.section_documents[section] += 1
            score = by_slug.get(section, stand_in)
            if score is not None:
                self.section_scores[section][score] += 1

    def counts(self, planned: int | None, started: int | None) -> Counts:
        finished = self.emitted + self.rejected
        return Counts(
            planned=planned,
            started=started,
            finished=finished,
            in_progress=max(started - finished, 0) if started is not None else None,
            emitted=self.emitted,
            rejected=self.rejected,
            rejected_by_reason=sorted_counts(self.reasons),
            revision_rounds=dict(sorted(self.rounds.items(), key=lambda kv: _round_key(kv[0]))),
            near_duplicates_removed=self.reasons.get("near_duplicate", 0),
            plan_duplicates=self.reasons.get("plan_duplicate", 0),
        )

    def quality(self, section_titles: dict[str, str]) -> Quality:
        sections = sorted(set(self.section_documents) | set(section_titles))
        return Quality(
            criteria={name: _distribution(c) for name, c in sorted(self.criteria.items())},
            sections={
                slug: SectionQuality(
                    title=section_titles.get(slug),
                    documents=self.section_documents.get(slug, 0),
                    scores=_distribution(self.section_scores.get(slug, Counter())),
                )
                for slug in sections
            },
            section_scored_by=self.profile.section_criterion,
            verdicts={name: sorted_counts(c) for name, c in self.verdicts.items()},
            gate_findings_emitted=sorted_counts(self.findings["emitted"]),
            gate_findings_drafts=sorted_counts(self.draft_findings),
            gate_findings_rejected=sorted_counts(self.findings["rejected"]),
            judged=self.judged,
            first_drafts_judged=self.first_judged,
            first_pass_rate=ratio(self.first_passed, self.first_judged),
            final_pass_rate=ratio(self.finally_passed, self.judged),
            rewritten=self.rewritten,
            comparisons=self.comparisons,
            rewrite_won=self.rewrite_won,
        )

    def coverage(
        self, axis_values: dict[str, list[str]], section_titles: dict[str, str]
    ) -> Coverage:
        axes: dict[str, dict[str, AxisValue]] = {}
        for axis in [*axis_values, *sorted(set(self.axes) - set(axis_values))]:
            observed = self.axes.get(axis, {})
            known = axis_values.get(axis, [])
            values = [*known, *sorted(set(observed) - set(known))]
            axes[axis] = {
                value: AxisValue(
                    emitted=observed.get(value, Counter()).get("emitted", 0),
                    rejected=observed.get(value, Counter()).get("rejected", 0),
                )
                for value in values
            }
        sections = {slug: self.section_documents.get(slug, 0) for slug in section_titles}
        sections.update(sorted_counts(self.section_documents))
        return Coverage(
            axes=axes,
            heatmap=self._heatmap(axes),
            sections=dict(sorted(sections.items(), key=lambda kv: (-kv[1], kv[0]))),
            uncovered_sections=sorted(slug for slug, n in sections.items() if n == 0),
            persona_names=sorted_counts(self.personas) if self.profile.story_rows else None,
        )

    def _heatmap(self, axes: dict[str, dict[str, AxisValue]]) -> Heatmap | None:
        if self.heatmap_axes is None:
            return None
        x_axis, y_axis = self.heatmap_axes
        if x_axis not in axes or y_axis not in axes:
            return None
        x_values, y_values = list(axes[x_axis]), list(axes[y_axis])
        return Heatmap(
            x_axis=x_axis,
            y_axis=y_axis,
            x_values=x_values,
            y_values=y_values,
            counts=[[self.pairs.get((x, y), 0) for x in x_values] for y in y_values],
        )


def _round_key(key: str) -> tuple[int, int]:
    return (0, int(key)) if key.isdigit() else (1, 0)
