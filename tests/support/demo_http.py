"""The scripted demo's replies served over the loopback Messages API, for process tests
of the anthropic backend."""

from __future__ import annotations

import json
from typing import Any

from messages_api_server import RecordedRequest

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.demo import demo_reply


def demo_over_http(record: RecordedRequest) -> Any:
    """The scripted demo's replies, chosen by what the request asks for."""
    body = record.body
    last = body["messages"][-1]["content"]
    text = last if isinstance(last, str) else json.dumps(last)
    schema = record.schema or {}
    properties = schema.get("properties", {})
    purpose = "judge" if "verdict" in properties else "plan" if "logline" in properties else "write"
    request = CompletionRequest(messages=(Message("user", text),), max_tokens=64, purpose=purpose)
    return demo_reply(request)
