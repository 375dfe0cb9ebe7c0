"""How far to trust a judge, shared by the kinds: one task asked exactly as a run asks
it, and the audit of a comparative judge (a blind A/B of first draft and rewrite).

A comparison judge can prefer a slot (whatever is shown as A) or a length (whatever is
longer) instead of the better answer; both would pass for "the rewrite wins". The audit
judges the same pairs in both orders and counts the wins by slot and by length: an
unbiased judge picks the same answer whichever slot it is in, and wins about half the
time in each slot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from storyloom.backends.base import Backend, BackendError, CompletionRequest, Message
from storyloom.core.text import words
from storyloom.stories.judging import Label
from storyloom.stories.kind import CorpusKind, Draft, ItemView

LABELS: tuple[Label, Label] = ("A", "B")
#: A slot or length preference this unlikely under a fair coin is reported as a bias.
BIAS_P_VALUE = 0.05


async def ask(
    backend: Backend,
    kind: CorpusKind,
    item: ItemView,
    task_name: str,
    settings: Any,
    *,
    sample: int = 0,
    model: str | None = None,
) -> Any:
    """One task for the item, its request made exactly as a run's step makes it; the
    parsed value (`ValueError` when the reply is unusable)."""
    task = kind.tasks[task_name]
    instructions, user = task.build(item)
    extra: dict[str, Any] = {}
    temperature = getattr(settings, task.temperature, None)
    if temperature is not None:
        extra["temperature"] = temperature
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=int(getattr(settings, task.max_tokens)),
        shared_prefix=kind.shared_prefix(item.inputs, settings),  # type: ignore[call-arg]
        instructions=instructions,
        output_schema=task.schema_for(item),
        output_context=task.context_for(item),
        purpose=task_name,
        seed=sample,
        model=model,
        metadata={"kind": kind.name, **kind.request_hints(item, task_name)},
        **extra,
    )
    return task.parse(await backend.complete(request), item)


async def judge(
    backend: Backend,
    kind: CorpusKind,
    item: ItemView,
    settings: Any,
    *,
    sample: int,
    model: str | None = None,
) -> dict[str, Any]:
    """One judgment of the item's draft, made exactly as a run's judge step makes it."""
    parsed: dict[str, Any] = await ask(
        backend, kind, item, "judge", settings, sample=sample, model=model
    )
    return parsed


# --- pairs to audit ----------------------------------------------------------------------


async def rewrite_pair(
    backend: Backend, kind: CorpusKind, item: ItemView, settings: Any
) -> ItemView:
    """The item through plan, write, review and revise, as a run with `--rewrite always`
    takes it: ready for the judge, the rewrite as its draft and the first draft before it."""
    item = replace(item, plan=await ask(backend, kind, item, "plan", settings))
    text = await ask(backend, kind, item, "write", settings)
    first = Draft(text=text, findings=tuple(kind.check(text, item)))
    review = await ask(backend, kind, replace(item, draft=first), "review", settings)
    first = replace(first, review=review)
    reviewed = replace(item, draft=first, drafts=(first,))
    rewrite = Draft(text=await ask(backend, kind, reviewed, "revise", settings), round=1)
    rewrite = replace(rewrite, findings=tuple(kind.check(rewrite.text, reviewed)))
    return replace(item, draft=rewrite, drafts=(first,), round=1)


async def make_pairs(
    backend: Backend,
    kind: CorpusKind,
    inputs: Any,
    settings: Any,
    count: int,
    *,
    seed: int = 0,
    concurrency: int = 4,
) -> tuple[list[ItemView], int]:
    """`count` draft-and-rewrite pairs from the kind's first draws, and how many could not
    be made (a step's reply was unusable: the audit goes on without that pair)."""
    slots = asyncio.Semaphore(concurrency)
    options = kind.options_model() if kind.options_model is not None else None

    async def one(index: int) -> ItemView | None:
        draw = kind.draw(inputs, seed, index, settings)
        item = ItemView(f"calibrate/{index}", index, draw, inputs, settings, options=options)
        async with slots:
            try:
                return await rewrite_pair(backend, kind, item, settings)
            except (ValueError, BackendError) as error:
                if getattr(error, "fatal", False):
                    raise
                return None

    made = await asyncio.gather(*(one(index) for index in range(count)))
    pairs = [item for item in made if item is not None]
    return pairs, count - len(pairs)


# --- the audit ---------------------------------------------------------------------------


def shown_as(item: ItemView, label: Label) -> ItemView:
    """The same pair with the rewrite shown under `label`."""
    return replace(item, draw={**item.draw, "rewrite_label": label})


@dataclass(frozen=True)
class Verdict:
    """One judgment of one pair in one order, as the audit counts it."""

    pair: str
    rewrite_label: Label
    winner: str  # "rewrite" or "draft"
    rewrite_words: int
    draft_words: int

    @property
    def winning_slot(self) -> Label:
        other: Label = "B" if self.rewrite_label == "A" else "A"
        return self.rewrite_label if self.winner == "rewrite" else other

    @property
    def longer_won(self) -> bool | None:
        """Whether the longer answer won (None: the two are the same length)."""
        if self.rewrite_words == self.draft_words:
            return None
        return (self.winner == "rewrite") == (self.rewrite_words > self.draft_words)


def verdict(item: ItemView, critique: Mapping[str, Any]) -> Verdict:
    assert item.draft is not None and item.drafts
    return Verdict(
        pair=item.item_id,
        rewrite_label=item.draw["rewrite_label"],
        winner=str(critique.get("winner")),
        rewrite_words=len(words(item.draft.text)),
        draft_words=len(words(item.drafts[0].text)),
    )


def two_sided_p(hits: int, total: int) -> float:
    """The exact two-sided binomial p-value of `hits` in `total` under a fair coin."""
    if total == 0:
        return 1.0
    tail = min(hits, total - hits)
    p = 2 * sum(math.comb(total, k) for k in range(tail + 1)) / 2**total
    return min(1.0, p)


@dataclass(frozen=True)
class ComparisonAudit:
    """The figures of a comparison judge over pairs judged in both orders."""

    verdicts: tuple[Verdict, ...]
    unmade: int = 0
    unjudged: int = 0

    def _rate(self, hits: int, total: int) -> float | None:
        return hits / total if total else None

    @property
    def pairs(self) -> int:
        return len({v.pair for v in self.verdicts})

    @property
    def slot_a_wins(self) -> int:
        return sum(v.winning_slot == "A" for v in self.verdicts)

    def rewrite_wins_as(self, label: Label) -> tuple[int, int]:
        shown = [v for v in self.verdicts if v.rewrite_label == label]
        return sum(v.winner == "rewrite" for v in shown), len(shown)

    @property
    def both_orders(self) -> list[tuple[Verdict, Verdict]]:
        by_pair: dict[str, dict[str, Verdict]] = {}
        for v in self.verdicts:
            by_pair.setdefault(v.pair, {})[v.rewrite_label] = v
        return [(o["A"], o["B"]) for o in by_pair.values() if set(o) == {"A", "B"}]

    @property
    def consistent(self) -> int:
        """Pairs whose winner (draft or rewrite) is the same in both orders."""
        return sum(a.winner == b.winner for a, b in self.both_orders)

    @property
    def by_length(self) -> tuple[int, int]:
        """(judgments the longer answer won, judgments of answers of unequal length)."""
        decided = [v.longer_won for v in self.verdicts if v.longer_won is not None]
        return sum(decided), len(decided)

    @property
    def position_biased(self) -> bool:
        return two_sided_p(self.slot_a_wins, len(self.verdicts)) < BIAS_P_VALUE

    @property
    def length_biased(self) -> bool:
        return two_sided_p(*self.by_length) < BIAS_P_VALUE

    def figures(self) -> dict[str, Any]:
        """The audit as plain data (what the report lines print)."""
        longer, unequal = self.by_length
        rewrite_a, shown_a = self.rewrite_wins_as("A")
        rewrite_b, shown_b = self.rewrite_wins_as("B")
        return {
            "pairs": self.pairs,
            "judgments": len(self.verdicts),
            "slot A win rate": self._rate(self.slot_a_wins, len(self.verdicts)),
            "rewrite win rate shown as A": self._rate(rewrite_a, shown_a),
            "rewrite win rate shown as B": self._rate(rewrite_b, shown_b),
            "same winner in both orders": self._rate(self.consistent, len(self.both_orders)),
            "longer answer win rate": self._rate(longer, unequal),
            "position bias": self.position_biased,
            "length bias": self.length_biased,
        }


async def audit_comparisons(
    backend: Backend,
    kind: CorpusKind,
    pairs: Sequence[ItemView],
    settings: Any,
    *,
    model: str | None = None,
    concurrency: int = 4,
    unmade: int = 0,
) -> ComparisonAudit:
    """Judge every pair twice, the rewrite shown as A and then as B, and count."""
    slots = asyncio.Semaphore(concurrency)

    async def one(item: ItemView, label: Label) -> Verdict | None:
        shown = shown_as(item, label)
        async with slots:
            try:
                critique = await judge(backend, kind, shown, settings, sample=0, model=model)
            except (ValueError, BackendError) as error:
                if getattr(error, "fatal", False):
                    raise
                return None
        return verdict(shown, critique)

    judged = await asyncio.gather(*(one(item, label) for item in pairs for label in LABELS))
    verdicts = tuple(v for v in judged if v is not None)
    return ComparisonAudit(verdicts, unmade=unmade, unjudged=len(judged) - len(verdicts))


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def audit_lines(audit: ComparisonAudit) -> list[str]:
    """The audit as the lines `storyloom calibrate` prints."""
    figures = audit.figures()
    longer, unequal = audit.by_length
    rewrite_a, shown_a = audit.rewrite_wins_as("A")
    rewrite_b, shown_b = audit.rewrite_wins_as("B")
    n = len(audit.verdicts)
    lines = [
        f"Pairs judged in both orders: {len(audit.both_orders)} "
        f"({n} judgments; {audit.unmade} pair(s) could not be made, "
        f"{audit.unjudged} judgment(s) unusable)",
        f"Position: the answer shown as A won {audit.slot_a_wins}/{n} "
        f"({_percent(figures['slot A win rate'])}; unbiased: about 50%); the rewrite won "
        f"{rewrite_a}/{shown_a} shown as A, {rewrite_b}/{shown_b} shown as B",
        f"Same winner in both orders: {audit.consistent}/{len(audit.both_orders)} pairs "
        f"({_percent(figures['same winner in both orders'])})",
        f"Length: the longer answer won {longer}/{unequal} "
        f"({_percent(figures['longer answer win rate'])}; unbiased: about 50%)",
    ]
    found = [
        name
        for name, biased in (("position", audit.position_biased), ("length", audit.length_biased))
        if biased
    ]
    lines.append(
        f"Bias found (p < {BIAS_P_VALUE}): {', '.join(found)}"
        if found
        else f"No position or length bias found (p < {BIAS_P_VALUE})"
    )
    return lines
