"""The documents kind's own tables for `storyloom stats`.

- claim x document type: how the corpus spreads over what it teaches and how (a heat map);
- words per section beside the section's share of the constitution: whether sections
  are taught in proportion to what they say;
- fidelity failures per section: which sections the writer misreads (a judged draft with
  an inconsistent claim, counted over every item, emitted or rejected);
- opening concentration per document type: the share of the commonest opening (first
  three words) among that type's documents, a sign of template writing;
- copy rate: items any of whose drafts copied a span of the constitution.

Everything is read from record metadata (`section`, `section_share`, `words`,
`fidelity_failures`, `copied_drafts`), so the tables rebuild from the run's files alone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.core.text import words

OPENING_WORDS = 3


def _meta(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("metadata") or {}


def _body_opening(text: str) -> str:
    """The first words of the first line that is not a heading."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return " ".join(w.lower() for w in words(line)[:OPENING_WORDS])
    return ""


def claim_by_type(corpus: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for record in corpus:
        meta = _meta(record)
        table[str(meta.get("claim"))][str(meta.get("document_type"))] += 1
    return {claim: dict(sorted(counts.items())) for claim, counts in sorted(table.items())}


def words_per_section(corpus: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    written: Counter[str] = Counter()
    share: dict[str, float] = {}
    for record in corpus:
        meta = _meta(record)
        section = str(meta.get("section"))
        written[section] += int(meta.get("words") or 0)
        share.setdefault(section, float(meta.get("section_share") or 0.0))
    total = sum(written.values()) or 1
    return {
        slug: {
            "words": written[slug],
            "share_of_corpus": round(written[slug] / total, 4),
            "share_of_constitution": share[slug],
        }
        for slug in sorted(written)
    }


def fidelity_failures(
    corpus: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    items: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for record in (*corpus, *rejected):
        meta = _meta(record)
        section = meta.get("section")
        if section is None:
            continue
        items[str(section)] += 1
        if int(meta.get("fidelity_failures") or 0) > 0:
            failed[str(section)] += 1
    return {slug: round(failed[slug] / items[slug], 4) for slug in sorted(items)}


def opening_concentration(corpus: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    openings: dict[str, Counter[str]] = defaultdict(Counter)
    for record in corpus:
        opening = _body_opening(str(record.get("text") or ""))
        openings[str(_meta(record).get("document_type"))][opening] += 1
    return {
        kind: round(counts.most_common(1)[0][1] / sum(counts.values()), 4)
        for kind, counts in sorted(openings.items())
    }


def _copied(record: Mapping[str, Any]) -> bool:
    if int(_meta(record).get("copied_drafts") or 0) > 0:
        return True
    findings = record.get("findings") or []
    return any(isinstance(f, Mapping) and f.get("kind") == "constitution_copy" for f in findings)


def copy_rate(
    corpus: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    total = len(corpus) + len(rejected)
    copied = sum(1 for record in (*corpus, *rejected) if _copied(record))
    return {
        "items": total,
        "items with a draft that copied the constitution": copied,
        "rate": round(copied / total, 4) if total else 0.0,
    }


def figures(
    corpus: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    return {
        "documents per claim and document type": claim_by_type(corpus),
        "words per section vs the section's share of the constitution": words_per_section(corpus),
        "fidelity-failure rate per section": fidelity_failures(corpus, rejected),
        "opening concentration per document type (share of the commonest opening)": (
            opening_concentration(corpus)
        ),
        "copy rate (constitution spans)": copy_rate(corpus, rejected),
    }
