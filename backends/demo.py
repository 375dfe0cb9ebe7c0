"""`--backend scripted` from the CLI: a scripted backend whose responder is the fake
responder of the kind named in each request's metadata (placeholder plans, drafts and
passing critiques; no prompt text is read).

It exercises the whole pipeline (checkpoints, resume, dedupe, outputs) in seconds with
no model, which is what smoke runs and the kill-and-resume tests need. The text is
deterministic nonsense built from the request, never training data.
`STORYLOOM_SCRIPTED_DELAY` (seconds) slows every call, to widen the window a test can
kill the process in.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from functools import cache
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply, ScriptedBackend

_WORDS = tuple(
    (
        "lantern harbour quiet ledger morning signal river copper window promise archive "
        "static orchard careful patient station winter thread compass ember meadow glass "
        "letter anchor breath kettle rooftop current valley canvas shelter marble echo "
        "whistle garden bridge candle pocket mirror harvest timber velvet thunder pebble "
        "feather island cobalt saffron hollow summit engine needle basket pillow crimson"
    ).split()
)


def request_rng(request: CompletionRequest) -> random.Random:
    """Randomness seeded by the request, so a replayed call gets the same reply."""
    key = json.dumps([request.purpose, request.seed, [m.content for m in request.messages]])
    return random.Random(hashlib.sha256(key.encode()).digest())


def phrase(rng: random.Random, size: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(size))


def demo_reply(request: CompletionRequest) -> Reply:
    """The reply of the kind named in the request's metadata (no prompt text is read);
    an eval's calls get the scripted target and classifier of `storyloom.evals`."""
    if request.metadata.get("eval"):
        from storyloom.evals.scripted_target import scripted_reply

        return scripted_reply(request)
    kind_name = str(request.metadata.get("kind") or "story")
    return _kind(kind_name).fake_reply(request)


@cache
def _kind(name: str) -> Any:
    from storyloom.stories.registry import get_kind

    return get_kind(name)


def demo_backend(model: str = "scripted-demo") -> ScriptedBackend:
    delay = float(os.environ.get("STORYLOOM_SCRIPTED_DELAY", "0") or 0)
    return ScriptedBackend(responder=demo_reply, model=model, delay=delay)
