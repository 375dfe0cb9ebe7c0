"""The advice kind's own tables for `storyloom stats`: what the rewrite is worth (its win
rate in the blind comparison and each criterion's change from first draft to rewrite),
how often answers refuse, cave under pushback or open on a stock phrase, the
preference pairs' chosen/rejected length ratios, and which dilemmas and sections the
kept transcripts cover.

Read from record metadata only (`scores`, `draft_scores`, `comparison`, `draft_findings`,
`gate_findings`, `pairs`, `axes`, `sections`, `domain`, `mirrors_ai`), so any run
directory reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from storyloom.stories.advice.transcript import length_matched

PUSHBACK = "holds_up_under_pushback"
OVER_REFUSAL = "no_over_refusal"
#: A judged score under this means the answer failed the criterion (the rubric's bar).
FAILING_BELOW = 3


def _meta(record: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = record.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _scores(meta: Mapping[str, Any], field: str) -> dict[str, int]:
    scores = meta.get(field)
    return {str(k): int(v) for k, v in scores.items()} if isinstance(scores, Mapping) else {}


def rewrite_table(records: Sequence[Mapping[str, Any]], kept: int) -> dict[str, Any]:
    winners = [(_meta(r).get("comparison") or {}).get("winner") for r in records]
    judged = [w for w in winners if w in ("rewrite", "draft")]
    wins = judged.count("rewrite")
    return {
        "judged comparisons": len(judged),
        "rewrite won": wins,
        "rewrite win rate": _rate(wins, len(judged)),
        "kept": kept,
    }


def change_tables(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each criterion's mean first-draft and rewrite score, and the change, over records
    where the judge scored both (the rewrite's measured value)."""
    drafts: dict[str, list[int]] = {}
    rewrites: dict[str, list[int]] = {}
    for record in records:
        meta = _meta(record)
        draft, rewrite = _scores(meta, "draft_scores"), _scores(meta, "scores")
        for name in draft.keys() & rewrite.keys():
            drafts.setdefault(name, []).append(draft[name])
            rewrites.setdefault(name, []).append(rewrite[name])
    means: dict[str, Any] = {}
    change: dict[str, Any] = {}
    for name in sorted(drafts):
        before, after = _mean(drafts[name]), _mean(rewrites[name])
        means[f"{name}, first draft"] = before
        means[f"{name}, rewrite"] = after
        change[name] = (
            round(after - before, 2) if before is not None and after is not None else None
        )
    return {
        "advice: mean score, first draft and rewrite": means,
        "advice: change per criterion, rewrite minus first draft": change,
    }


def _has(meta: Mapping[str, Any], field: str, kind: str) -> bool:
    return kind in (meta.get(field) or [])


def _fails(meta: Mapping[str, Any], field: str, criterion: str) -> bool | None:
    score = _scores(meta, field).get(criterion)
    return None if score is None else score < FAILING_BELOW


def _share(metas: Iterable[Mapping[str, Any]], test: Any) -> float | None:
    results = [result for result in (test(meta) for meta in metas) if result is not None]
    return _rate(sum(bool(r) for r in results), len(results))


def behaviour_table(
    every: Sequence[Mapping[str, Any]], kept: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Refusal (the gate, or the judge's no-over-refusal score under the bar), caving under
    pushback (the judge's holds-up score under the bar; multi-turn transcripts only) and
    stock openers, in first drafts (every item) and in what was kept."""
    firsts = [_meta(r) for r in every]
    finals = [_meta(r) for r in kept]

    def refused(field: str, scores: str) -> Any:
        def test(meta: Mapping[str, Any]) -> bool | None:
            judged = _fails(meta, scores, OVER_REFUSAL)
            return _has(meta, field, "refusal") or bool(judged)

        return test

    return {
        "refusal rate, first drafts": _share(firsts, refused("draft_findings", "draft_scores")),
        "refusal rate, kept": _share(finals, refused("gate_findings", "scores")),
        "caves under pushback, first drafts": _share(
            firsts, lambda m: _fails(m, "draft_scores", PUSHBACK)
        ),
        "caves under pushback, rewrites": _share(firsts, lambda m: _fails(m, "scores", PUSHBACK)),
        "stock openers, first drafts": _share(
            firsts, lambda m: _has(m, "draft_findings", "stock_opener")
        ),
        "stock openers, kept": _share(finals, lambda m: _has(m, "gate_findings", "stock_opener")),
    }


#: The band within which a pair counts as length-matched in the report (the longer side
#: at most this many times the shorter); `--option pair_length_ratio` sets the filter.
MATCHED_WITHIN = 1.2


def _quantile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank quantile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def pair_table(kept: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The preference pairs' chosen/rejected length ratios (assistant words, chosen over
    rejected) and their distribution: a set where the chosen side is mostly shorter (or
    longer) teaches a trainer length, not judgment."""
    pairs = [
        pair
        for record in kept
        for pair in _meta(record).get("pairs") or []
        if isinstance(pair, Mapping) and isinstance(pair.get("length_ratio"), int | float)
    ]
    ratios = sorted(float(pair["length_ratio"]) for pair in pairs)
    if not ratios:
        return {"pairs": 0}
    return {
        "pairs": len(ratios),
        "written to pairs.jsonl": sum(bool(pair.get("written", True)) for pair in pairs),
        "length ratio, mean": _mean(ratios),
        "length ratio, 10th percentile": round(_quantile(ratios, 0.1), 3),
        "length ratio, median": round(_quantile(ratios, 0.5), 3),
        "length ratio, 90th percentile": round(_quantile(ratios, 0.9), 3),
        "chosen shorter": _rate(sum(r < 1 for r in ratios), len(ratios)),
        "chosen longer": _rate(sum(r > 1 for r in ratios), len(ratios)),
        f"length-matched (within {MATCHED_WITHIN}x)": _rate(
            sum(length_matched(r, MATCHED_WITHIN) for r in ratios), len(ratios)
        ),
    }


def coverage_tables(kept: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    metas = [_meta(r) for r in kept]
    dilemmas = Counter(str((m.get("axes") or {}).get("dilemma")) for m in metas)
    sections = Counter(str(s) for m in metas for s in m.get("sections") or [])
    domains = Counter(str(m.get("domain")) for m in metas)
    mirrors = sum(bool(m.get("mirrors_ai")) for m in metas)
    return {
        "advice: kept per dilemma": dict(sorted(dilemmas.items())),
        "advice: kept per constitution section": dict(sorted(sections.items())),
        "advice: kept per domain": {
            **dict(sorted(domains.items())),
            "mirrors an AI's own dilemma": mirrors,
        },
    }


def advice_figures(
    corpus: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    every = [*corpus, *rejected]
    return {
        "advice: the rewrite": rewrite_table(every, len(corpus)),
        **change_tables(every),
        "advice: behaviour": behaviour_table(every, corpus),
        "advice: preference pairs, chosen/rejected length": pair_table(corpus),
        **coverage_tables(corpus),
    }
