"""The augment kind's own tables for `storyloom stats`, read from record metadata alone
(so they work on a finished run, a run in progress, or a copied corpus file)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from statistics import mean, median
from typing import Any

from storyloom.stories.augment.gates import MAX_PROMPT_REUSE

Records = Sequence[Mapping[str, Any]]


def _meta(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("metadata") or {}


def is_flagged(record: Mapping[str, Any]) -> bool:
    """A rejected example whose context the consistency check found changes the ideal
    response, in every round it had."""
    verdict = _meta(record).get("consistency") or {}
    return bool(verdict.get("changes_ideal_response"))


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def augment_figures(corpus: Records, rejected: Records) -> dict[str, dict[str, Any]]:
    emitted = [_meta(r) for r in corpus]
    every = emitted + [_meta(r) for r in rejected]
    return {
        "Tools per example": _tools_per_example(emitted),
        "Tool domains covered": _domains(emitted),
        "System-prompt reuse": _reuse(emitted),
        "Flagged by the consistency check": _flagged(corpus, rejected),
        "Token inflation over the source": _inflation(emitted),
        "Refuse/comply ratio": _refusals(emitted, every),
    }


def _tools_per_example(emitted: list[Mapping[str, Any]]) -> dict[str, Any]:
    counts = [len(m.get("tools") or []) for m in emitted]
    table: dict[str, Any] = {
        "mean": round(mean(counts), 2) if counts else 0.0,
        "median": median(counts) if counts else 0,
    }
    spread = Counter(counts)
    table.update({f"{n} tools": spread[n] for n in sorted(spread)})
    return table


def _domains(emitted: list[Mapping[str, Any]]) -> dict[str, Any]:
    seen = Counter(d for m in emitted for d in set(m.get("tool_domains") or []))
    return {"domains covered": len(seen), **{d: seen[d] for d in sorted(seen)}}


def _reuse(emitted: list[Mapping[str, Any]]) -> dict[str, Any]:
    uses = Counter(m["system_prompt_sha256"] for m in emitted if m.get("system_prompt_sha256"))
    spread = Counter(uses.values())
    table: dict[str, Any] = {
        "distinct prompts": len(uses),
        "max uses of one prompt": max(uses.values(), default=0),
        f"prompts used more than {MAX_PROMPT_REUSE} times": sum(
            1 for n in uses.values() if n > MAX_PROMPT_REUSE
        ),
    }
    table.update({f"used {n}x": spread[n] for n in sorted(spread)})
    return table


def _flagged(corpus: Records, rejected: Records) -> dict[str, Any]:
    flagged = sum(1 for r in rejected if is_flagged(r))
    total = len(corpus) + len(rejected)
    redrawn = sum(1 for r in corpus if int(_meta(r).get("context_round") or 0) > 0)
    return {
        "examples": total,
        "emitted": len(corpus),
        "emitted after a redrawn context": redrawn,
        "flagged": flagged,
        "flagged rate": _rate(flagged, total),
        "rejected for other reasons": len(rejected) - flagged,
    }


def _inflation(emitted: list[Mapping[str, Any]]) -> dict[str, Any]:
    source = sum(int(m.get("source_words") or 0) for m in emitted)
    output = sum(int(m.get("words") or 0) for m in emitted)
    ratios = [int(m["words"]) / int(m["source_words"]) for m in emitted if m.get("source_words")]
    return {
        "source words": source,
        "output words (with system prompt)": output,
        "inflation (output / source)": round(output / source, 3) if source else 0.0,
        "median per example": round(median(ratios), 3) if ratios else 0.0,
    }


def _refusals(emitted: list[Mapping[str, Any]], every: list[Mapping[str, Any]]) -> dict[str, Any]:
    def refused(records: list[Mapping[str, Any]]) -> int:
        return sum(1 for m in records if (m.get("source") or {}).get("refuses"))

    source_refusals, kept_refusals = refused(every), refused(emitted)
    return {
        "source refusals": source_refusals,
        "source refuse share": _rate(source_refusals, len(every)),
        "emitted refusals": kept_refusals,
        "emitted refuse share": _rate(kept_refusals, len(emitted)),
        "shift (emitted - source)": round(
            _rate(kept_refusals, len(emitted)) - _rate(source_refusals, len(every)), 4
        ),
    }
