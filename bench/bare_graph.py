"""The floor for `bench/anthropic_throughput.py --level workflow`: a bare LangGraph graph of
the workflow's shape (7 nodes: seed, plan, write, gate, judge, dedupe, emit; an
`AsyncSqliteSaver`; `durability="sync"`), making the same three calls (plan: structured,
write: text, judge: structured) through the same backend stack and doing nothing else.
What storyloom's workflow costs beyond it is storyloom's own."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from storyloom.backends.base import Backend, CompletionRequest, Message, Usage
from storyloom.stories.story.models import Premise


class BareState(TypedDict, total=False):
    index: int
    premise: str
    draft: str
    verdict: str


def build_bare_graph(backend: Backend, prefix: str, usage: list[Usage]) -> StateGraph[Any]:
    async def ask(state: BareState, purpose: str, schema: Any, max_tokens: int) -> str:
        request = CompletionRequest(
            messages=(Message("user", f"Item {state['index']}: {purpose}."),),
            max_tokens=max_tokens,
            shared_prefix=prefix,
            instructions=f"You are the {purpose} step.",
            output_schema=schema,
            purpose=purpose,
        )
        done = await backend.complete(request)
        usage[0] += done.usage
        return done.text

    async def plan(state: BareState) -> BareState:
        return {"premise": await ask(state, "plan", Premise, 700)}

    async def write(state: BareState) -> BareState:
        return {"draft": await ask(state, "write", None, 2600)}

    async def judge(state: BareState) -> BareState:
        # A structured reply the loopback demo answers without a rubric (the workflow's
        # judge schema is the kind's own): the cost of a structured call is the point.
        return {"verdict": await ask(state, "judge", Premise, 900)}

    graph = StateGraph(BareState)
    graph.add_node("seed", lambda state: {"index": state["index"]})
    graph.add_node("plan", plan)
    graph.add_node("write", write)
    graph.add_node("gate", lambda state: {})
    graph.add_node("judge", judge)
    graph.add_node("dedupe", lambda state: {})
    graph.add_node("emit", lambda state: {})
    order = ["seed", "plan", "write", "gate", "judge", "dedupe", "emit"]
    graph.add_edge(START, order[0])
    for a, b in itertools.pairwise(order):
        graph.add_edge(a, b)
    graph.add_edge(order[-1], END)
    return graph


async def bench_bare(backend: Backend, prefix: str, stories: int, concurrency: int) -> Usage:
    """Run `stories` threads, `concurrency` at once; the tokens their calls used."""
    usage = [Usage()]
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncSqliteSaver.from_conn_string(str(Path(tmp) / "bare.sqlite")) as saver:
            graph = build_bare_graph(backend, prefix, usage).compile(checkpointer=saver)
            queue = list(range(stories))

            async def worker() -> None:
                while queue:
                    index = queue.pop()
                    config: Any = {"configurable": {"thread_id": f"bare/{index}"}}
                    await graph.ainvoke({"index": index}, config, durability="sync")

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return usage[0]
