"""`--max-cost`: spend reserved before it is made, so the cap holds across workers.

Two pools of reservations are checked against the cap, each with the spend already
booked (every worker's, when workers share Redis):

- `items`: an item starts only if the spend plus what the items in flight are projected
  to cost, plus its own projection, fits. Its reservation is released when it ends.
- `calls`: a call is made only while the spend plus the calls in flight (each at its
  upper cost: its whole prompt at the input price and its whole output allowance) leave
  some of the cap; its reservation is released once its real cost is booked. So the
  cap holds within one call's cost even when item projections fall short, across all
  workers, without pausing an item for a call that would merely come close.

Reserving is one atomic step (a Lua script in Redis, see `graph.shared.SharedRun`), so
two workers can never both take the last of the budget.
"""

from __future__ import annotations

from typing import Literal, Protocol

from storyloom.backends.base import CompletionRequest
from storyloom.backends.pricing import estimate_tokens, project_item_cost

Pool = Literal["items", "calls"]


class Reservations(Protocol):
    """Where reservations are held: this process, or Redis for all workers of a run."""

    def try_reserve(self, pool: Pool, usd: float, cap: float, *, must_fit: bool = True) -> bool:
        """Reserve `usd` if the booked spend, the pool's reservations and `usd` fit
        within `cap` (without `must_fit`: if the spend and the reservations are below
        it, `usd` being the last that may pass it); False (nothing reserved) otherwise."""
        ...

    def release(self, pool: Pool, usd: float) -> None: ...

    def others_hold(self, pool: Pool) -> bool:
        """Whether another live worker holds reservations in `pool` (so waiting may
        leave room for this one)."""
        ...


class SpendTotal(Protocol):
    def run_total_usd(self) -> float: ...


class LocalReservations:
    """One worker's reservations, held in memory (the event loop is their only user)."""

    def __init__(self, spend: SpendTotal) -> None:
        self.spend = spend
        self.held: dict[Pool, float] = {"items": 0.0, "calls": 0.0}

    def try_reserve(self, pool: Pool, usd: float, cap: float, *, must_fit: bool = True) -> bool:
        taken = self.spend.run_total_usd() + self.held[pool]
        if taken + usd > cap if must_fit else taken >= cap:
            return False
        self.held[pool] += usd
        return True

    def release(self, pool: Pool, usd: float) -> None:
        self.held[pool] = max(0.0, self.held[pool] - usd)

    def others_hold(self, pool: Pool) -> bool:
        return False


def call_projection(model: str, request: CompletionRequest, *, batch: bool) -> float:
    """The most `request` can cost: its whole prompt uncached, its whole output allowance."""
    prompt = request.system + "".join(message.content for message in request.messages)
    return project_item_cost(
        model,
        calls=1,
        prompt_tokens_per_call=estimate_tokens(prompt),
        max_output_tokens_per_call=request.max_tokens,
        batch=batch,
    )
