"""Replies a scripted backend can give: premises, stories that pass the gates, judgments
and reviews (built from the request they answer, since their schema names what is in play).

Stories come from the demo backend's generator, so the tests exercise the same
placeholder text a `--backend scripted` smoke run produces.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.demo import phrase
from storyloom.backends.scripted import Reply, Responder, ScriptExhaustedError
from storyloom.stories.story.fake import placeholder_story


def premise(title: str = "The Night Ledger", seed: int = 0) -> dict[str, Any]:
    """A premise of typical size (prompt-budget tests rely on it staying that size)."""
    rng = random.Random(seed)

    def line(size: int) -> str:
        return phrase(rng, size).capitalize() + "."

    return {
        "title": title,
        "logline": line(12),
        "situation": line(14),
        "conflict": line(12),
        "values_and_why": line(12),
        "emotional_arc": line(8),
        "beats": [line(6) for _ in range(4)],
    }


def story(seed: int = 0, *, name: str = "Wren", words: int = 420) -> str:
    """A story that passes the deterministic gates: in the short band, named, with
    interior thought in italics, no repetition, a clean ending."""
    return placeholder_story(random.Random(seed), name=name, words=words)


#: A judgment or review whose criteria come from the request it answers (the story kind's
#: schema names every criterion in play for that item, so no fixed reply could fit).
LazyReply = Callable[[CompletionRequest], dict[str, Any]]


def judgment(keys: list[str], score: int = 4, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "criteria": {
            key: {"evidence": "a quote", "reasoning": "because", "score": score} for key in keys
        },
        "revision_notes": list(notes),
    }


def critique(verdict: str = "pass", score: int = 4, notes: tuple[str, ...] = ()) -> LazyReply:
    """The judge's reply to whatever request it answers: every criterion in play (the
    request's `criteria` hint) scored `score`; "revise" fails them all (at most 2)."""
    value = score if verdict == "pass" else min(score, 2)

    def reply(request: CompletionRequest) -> dict[str, Any]:
        return judgment(list(request.metadata.get("criteria") or []), value, notes)

    return reply


def review(shortfall: str = "the monologue never weighs the cost") -> LazyReply:
    """The reviewer's reply: every section in play (the request's `sections` hint)."""

    def reply(request: CompletionRequest) -> dict[str, Any]:
        return {
            "sections": {
                key: {"requires_here": "own the error", "shortfalls": shortfall}
                for key in request.metadata.get("sections") or []
            },
            "monologue": "let her weigh it",
            "keep": "the ending",
        }

    return reply


def in_order(*replies: Reply | LazyReply) -> Responder:
    """A responder giving `replies` in order (a lazy one is called with the request), and
    refusing a call past the end, as a queued `ScriptedBackend` does."""
    queue = deque(replies)

    def respond(request: CompletionRequest) -> Reply:
        if not queue:
            raise ScriptExhaustedError(f"no scripted reply left for {request.purpose or 'a call'}")
        reply = queue.popleft()
        return reply(request) if callable(reply) else reply

    return respond


def schema_keys(schema: dict[str, Any], field: str) -> list[str]:
    """The required entry names of a per-item schema's `field` (a judge's `criteria`), as
    the Messages API receives it (with `$defs`, or inlined)."""
    node = schema["properties"][field]
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return list(node.get("required") or node.get("properties") or [])


def purpose_and_hints(schema: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """What a request over HTTP asked for, read from its schema alone (the API never
    sees the request's metadata): the task, and the hints the story kind's fake replies
    need (the criteria or sections its per-item schema names)."""
    properties = (schema or {}).get("properties", {})
    if "criteria" in properties:
        return "judge", {"criteria": schema_keys(schema or {}, "criteria")}
    if "monologue" in properties:
        return "review", {"sections": schema_keys(schema or {}, "sections")}
    return ("plan" if "logline" in properties else "write"), {}
