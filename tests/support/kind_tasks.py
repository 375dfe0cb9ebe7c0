"""Kind tests' helpers: a registered kind as its own class, and one task of a kind
round-tripped through a real scripted backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.stories.kind import CorpusKind, ItemView
from storyloom.stories.registry import get_kind

K = TypeVar("K", bound=CorpusKind)


def registered_kind(name: str, kind_class: type[K]) -> K:
    """The kind registered as `name`, checked to be a `kind_class` (its tests use its
    own methods)."""
    kind = get_kind(name)
    assert isinstance(kind, kind_class)
    return kind


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
