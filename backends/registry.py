"""Backend names users type, and how each is built from CLI options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from storyloom.backends.base import Backend

BACKEND_NAMES = ("llamacpp", "anthropic", "scripted")


class UnknownBackendError(ValueError):
    pass


@dataclass(frozen=True)
class BackendOptions:
    """What a user may say about a backend; the secret (API key) is never part of it."""

    name: str
    model: str | None = None
    model_path: Path | None = None
    timeout: float = 120.0
    #: `--batch`: the Message Batches API, journaled in this file (anthropic only).
    batch_journal: Path | None = None


def default_backend_name() -> str:
    """Anthropic when a key is configured, else the embedded offline model."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "llamacpp"


def create_backend(options: BackendOptions) -> Backend:
    if options.name == "llamacpp":
        from storyloom.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(model_path=options.model_path)
    if options.name == "anthropic" and options.batch_journal is not None:
        from storyloom.backends.batch import BatchBackend

        return BatchBackend.from_environment_batch(
            journal_path=options.batch_journal, model=options.model, timeout=options.timeout
        )
    if options.name == "anthropic":
        from storyloom.backends.anthropic import AnthropicBackend
        from storyloom.backends.throttle import ThrottledBackend

        # The throttle backs off in-flight calls on 429/529 instead of burning retries.
        return ThrottledBackend(
            AnthropicBackend.from_environment(model=options.model, timeout=options.timeout)
        )
    if options.name == "scripted":
        from storyloom.backends.demo import demo_backend

        return demo_backend()
    raise UnknownBackendError(
        f"unknown backend {options.name!r}; choose one of {', '.join(BACKEND_NAMES)}"
    )
