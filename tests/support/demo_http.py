"""The scripted demo's replies served over the loopback Messages API, for process tests
of the anthropic backend. The server stands in for a model, so it reads what a model
reads: the reply's schema (which names the task) and the prompt (which names, for the
judge and the reviewer, every criterion or section in play)."""

from __future__ import annotations

import json
from typing import Any

from messages_api_server import RecordedRequest
from story_samples import purpose_and_hints

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.demo import demo_reply


def demo_over_http(record: RecordedRequest) -> Any:
    """The scripted demo's replies, chosen by what the request asks for."""
    body = record.body
    last = body["messages"][-1]["content"]
    text = last if isinstance(last, str) else json.dumps(last)
    purpose, hints = purpose_and_hints(record.schema, record.system_text + "\n" + text)
    request = CompletionRequest(
        messages=(Message("user", text),), max_tokens=64, purpose=purpose, metadata=hints
    )
    return demo_reply(request)
