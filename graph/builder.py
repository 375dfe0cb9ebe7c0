"""The story workflow, top to bottom: every node and edge is declared here.

seed -> plan -> vet_premise -> write -> gate -> judge -> dedupe -> emit
             ^      | too close                ^  | fail   | near-dup
             +------+              gate <- revise <-+       +-> reject
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from storyloom.backends.base import TransientBackendError
from storyloom.graph import nodes
from storyloom.graph.context import StoryContext
from storyloom.graph.state import StoryState

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

LLM_NODES = ("plan", "write", "judge", "revise")


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> CompiledStateGraph[StoryState, StoryContext, StoryState, StoryState]:
    builder = StateGraph(StoryState, context_schema=StoryContext)

    builder.add_node("seed", nodes.seed)
    builder.add_node("plan", nodes.plan, retry_policy=retry)
    builder.add_node("vet_premise", nodes.vet_premise)
    builder.add_node("write", nodes.write, retry_policy=retry)
    builder.add_node("gate", nodes.gate)
    builder.add_node("judge", nodes.judge, retry_policy=retry)
    builder.add_node("revise", nodes.revise, retry_policy=retry)
    builder.add_node("dedupe", nodes.dedupe)
    builder.add_node("emit", nodes.emit)
    builder.add_node("reject", nodes.reject)

    builder.add_edge(START, "seed")
    builder.add_edge("seed", "plan")
    builder.add_conditional_edges("plan", nodes.after_plan, ["vet_premise", "reject"])
    builder.add_conditional_edges("vet_premise", nodes.after_vet, ["write", "plan", "reject"])
    builder.add_conditional_edges("write", nodes.after_draft, ["gate", "reject"])
    builder.add_edge("gate", "judge")
    builder.add_conditional_edges("judge", nodes.after_judge, ["dedupe", "revise", "reject"])
    builder.add_conditional_edges("revise", nodes.after_draft, ["gate", "dedupe", "reject"])
    builder.add_conditional_edges("dedupe", nodes.after_dedupe, ["emit", "reject"])
    builder.add_edge("emit", END)
    builder.add_edge("reject", END)

    return builder.compile(checkpointer=checkpointer)


def mermaid() -> str:
    """The workflow as a Mermaid flowchart (`storyloom graph`)."""
    return build_graph().get_graph().draw_mermaid()
