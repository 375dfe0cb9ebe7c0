"""Tokens per second of the bundled SmolLM2: in-process (`llamacpp` backend) against the
same model behind a real `llama_cpp.server` (`openai` backend), on the same prompt; or,
with `--server loopback`, the openai backend's own CPU per call over each HTTP stack.

    .venv/bin/python bench/openai_throughput.py --calls 4 --max-tokens 256 --parallel 1 4
    .venv/bin/python bench/openai_throughput.py --server loopback --http-client both

Each backend runs alone (the machine's cores are shared, so never both at once). Every
call asks for the same story with `max_tokens` output; tokens/s is output tokens (as the
backend's usage reports them) over wall-clock seconds, after one warm-up call. With
`--parallel N` the openai backend keeps N calls in flight: llama.cpp's server answers
one at a time, so this shows what concurrency buys against it (vLLM batches instead).
`--http-client` picks the SDK's HTTP stack (both: httpx, then aiohttp).

`--server loopback`: the chat-completions stub (tests/support/chat_api_server.py) in a
child process answers at once, so this process's CPU time is the tool's own (SDK, HTTP
stack, backend): `--calls` calls, text and structured in turn, `--parallel` in flight,
`--rounds` times per stack with the stacks taking turns in the same window; printed: the
median CPU per call of each stack and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from chat_api_server import ChatAPIServer
from llama_server import ALIAS, LlamaServer
from pydantic import BaseModel

from storyloom.backends.base import Backend, CompletionRequest, Message
from storyloom.backends.llamacpp import LlamaCppBackend
from storyloom.backends.openai import OpenAIBackend
from storyloom.backends.remote import HttpClient

PROMPT = (
    "Write a short story (about 300 words) about a lighthouse keeper who must decide "
    "whether to tell a grieving visitor an uncomfortable truth. Show her thoughts in "
    "*italics*."
)


def story_request(max_tokens: int) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("user", PROMPT),),
        max_tokens=max_tokens,
        instructions="You are a careful fiction writer.",
        temperature=0.8,
        seed=7,
        purpose="write",
    )


async def measure(backend: Backend, calls: int, max_tokens: int, parallel: int) -> float:
    """Output tokens per wall-clock second over `calls` calls, `parallel` at a time."""
    request = story_request(max_tokens)
    await backend.complete(request)  # warm-up: model load, first prompt
    slots = asyncio.Semaphore(parallel)

    async def one() -> int:
        async with slots:
            return (await backend.complete(request)).usage.output_tokens

    started = time.perf_counter()
    tokens = sum(await asyncio.gather(*(one() for _ in range(calls))))
    return tokens / (time.perf_counter() - started)


async def in_process(calls: int, max_tokens: int) -> float:
    backend = LlamaCppBackend()
    try:
        return await measure(backend, calls, max_tokens, 1)
    finally:
        await backend.aclose()


async def over_http(
    base_url: str, calls: int, max_tokens: int, parallel: int, http_client: HttpClient
) -> float:
    backend = OpenAIBackend(base_url=base_url, model=ALIAS, timeout=600, http_client=http_client)
    try:
        return await measure(backend, calls, max_tokens, parallel)
    finally:
        await backend.aclose()


# ----- the backend's own CPU per call, against the loopback stub -----


class Verdict(BaseModel):
    title: str
    score: int
    notes: list[str]


def _serve(conn: Connection) -> None:
    """The stub in a child process, so its CPU time is not this process's."""
    with ChatAPIServer() as server:
        conn.send(server.base_url)
        conn.recv()  # wait for "stop"


async def cpu_per_call(base_url: str, calls: int, parallel: int, http_client: HttpClient) -> float:
    """Seconds of this process's CPU per call, over `calls` calls `parallel` at a time,
    after a warm-up call (lazy imports, the first connection)."""
    backend = OpenAIBackend(
        base_url=base_url,
        model="stub-model",
        timeout=30,
        structured_output="json_schema",
        http_client=http_client,
    )
    requests = [story_request(256), replace_schema(story_request(256), Verdict)]
    slots = asyncio.Semaphore(parallel)

    async def one(index: int) -> None:
        async with slots:
            await backend.complete(requests[index % 2])

    try:
        await one(0)
        started = time.process_time()
        await asyncio.gather(*(one(index) for index in range(calls)))
        return (time.process_time() - started) / calls
    finally:
        await backend.aclose()


def replace_schema(request: CompletionRequest, schema: type[BaseModel]) -> CompletionRequest:
    return CompletionRequest(
        messages=request.messages,
        max_tokens=request.max_tokens,
        instructions=request.instructions,
        purpose="judge",
        output_schema=schema,
    )


def bench_loopback(calls: int, parallel: int, rounds: int, stacks: list[HttpClient]) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child,), daemon=True)
    process.start()
    base_url: str = parent.recv()
    spent: dict[HttpClient, list[float]] = {stack: [] for stack in stacks}
    try:
        for _ in range(rounds):  # the stacks take turns, so both see the same load
            for stack in stacks:
                spent[stack].append(asyncio.run(cpu_per_call(base_url, calls, parallel, stack)))
    finally:
        parent.send("stop")
        process.join(timeout=10)
    print(f"openai backend -> loopback stub: {calls} calls x {rounds} rounds, {parallel} in flight")
    for stack, seconds in spent.items():
        runs = " ".join(f"{s * 1000:.2f}" for s in seconds)
        print(f"  {stack:7s} cpu/call median {statistics.median(seconds) * 1000:.2f}ms ({runs})")
    if len(stacks) == 2:
        ratio = statistics.median(spent["aiohttp"]) / statistics.median(spent["httpx"])
        print(f"  aiohttp/httpx cpu per call {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--server", choices=["llama", "loopback"], default="llama")
    parser.add_argument("--calls", type=int, default=None, help="[4; loopback: 2000]")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--parallel", type=int, nargs="+", default=None, help="[1 4; loopback: 32]")
    parser.add_argument("--rounds", type=int, default=3, help="runs per stack (loopback)")
    parser.add_argument(
        "--http-client",
        choices=["aiohttp", "httpx", "both"],
        default="aiohttp",
        help="the SDK's HTTP stack; both: httpx, then aiohttp",
    )
    args = parser.parse_args()
    stacks: list[HttpClient] = (
        ["httpx", "aiohttp"] if args.http_client == "both" else [args.http_client]
    )

    if args.server == "loopback":
        parallel = args.parallel[0] if args.parallel else 32
        bench_loopback(args.calls or 2000, parallel, args.rounds, stacks)
        return
    calls = args.calls or 4
    print(f"SmolLM2-135M Q4_1, {calls} calls of up to {args.max_tokens} output tokens")
    rate = asyncio.run(in_process(calls, args.max_tokens))
    print(f"  llamacpp (in-process)             {rate:6.1f} tokens/s")
    with LlamaServer() as server:
        for stack in stacks:
            for parallel in args.parallel or [1, 4]:
                rate = asyncio.run(
                    over_http(server.base_url, calls, args.max_tokens, parallel, stack)
                )
                print(
                    f"  openai -> llama_cpp.server ({stack}), {parallel:2d} in flight "
                    f"{rate:6.1f} tokens/s"
                )


if __name__ == "__main__":
    main()
