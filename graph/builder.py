"""The workflow, top to bottom: every node and edge is declared here, for any kind.

seed -> plan -> vet_plan -> write -> gate -> judge -> dedupe -> emit
          ^        | too close           ^    |  \\ fail    | near-dup
          +--------+                   gate   |   review -> revise
                                              +--> reject <-+

A kind without a plan task starts at write; without a judge its gates decide; without a
review task a failing draft goes straight to revise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args, get_type_hints

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from storyloom.backends.base import TransientBackendError
from storyloom.graph import nodes, routing
from storyloom.graph.context import RunContext
from storyloom.graph.state import ItemInput, ItemState
from storyloom.stories.kind import CorpusKind

#: Retries only what can succeed on a second try; the default `retry_on` would also
#: retry a 400 or a bug.
DEFAULT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=60.0,
    max_attempts=6,
    jitter=True,
    retry_on=TransientBackendError,
)

Graph = CompiledStateGraph[ItemState, RunContext, ItemInput, ItemState]


def build_graph(
    kind: CorpusKind,
    checkpointer: BaseCheckpointSaver[str] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Graph:
    tasks = kind.tasks
    builder = StateGraph(ItemState, context_schema=RunContext, input_schema=ItemInput)

    builder.add_node("seed", nodes.seed)
    if "plan" in tasks:
        builder.add_node("plan", nodes.plan, retry_policy=retry)
        builder.add_node("vet_plan", nodes.vet_plan)
    builder.add_node("write", nodes.write, retry_policy=retry)
    builder.add_node("gate", nodes.gate)
    if "judge" in tasks:
        builder.add_node("judge", nodes.judge, retry_policy=retry)
    if "review" in tasks:
        builder.add_node("review", nodes.review, retry_policy=retry)
    if "revise" in tasks:
        builder.add_node("revise", nodes.revise, retry_policy=retry)
    builder.add_node("dedupe", nodes.dedupe)
    builder.add_node("emit", nodes.emit)
    builder.add_node("reject", nodes.reject)

    builder.add_edge(START, "seed")
    if "plan" in tasks:
        builder.add_edge("seed", "plan")
        _route(builder, "plan", routing.after_plan)
        _route(builder, "vet_plan", routing.after_vet)
    else:
        builder.add_edge("seed", "write")
    _route(builder, "write", routing.after_draft)
    _route(builder, "gate", routing.after_gate)
    if "judge" in tasks:
        _route(builder, "judge", routing.decide)
    if "review" in tasks:
        _route(builder, "review", routing.after_review)
    if "revise" in tasks:
        _route(builder, "revise", routing.after_draft)
    _route(builder, "dedupe", routing.after_dedupe)
    builder.add_edge("emit", END)
    builder.add_edge("reject", END)

    return builder.compile(checkpointer=checkpointer)


def _route(builder: StateGraph[Any, Any, Any, Any], source: str, route: Callable[..., str]) -> None:
    """A conditional edge to the route's `Literal` destinations that this kind has (a
    route names every destination any kind may have)."""
    destinations = get_args(get_type_hints(route)["return"])
    builder.add_conditional_edges(
        source, route, [name for name in destinations if name in builder.nodes]
    )


def mermaid(kind: CorpusKind) -> str:
    """The workflow as a Mermaid flowchart (`storyloom graph`)."""
    return build_graph(kind).get_graph().draw_mermaid()
