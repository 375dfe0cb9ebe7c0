"""Replies a scripted backend can give: premises, stories that pass the gates, judgments
and reviews (built from the request they answer, which names what is in play).

Stories come from the demo backend's generator, so the tests exercise the same
placeholder text a `--backend scripted` smoke run produces.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.demo import phrase
from storyloom.backends.scripted import Reply, Responder, ScriptExhaustedError
from storyloom.stories.judging import judgment_reply, paired_reply
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


#: A judgment or review built from the request it answers (the criteria or sections in
#: play differ per item; the request's hints name them, as its validation context does).
LazyReply = Callable[[CompletionRequest], dict[str, Any]]


def judgment(names: list[str], score: int = 4, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    """A judge's reply scoring every criterion in `names` `score`."""
    return judgment_reply({name: score for name in names}, notes)


def critique(
    verdict: str = "pass", score: int = 4, notes: tuple[str, ...] = (), draft_score: int = 3
) -> LazyReply:
    """The judge's reply to whatever request it answers: every criterion in play (the
    request's `criteria` hint) scored `score`; "revise" fails them all (at most 2). A
    rewrite's judgment (the `compared` hint) also scores the draft beside it
    `draft_score`, and prefers the rewrite unless `verdict` is "lost"."""
    value = score if verdict in ("pass", "lost") else min(score, 2)

    def reply(request: CompletionRequest) -> dict[str, Any]:
        names = list(request.metadata.get("criteria") or [])
        if not request.metadata.get("compared"):
            return judgment(names, value, notes)
        better = "draft" if verdict == "lost" else "rewrite"
        label = request.metadata.get("rewrite_label", "A")
        drafts = {name: draft_score for name in names}
        blind = paired_reply({name: value for name in names}, drafts, label, better)
        return {**blind, "revision_notes": list(notes)}

    return reply


def review_reply(
    names: list[str], shortfall: str = "the monologue never weighs the cost"
) -> dict[str, Any]:
    """The reviewer's reply covering every section in `names`."""
    return {
        "sections": [
            {"section": name, "requires_here": "own the error", "shortfalls": shortfall}
            for name in names
        ],
        "monologue": "let her weigh it",
        "keep": "the ending",
    }


def review(shortfall: str = "the monologue never weighs the cost") -> LazyReply:
    """The reviewer's reply: every section in play (the request's `sections` hint)."""

    def reply(request: CompletionRequest) -> dict[str, Any]:
        return review_reply(list(request.metadata.get("sections") or []), shortfall)

    return reply


def failed_round(revision: int, *notes: str) -> tuple[LazyReply, LazyReply, str]:
    """One round a draft fails: the judge's failing critique (with `notes` for the
    writer), the review, and the revised draft, `story(revision)`."""
    return critique("revise", 2, notes), review(), story(revision)


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


_NAMED = re.compile(r"Give one entry per (criterion|section), named exactly: ((?:`[^`]+`(?:, )?)+)")


def named_in_prompt(text: str) -> list[str]:
    """The names a judge or review prompt asks one entry each of (its `names_line`), as
    a model reads them: the schema is the same for every item and names none."""
    found = _NAMED.search(text)
    return re.findall(r"`([^`]+)`", found.group(2)) if found else []


def purpose_and_hints(schema: dict[str, Any] | None, prompt: str) -> tuple[str, dict[str, Any]]:
    """What a request over HTTP asked for (the API never sees the request's metadata):
    the task, from its schema, and what the story kind's fake replies need, read from
    the prompt as a model reads it (the criteria or sections in play)."""
    properties = (schema or {}).get("properties", {})
    if "criteria" in properties:
        # Two stories shown: a rewrite's blind judgment (the label is not in the prompt).
        compared = "\nStory A:\n" in prompt and "\n\nStory B:\n" in prompt
        return "judge", {"criteria": named_in_prompt(prompt), "compared": compared}
    if "monologue" in properties:
        return "review", {"sections": named_in_prompt(prompt)}
    return ("plan" if "logline" in properties else "write"), {}
