"""The story kind's own `storyloom stats` tables: what the faithful rewrite changed.

Every story is judged on its first draft, reviewed against the full text of its sections,
rewritten and judged again; the record keeps both judgments (`first_scores`, `scores`).
Set side by side they show whether the rewrite earns its cost, per criterion.
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
        "Rewrite: summary": summary,
    }
