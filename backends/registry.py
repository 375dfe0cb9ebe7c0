"""Backend names users type, and how each is built from CLI options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from storyloom.backends.base import Backend, PermanentBackendError

BACKEND_NAMES = ("llamacpp", "anthropic", "openai", "scripted")


#: Per-request timeouts when none is given: a hosted API answers in seconds; a local
#: OpenAI-compatible server on a CPU can take minutes for one long reply, and a request
#: given up on keeps its server busy (llama.cpp's server finishes it anyway).
DEFAULT_TIMEOUT = {"anthropic": 120.0, "openai": 900.0}


class UnknownBackendError(ValueError):
    pass


@dataclass(frozen=True)
class BackendOptions:
    """What a user may say about a backend; the secret (API key) is never part of it."""

    name: str
    model: str | None = None
    model_path: Path | None = None
    #: Seconds per HTTP request; None: the backend's default (`DEFAULT_TIMEOUT`).
    timeout: float | None = None
    #: `--batch`: the Message Batches API, journaled in this file (anthropic only).
    batch_journal: Path | None = None
    #: The openai backend's server (else OPENAI_BASE_URL).
    base_url: str | None = None
    #: USD per million input / output tokens for `model` (openai; else it costs 0).
    price_in: float | None = None
    price_out: float | None = None


def default_backend_name() -> str:
    """Anthropic when a key is configured, else the embedded offline model."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "llamacpp"


def create_backend(options: BackendOptions) -> Backend:
    timeout = options.timeout or DEFAULT_TIMEOUT.get(options.name, 120.0)
    if options.name == "llamacpp":
        from storyloom.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(model_path=options.model_path)
    if options.name == "anthropic" and options.batch_journal is not None:
        from storyloom.backends.batch import BatchBackend

        return BatchBackend.from_environment_batch(
            journal_path=options.batch_journal, model=options.model, timeout=timeout
        )
    if options.name == "anthropic":
        from storyloom.backends.anthropic import AnthropicBackend
        from storyloom.backends.throttle import ThrottledBackend

        # The throttle backs off in-flight calls on 429/529 instead of burning retries.
        return ThrottledBackend(
            AnthropicBackend.from_environment(model=options.model, timeout=timeout)
        )
    if options.name == "openai":
        return _openai_backend(options, timeout)
    if options.name == "scripted":
        from storyloom.backends.demo import demo_backend

        return demo_backend()
    raise UnknownBackendError(
        f"unknown backend {options.name!r}; choose one of {', '.join(BACKEND_NAMES)}"
    )


def _openai_backend(options: BackendOptions, timeout: float) -> Backend:
    from storyloom.backends.openai import OpenAIBackend
    from storyloom.backends.pricing import set_price
    from storyloom.backends.throttle import LatencySignal, ThrottledBackend

    if options.price_in is not None or options.price_out is not None:
        if not options.model:
            raise PermanentBackendError(
                "a price (--price-in/--price-out) is for a named model: pass --model too",
                fatal=True,
            )
        set_price(options.model, input=options.price_in or 0.0, output=options.price_out or 0.0)
    backend = OpenAIBackend.from_environment(
        base_url=options.base_url, model=options.model, timeout=timeout
    )
    # A server such as vLLM queues calls instead of answering 429: latency is its signal.
    return ThrottledBackend(backend, latency_signal=LatencySignal())
