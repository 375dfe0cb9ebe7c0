"""What a call costs, in USD, from a price table that is easy to update.

To update: edit `PRICES` (USD per million tokens) when Anthropic changes a price or
ships a model; `PRICES_CHECKED` says when the table was last compared with the
published pricing page. Keys are model names without a date suffix; dated ids
(`claude-sonnet-4-5-20250929`), `-latest` aliases and `[1m]` context tags are reduced
to these keys first.

Rules:
- A price set for a model with `set_price` (the openai backend's `--price-in/--price-out`)
  wins over everything below: the ledger and the budget both read it.
- Local models (`llamacpp`, `scripted`, any name not starting with `claude`) cost 0.0:
  nothing is billed per token.
- A Claude model missing from the table is priced at the most expensive row, with a
  warning, so a `--max-cost` budget errs on the side of stopping early, never late.
- Cache writes are priced at the 5-minute rate (what `cache_control: ephemeral` buys),
  except the `cache_write_1h_tokens` part (a 1-hour TTL, as batch mode uses): 2x input.
- Batch calls (`Usage.batch`, from `usage.service_tier == "batch"`) cost half.
- Haiku 5.5 is priced at its band for prompts up to 100k tokens; storyloom's prompts are
  far below that.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from storyloom.backends.base import Usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @property
    def cache_write_1h(self) -> float:
        """The 1-hour cache write: twice the input rate (the 5-minute one is 1.25x)."""
        return 2 * self.input

    def cost(self, usage: Usage) -> float:
        five_minute = usage.cache_write_tokens - usage.cache_write_1h_tokens
        full = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + five_minute * self.cache_write
            + usage.cache_write_1h_tokens * self.cache_write_1h
            + usage.cache_read_tokens * self.cache_read
        ) / 1_000_000
        return full * BATCH_DISCOUNT if usage.batch else full


PRICES_CHECKED = "2026-11"

#: Message Batches bill every token category at half the synchronous rate.
BATCH_DISCOUNT = 0.5

_FABLE_51 = ModelPrice(input=10.0, output=50.0, cache_write=12.50, cache_read=0.25)
_FABLE_5 = ModelPrice(input=10.0, output=50.0, cache_write=12.50, cache_read=1.00)
_OPUS_55 = ModelPrice(input=4.0, output=20.0, cache_write=5.00, cache_read=0.20)
_OPUS_45 = ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50)
_OPUS_4 = ModelPrice(input=15.0, output=75.0, cache_write=18.75, cache_read=1.50)
_SONNET_55 = ModelPrice(input=2.0, output=10.0, cache_write=2.50, cache_read=0.10)
_SONNET_5 = ModelPrice(input=2.0, output=10.0, cache_write=2.50, cache_read=0.20)
_SONNET_4 = ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)
_HAIKU_55 = ModelPrice(input=0.10, output=0.50, cache_write=0.125, cache_read=0.01)
_HAIKU_45 = ModelPrice(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10)
_HAIKU_35 = ModelPrice(input=0.80, output=4.0, cache_write=1.00, cache_read=0.08)
_HAIKU_3 = ModelPrice(input=0.25, output=1.25, cache_write=0.30, cache_read=0.03)

PRICES: dict[str, ModelPrice] = {
    "claude-fable-5-1": _FABLE_51,
    "claude-mythos-5-1": _FABLE_51,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": _OPUS_55,
    "claude-opus-5": _OPUS_45,
    "claude-opus-4-8": _OPUS_45,
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-3-opus": _OPUS_4,
    "claude-sonnet-5-5": _SONNET_55,
    "claude-sonnet-5": _SONNET_5,
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-3-7-sonnet": _SONNET_4,
    "claude-3-5-sonnet": _SONNET_4,
    "claude-haiku-5-5": _HAIKU_55,
    "claude-haiku-4-5": _HAIKU_45,
    "claude-3-5-haiku": _HAIKU_35,
    "claude-3-haiku": _HAIKU_3,
}

#: For Claude models the table does not know yet: the dearest row, so budgets stop early.
FALLBACK_PRICE = max(PRICES.values(), key=lambda p: (p.output, p.input))

#: Prices set for this process by name (`set_price`), e.g. an open model on a paid host.
_OVERRIDES: dict[str, ModelPrice] = {}


def set_price(model: str, *, input: float, output: float) -> ModelPrice:
    """Price `model` at `input`/`output` USD per million tokens from now on. Cached
    prompt tokens are priced as input (no discount is assumed) and nothing is written
    to a cache, so those rates are the input rate too."""
    if not (math.isfinite(input) and math.isfinite(output)) or input < 0 or output < 0:
        raise ValueError(f"prices must be finite and >= 0, got {input} and {output}")
    price = ModelPrice(input=input, output=output, cache_write=input, cache_read=input)
    _OVERRIDES[model] = price
    return price


_SUFFIXES = re.compile(r"(\[1m\]|-latest|-\d{8}|@\d{8}|-v\d+(:\d+)?)+$")
_warned: set[str] = set()


def normalize_model(model: str) -> str:
    """`anthropic.claude-sonnet-4-5-20250929-v1:0[1m]` -> `claude-sonnet-4-5`."""
    name = model.strip().lower().removeprefix("anthropic.")
    return _SUFFIXES.sub("", name)


def price_for(model: str) -> ModelPrice | None:
    """The price set for `model`, else the table's row, or None if neither knows it."""
    return _OVERRIDES.get(model) or PRICES.get(normalize_model(model))


def is_billed(model: str) -> bool:
    """Whether calls to `model` cost money per token (Claude models do, and any model
    given a price; local ones don't)."""
    return model in _OVERRIDES or normalize_model(model).startswith("claude")


def cost_usd(model: str, usage: Usage) -> float:
    """USD for `usage` on `model`: 0.0 for local models, the dearest row for unknown Claude."""
    if not is_billed(model):
        return 0.0
    price = price_for(model)
    if price is None:
        if model not in _warned:
            _warned.add(model)
            log.warning(
                "no price for %s in storyloom.backends.pricing: counting it at the highest "
                "known price; add it to PRICES",
                model,
            )
        price = FALLBACK_PRICE
    return price.cost(usage)


def estimate_tokens(text: str) -> int:
    """A rough token count (about 4 characters per token) for projections, not for bills."""
    return math.ceil(len(text) / 4)


def project_item_cost(
    model: str,
    *,
    calls: int,
    prompt_tokens_per_call: int,
    max_output_tokens_per_call: int,
    cached_prefix_tokens: int = 0,
    batch: bool = False,
) -> float:
    """An upper estimate of one item's cost before it runs, for a `--max-cost` budget.

    Assumes every call reads the shared prefix from the cache (the first call of a run
    writes it once; that is part of the spend already seen), pays the rest of its prompt
    as input and uses its whole output allowance. Once items have finished, their
    average real cost is the better projection; use this until then.
    """
    if calls < 0 or prompt_tokens_per_call < 0 or max_output_tokens_per_call < 0:
        raise ValueError("calls and token counts must be >= 0")
    if cached_prefix_tokens < 0:
        raise ValueError("cached_prefix_tokens must be >= 0")
    per_call = Usage(
        input_tokens=prompt_tokens_per_call,
        output_tokens=max_output_tokens_per_call,
        cache_read_tokens=cached_prefix_tokens,
        batch=batch,
    )
    return calls * cost_usd(model, per_call)


# --- prompt caching: each model family's minimum cacheable prefix ----------------------
#
# A prefix marked `cache_control` but shorter than the model's minimum is silently not
# cached: every call pays it in full. Keys as in `PRICES` (a family prefix matches every
# model under it); values in tokens, from Anthropic's prompt-caching documentation.

CACHE_MINIMUMS: dict[str, int] = {
    "claude-fable-5": 4096,
    "claude-mythos-5": 4096,
    "claude-opus-5": 4096,
    "claude-opus-4-8": 4096,
    "claude-opus-4-7": 4096,
    "claude-opus-4-6": 4096,
    "claude-opus-4-5": 4096,
    "claude-opus-4-1": 1024,
    "claude-opus-4-0": 1024,
    "claude-opus-4": 1024,
    "claude-3-opus": 1024,
    "claude-sonnet-5": 1024,
    "claude-sonnet-4": 1024,
    "claude-3-7-sonnet": 1024,
    "claude-3-5-sonnet": 1024,
    "claude-haiku-5": 4096,
    "claude-haiku-4-5": 4096,
    "claude-3-5-haiku": 2048,
    "claude-3-haiku": 2048,
}

#: For a Claude model the table does not know: the largest minimum, so a run is told its
#: prefix may not be cached rather than counting on hits it will not get.
FALLBACK_CACHE_MINIMUM = max(CACHE_MINIMUMS.values())


def cache_minimum(model: str) -> int:
    """The fewest prompt tokens `model` caches (0: a local model, nothing to cache).

    Matches the longest table key that the normalised model name starts with, so
    `claude-sonnet-5-5` and `claude-sonnet-4-6-20260101` find their family's row."""
    name = normalize_model(model)
    if not is_billed(name):
        return 0
    matches = [key for key in CACHE_MINIMUMS if name == key or name.startswith(key + "-")]
    if not matches:
        return FALLBACK_CACHE_MINIMUM
    return CACHE_MINIMUMS[max(matches, key=len)]


def prefix_below_cache_minimum(model: str, prefix: str) -> bool:
    """Whether a run's shared prefix is too short for `model` to cache: then no call of
    the run gets a cache hit, and a cost projection must not assume one."""
    minimum = cache_minimum(model)
    return minimum > 0 and estimate_tokens(prefix) < minimum


def caching_off_reason(model: str, prefix: str) -> str | None:
    """The one line a run prints at start when its prefix cannot be cached, else None."""
    if not prefix_below_cache_minimum(model, prefix):
        return None
    return (
        f"prompt caching is off for this run: the shared prompt prefix is about "
        f"{estimate_tokens(prefix):,} tokens, under {model}'s minimum of "
        f"{cache_minimum(model):,} cacheable tokens, so every call pays it in full "
        "(the cost projection assumes no cache hits)"
    )
