"""Tokens per second of the bundled SmolLM2: in-process (`llamacpp` backend) against the
same model behind a real `llama_cpp.server` (`openai` backend), on the same prompt.

    .venv/bin/python bench/openai_throughput.py --calls 4 --max-tokens 256 --parallel 1 4

Each backend runs alone (the machine's cores are shared, so never both at once). Every
call asks for the same story with `max_tokens` output; tokens/s is output tokens (as the
backend's usage reports them) over wall-clock seconds, after one warm-up call. With
`--parallel N` the openai backend keeps N calls in flight: llama.cpp's server answers
one at a time, so this shows what concurrency buys against it (vLLM batches instead).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from llama_server import ALIAS, LlamaServer

from storyloom.backends.base import Backend, CompletionRequest, Message
from storyloom.backends.llamacpp import LlamaCppBackend
from storyloom.backends.openai import OpenAIBackend

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


async def over_http(base_url: str, calls: int, max_tokens: int, parallel: int) -> float:
    backend = OpenAIBackend(base_url=base_url, model=ALIAS, timeout=600)
    try:
        return await measure(backend, calls, max_tokens, parallel)
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()

    print(f"SmolLM2-135M Q4_1, {args.calls} calls of up to {args.max_tokens} output tokens")
    rate = asyncio.run(in_process(args.calls, args.max_tokens))
    print(f"  llamacpp (in-process)             {rate:6.1f} tokens/s")
    with LlamaServer() as server:
        for parallel in args.parallel:
            rate = asyncio.run(over_http(server.base_url, args.calls, args.max_tokens, parallel))
            print(f"  openai -> llama_cpp.server, {parallel:2d} in flight {rate:6.1f} tokens/s")


if __name__ == "__main__":
    main()
