"""One task of a kind, round-tripped through a real scripted backend, for kind tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.stories.kind import CorpusKind, ItemView


def ask_task(
    kind: CorpusKind,
    item: ItemView,
    task: str,
    *replies: Any,
    responder: Callable[[CompletionRequest], Reply] | None = None,
) -> Any:
    """Build the task's request for `item`, answer it with `replies` first, then with
    `responder` (default: the kind's fake responder, which sees only the metadata), and
    parse the reply under the task's schema and this item's requirements."""
    spec = kind.tasks[task]
    instructions, user = spec.build(item)
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=2000,
        instructions=instructions,
        output_schema=spec.schema_for(item),
        output_context=spec.context_for(item),
        purpose=task,
        metadata=kind.request_hints(item, task),
    )
    backend = ScriptedBackend(replies, responder=responder or kind.fake_reply)
    return spec.parse(asyncio.run(backend.complete(request)), item)
