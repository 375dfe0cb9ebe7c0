"""Background tasks that hold no caller's context.

A task copies the context it is created in. Created inside a LangGraph node, that context
holds the node's run config, which reaches the item's whole Pregel loop: a collector task
that lives for the run would keep that item's graph run (tens of KiB, its frames and
traceback) alive for the run. These tasks start from an empty context instead.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


def detached_task(coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
    """`asyncio.ensure_future(coro)` without the caller's context variables."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
