"""Where an item goes after each node. Routes read the state and the run's settings from
the runtime context (nothing is copied into state just to route), and name their
destinations as `Literal`s so the graph's shape is checked and drawn from them."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime

from storyloom.graph.context import RunContext
from storyloom.graph.nodes import judges
from storyloom.graph.state import ItemState


def after_plan(state: ItemState) -> Literal["vet_plan", "reject"]:
    return "reject" if state["reject_reason"] else "vet_plan"


def after_vet(state: ItemState) -> Literal["write", "plan", "reject"]:
    if state["reject_reason"]:
        return "reject"
    return "write" if state["plan"] else "plan"


def after_draft(state: ItemState) -> Literal["gate", "dedupe", "reject"]:
    """After write or revise: a failed round keeps the passing best draft."""
    if state["reject_reason"]:
        return "reject"
    return "dedupe" if state["round_failed"] else "gate"


def after_review(state: ItemState) -> Literal["revise", "dedupe", "reject"]:
    if state["reject_reason"]:
        return "reject"
    return "dedupe" if state["round_failed"] else "revise"


def after_gate(
    state: ItemState, runtime: Runtime[RunContext]
) -> Literal["judge", "review", "revise", "dedupe", "reject"]:
    if judges(runtime.context, state):
        return "judge"
    return decide(state, runtime)


def decide(
    state: ItemState, runtime: Runtime[RunContext]
) -> Literal["review", "revise", "dedupe", "reject"]:
    """After a draft is settled: done, another round, or rejected."""
    ctx = runtime.context
    if state["reject_reason"]:
        return "reject"
    if state["round_failed"]:
        return "dedupe"
    passed = bool(state["drafts"]) and state["drafts"][state["best"]]["passed"]
    wants_rewrite = ctx.settings.rewrite == "always" and state["round"] == 0
    if passed and not wants_rewrite:
        return "dedupe"
    if state["round"] < ctx.settings.max_revisions and "revise" in ctx.kind.tasks:
        return "review" if "review" in ctx.kind.tasks else "revise"
    return "dedupe" if passed else "reject"


def after_dedupe(state: ItemState) -> Literal["emit", "reject"]:
    return "reject" if state["duplicate_of"] else "emit"
