"""Spend from the run's usage ledger (one line per LLM call), per node, model and item.

The cost of an accepted document is all spend divided by documents emitted: rejected
items and revise rounds are part of what an accepted document costs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from storyloom.report.fields import as_float, as_int, as_str
from storyloom.report.model import Cost, TokenSpend
from storyloom.report.summaries import ratio, summarize

_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
UNKNOWN = "n/a"


@dataclass
class _Tally:
    calls: int = 0
    usd: float = 0.0
    #: Tokens per field of `_TOKEN_FIELDS`.
    by_field: Counter[str] = field(default_factory=Counter)

    def add(self, tokens: dict[str, int], usd: float) -> None:
        self.calls += 1
        self.by_field.update(tokens)
        self.usd += usd

    @property
    def tokens(self) -> int:
        return sum(self.by_field[name] for name in _TOKEN_FIELDS)

    def spend(self) -> TokenSpend:
        counts = {name: self.by_field[name] for name in _TOKEN_FIELDS}
        prompt = counts["input_tokens"] + counts["cache_write_tokens"] + counts["cache_read_tokens"]
        return TokenSpend(
            calls=self.calls,
            usd=round(self.usd, 6),
            cache_read_share=ratio(counts["cache_read_tokens"], prompt),
            **counts,
        )


class CostCollector:
    def __init__(self) -> None:
        self.total = _Tally()
        self.nodes: dict[str, _Tally] = defaultdict(_Tally)
        self.models: dict[str, _Tally] = defaultdict(_Tally)
        self.items: dict[str, _Tally] = defaultdict(_Tally)

    def add(self, entry: dict[str, Any]) -> None:
        tokens = {name: max(as_int(entry.get(name)) or 0, 0) for name in _TOKEN_FIELDS}
        usd = as_float(entry.get("usd")) or 0.0
        self.total.add(tokens, usd)
        self.nodes[as_str(entry.get("node")) or UNKNOWN].add(tokens, usd)
        self.models[as_str(entry.get("model")) or UNKNOWN].add(tokens, usd)
        self.items[as_str(entry.get("story_id")) or UNKNOWN].add(tokens, usd)

    def result(self, emitted_ids: set[str], rejected_ids: set[str], emitted: int) -> Cost:
        on_emitted = sum(t.usd for sid, t in self.items.items() if sid in emitted_ids)
        on_rejected = sum(t.usd for sid, t in self.items.items() if sid in rejected_ids)
        return Cost(
            total=self.total.spend(),
            per_node={name: t.spend() for name, t in sorted(self.nodes.items())},
            per_model={name: t.spend() for name, t in sorted(self.models.items())},
            items=len(self.items),
            per_item_usd=summarize([t.usd for t in self.items.values()]),
            per_item_tokens=summarize([t.tokens for t in self.items.values()]),
            usd_on_emitted=round(on_emitted, 6),
            usd_on_rejected=round(on_rejected, 6),
            usd_unattributed=round(self.total.usd - on_emitted - on_rejected, 6) + 0.0,
            usd_per_accepted_document=round(self.total.usd / emitted, 6) if emitted else None,
            tokens_per_accepted_document=(
                round(self.total.tokens / emitted, 6) if emitted else None
            ),
            usd_per_1k_output_tokens=ratio(
                self.total.usd, self.total.by_field["output_tokens"] / 1000
            ),
        )
