"""The story kind's own `storyloom stats` tables: what the faithful rewrite changed.

Every story is judged on its first draft, reviewed against the full text of its sections,
rewritten and judged again, blind beside the draft it would replace; the record keeps the
first draft's own judgment and the final one (`first_scores`, `scores`) and the scores of
both drafts from the rewrite's one side-by-side judgment (`draft_scores`,
`rewrite_scores`, `comparison`). The side-by-side figures are the fair ones: one judge
scored both drafts at once, so its noise does not pass for a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _scores(record: Mapping[str, Any], field: str) -> dict[str, int]:
    meta = record.get("metadata") or {}
    scores = meta.get(field) or {}
    return {str(k): int(v) for k, v in scores.items()} if isinstance(scores, Mapping) else {}


def rewrite_figures(
    corpus: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Mean first-draft and final score per criterion, over every judged story (emitted
    or rejected), and how often the rewrite was kept and the first draft passed."""
    records = [*corpus, *rejected]
    first: dict[str, list[float]] = {}
    final: dict[str, list[float]] = {}
    kept = rewritten = first_passed = judged = 0
    for record in records:
        before, after = _scores(record, "first_scores"), _scores(record, "scores")
        if not before:
            continue
        judged += 1
        meta = record.get("metadata") or {}
        first_passed += bool(meta.get("first_pass"))
        if int(meta.get("revisions") or 0) > 0:
            rewritten += 1
            kept += bool(meta.get("rewrite_kept"))
        for name, score in before.items():
            first.setdefault(name, []).append(score)
        for name, score in after.items():
            final.setdefault(name, []).append(score)
    if not judged:
        return {}
    paired = _side_by_side(records)
    per_criterion: dict[str, Any] = {}
    for name in sorted(set(first) | set(final)):
        a, b = _mean(first.get(name, [])), _mean(final.get(name, []))
        if a is not None and b is not None:
            per_criterion[name] = f"{a:.2f} -> {b:.2f} ({b - a:+.2f})"
    summary = {
        "stories judged": judged,
        "first draft passed": f"{first_passed / judged:.0%}",
        "rewritten": rewritten,
        "rewrite kept (better or equal)": f"{kept / rewritten:.0%}" if rewritten else "-",
    }
    return {
        "Rewrite: mean score, first draft -> final": per_criterion,
        **paired,
        "Rewrite: summary": summary,
    }


def _side_by_side(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean draft and rewrite score per criterion from the same judgment, and how often
    the rewrite won that blind comparison ({} when no record was judged side by side)."""
    draft: dict[str, list[float]] = {}
    rewrite: dict[str, list[float]] = {}
    compared = won = 0
    for record in records:
        before, after = _scores(record, "draft_scores"), _scores(record, "rewrite_scores")
        comparison = (record.get("metadata") or {}).get("comparison")
        if not before or not after or not isinstance(comparison, Mapping):
            continue
        compared += 1
        won += comparison.get("winner") == "rewrite"
        for name, score in before.items():
            draft.setdefault(name, []).append(score)
        for name, score in after.items():
            rewrite.setdefault(name, []).append(score)
    if not compared:
        return {}
    table: dict[str, Any] = {}
    for name in sorted(set(draft) & set(rewrite)):
        a, b = _mean(draft[name]), _mean(rewrite[name])
        assert a is not None and b is not None
        table[name] = f"{a:.2f} -> {b:.2f} ({b - a:+.2f})"
    return {
        "Rewrite: mean score, draft -> rewrite, judged side by side": table,
        "Rewrite: blind comparison": {
            "judged side by side": compared,
            "rewrite won": f"{won / compared:.0%}",
        },
    }
