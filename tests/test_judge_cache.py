"""The judge on the real anthropic SDK against the loopback Messages API, which keys the
cached prefix as the API does (tools, then the output format, then the system blocks up
to the breakpoint): a task whose schema changed per item would write the prefix again
on every call, while one schema per task for the run reads it; and the criteria in play,
checked after the reply, get the repair turn."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fast_retry import FAST_RETRY
from messages_api_server import MessagesAPIServer, RecordedRequest
from pydantic import BaseModel
from story_samples import (
    judgment,
    named_in_prompt,
    premise,
    purpose_and_hints,
    review_reply,
    story,
)

from storyloom.backends.anthropic import AnthropicBackend
from storyloom.backends.base import CompletionRequest, Message
from storyloom.graph.runner import RunOptions, run_items
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.judging import paired_reply
from storyloom.stories.kind import Draft, ItemView
from storyloom.stories.registry import get_kind

KEY = "sk-ant-test-cache-0000"
PREFIX = "## Constitution\nBe honest, be kind, explain your reasons. " * 20


class Titled(BaseModel):
    title: str


class Scored(BaseModel):
    title: str
    score: int


def _ask(server: MessagesAPIServer, *schemas: type[BaseModel] | None) -> None:
    async def go() -> None:
        backend = AnthropicBackend(api_key=KEY, base_url=server.base_url)
        try:
            for schema in schemas:
                request = CompletionRequest(
                    messages=(Message("user", "Judge it."),),
                    max_tokens=100,
                    shared_prefix=PREFIX,
                    instructions="You are the judge.",
                    output_schema=schema,
                    purpose="judge",
                )
                await backend.complete(request)
        finally:
            await backend.aclose()

    asyncio.run(go())


def test_the_output_format_is_part_of_the_cached_prefix() -> None:
    """As the API documents: changing `output_config.format` invalidates the cache."""
    with MessagesAPIServer(api_key=KEY) as server:
        server.queue({"title": "a"}, {"title": "b"}, {"title": "c", "score": 3}, "text")
        _ask(server, Titled, Titled, Scored, None)
        billed = [r.billed for r in server.requests]
    assert all(b is not None for b in billed)
    first, same, changed, unstructured = billed
    assert first.cache_write_tokens > 0 and first.cache_read_tokens == 0  # type: ignore[union-attr]
    assert same.cache_read_tokens == first.cache_write_tokens  # type: ignore[union-attr]
    assert same.cache_write_tokens == 0  # type: ignore[union-attr]
    assert changed.cache_write_tokens > 0 and changed.cache_read_tokens == 0  # type: ignore[union-attr]
    # the format is counted in the prefix: without one, the prefix is smaller (and new)
    assert 0 < unstructured.cache_write_tokens < first.cache_write_tokens  # type: ignore[union-attr]


def _task(record: RecordedRequest) -> str:
    """Which step a request is, from its schema (the server never sees the metadata)."""
    properties = (record.schema or {}).get("properties", {})
    if "logline" in properties:
        return "plan"
    if "criteria" in properties:
        return "judge"
    if "monologue" in properties:
        return "review"
    return "write or revise"


def _responder(record: RecordedRequest) -> Any:
    """Distinct premises and stories (nothing is a near-duplicate), passing judgments and
    reviews naming what the prompt lists as in play, as a model reads it."""
    last = record.body["messages"][-1]["content"]
    seed = zlib.crc32(json.dumps(record.body["messages"]).encode())
    task = _task(record)
    if task == "plan":
        return premise(f"Premise {seed}", seed=seed)
    if task == "judge":
        _, hints = purpose_and_hints(record.schema, last)
        if hints["compared"]:  # a rewrite beside its draft; the blind label is unknown here
            scores = {name: 4 for name in hints["criteria"]}
            return paired_reply(scores, scores, "A")
        return judgment(hints["criteria"])
    if task == "review":
        return review_reply(named_in_prompt(last))
    return story(seed)


@pytest.mark.parametrize("profile", ["rich", "compact"])
def test_every_judge_and_review_call_after_the_first_reads_the_cache(
    make_run: Any, profile: str
) -> None:
    """Eight stories, each with its own sections in play, reviewed and rewritten: after
    the first call of each task, no call writes the prefix again."""
    with MessagesAPIServer(api_key=KEY, responder=_responder) as server:
        backend = AnthropicBackend(api_key=KEY, base_url=server.base_url)
        run_dir, context = make_run(
            backend, rewrite="always", prompt_profile=profile, write_max_tokens=400
        )

        async def go() -> Any:
            try:
                return await run_items(
                    run_dir, context, RunOptions(count=8, concurrency=1, retry=FAST_RETRY)
                )
            finally:
                await backend.aclose()

        report = asyncio.run(go())
        calls = [r for r in server.requests if r.path == "/v1/messages" and r.billed]
    assert report.emitted == 8
    sections = set()
    for line in Path(run_dir.corpus_path).read_text().splitlines():
        sections.add(tuple(json.loads(line)["metadata"]["sections"]))
    assert len(sections) > 1, "the items must differ in what the judge is asked about"

    by_task: dict[str, list[Any]] = defaultdict(list)
    for record in calls:
        by_task[_task(record)].append(record.billed)
    assert len(by_task["judge"]) == len(by_task["review"]) * 2 == 16
    for task, billed in by_task.items():
        first, *rest = billed
        assert first.cache_write_tokens > 0, task
        assert all(b.cache_write_tokens == 0 for b in rest), task
        assert all(b.cache_read_tokens == first.cache_write_tokens for b in rest), task


def test_a_judgment_missing_a_criterion_in_play_is_repaired_with_the_reason() -> None:
    """The per-item check runs after the reply; its message goes back in the one repair
    turn, and the repaired judgment is what the run keeps."""
    kind = get_kind("story")
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings()
    item = ItemView("run/0", 0, kind.draw(inputs, 0, 0, settings), inputs, settings)
    item = replace(item, plan=premise(), draft=Draft(text=story(0)))
    task = kind.tasks["judge"]
    names = [criterion.name for criterion in kind.criteria(item)]
    instructions, user = task.build(item)
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=2000,
        shared_prefix=kind.shared_prefix(inputs, settings),
        instructions=instructions,
        output_schema=task.schema_for(item),
        output_context=task.context_for(item),
        purpose="judge",
    )
    with MessagesAPIServer(api_key=KEY) as server:
        server.queue(judgment(names[1:]), judgment(names))

        async def go() -> Any:
            backend = AnthropicBackend(api_key=KEY, base_url=server.base_url)
            try:
                return await backend.complete(request)
            finally:
                await backend.aclose()

        completion = asyncio.run(go())
        repair = server.requests[-1].body["messages"][-1]["content"]
    assert f"no entry for {names[0]}" in json.dumps(repair)
    critique = task.parse(completion, item)
    assert [entry["criterion"] for entry in critique["scores"]] == names
