"""The backends users can name: one table of name -> options model and factory.

A factory imports its SDK when called, so listing the backends (`--help`) loads none.
Options are checked (`backend_spec`) before anything is opened; the error names the
option as the user wrote it (a flag such as `--model`, or the option's key).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storyloom.backends.base import Backend
from storyloom.backends.options import (
    AnthropicOptions,
    BackendOptions,
    LlamaCppOptions,
    OpenAIOptions,
    ScriptedOptions,
)


class UnknownBackendError(ValueError):
    pass


class BackendOptionError(ValueError):
    """An option the backend does not take, or a value it cannot use (one line)."""


@dataclass(frozen=True)
class BackendEntry:
    name: str
    #: What a user may say about it, and what that implies for a run (its methods).
    options: type[BackendOptions]
    #: Builds the backend from its checked options; the run directory is where it may
    #: keep state of its own (the batch journal), None outside a run.
    build: Callable[[Any, Path | None], Backend]


@dataclass(frozen=True)
class BackendSpec:
    """A backend as asked for: its name and its checked options (never a secret)."""

    name: str
    options: BackendOptions


def _llamacpp(options: LlamaCppOptions, run_dir: Path | None) -> Backend:
    from storyloom.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend(
        model_path=options.model_path, context_size=options.context_size, threads=options.threads
    )


def _anthropic(options: AnthropicOptions, run_dir: Path | None) -> Backend:
    if options.batch:
        if run_dir is None:
            raise BackendOptionError("option 'batch' needs a run directory for its journal")
        from storyloom.backends.batch import BatchBackend
        from storyloom.backends.batch_journal import batch_journal_path

        return BatchBackend.from_environment_batch(
            journal_path=batch_journal_path(run_dir), model=options.model, timeout=options.timeout
        )
    from storyloom.backends.anthropic import AnthropicBackend
    from storyloom.backends.throttle import ThrottledBackend

    # The throttle backs off in-flight calls on 429/529 instead of burning retries.
    return ThrottledBackend(
        AnthropicBackend.from_environment(model=options.model, timeout=options.timeout)
    )


def _openai(options: OpenAIOptions, run_dir: Path | None) -> Backend:
    from storyloom.backends.openai import OpenAIBackend
    from storyloom.backends.pricing import set_price
    from storyloom.backends.throttle import LatencySignal, ThrottledBackend

    if options.model and (options.price_in is not None or options.price_out is not None):
        set_price(options.model, input=options.price_in or 0.0, output=options.price_out or 0.0)
    backend = OpenAIBackend.from_environment(
        base_url=options.base_url, model=options.model, timeout=options.timeout
    )
    # A server such as vLLM queues calls instead of answering 429: latency is its signal.
    return ThrottledBackend(backend, latency_signal=LatencySignal())


def _scripted(options: ScriptedOptions, run_dir: Path | None) -> Backend:
    from storyloom.backends.demo import demo_backend

    return demo_backend()


BACKENDS: Mapping[str, BackendEntry] = {
    entry.name: entry
    for entry in (
        BackendEntry("llamacpp", LlamaCppOptions, _llamacpp),
        BackendEntry("anthropic", AnthropicOptions, _anthropic),
        BackendEntry("openai", OpenAIOptions, _openai),
        BackendEntry("scripted", ScriptedOptions, _scripted),
    )
}
BACKEND_NAMES = tuple(BACKENDS)


def default_backend_name() -> str:
    """Anthropic when a key is configured, else the embedded offline model."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "llamacpp"


def backend_entry(name: str) -> BackendEntry:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UnknownBackendError(
            f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}"
        ) from None


def backend_spec(
    name: str,
    values: Mapping[str, Any] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
) -> BackendSpec:
    """`values` checked against the backend's options model. `labels` say how the user
    wrote a key (`{"model": "--model"}`); an unlabelled key is named `option 'key'`.
    The error never repeats a value: one might be a secret typed in the wrong place."""
    entry = backend_entry(name)
    given = dict(values or {})

    def label(key: str) -> str:
        return (labels or {}).get(key, f"option {key!r}")

    for key in given:
        if key not in entry.options.model_fields:
            raise BackendOptionError(_not_taken(entry, label(key), key))
    try:
        return BackendSpec(name, entry.options.model_validate(given))
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "options"
        message = first["msg"].removeprefix("Value error, ")
        raise BackendOptionError(
            f"{label(key)} of the {name} backend: {message[:1].lower()}{message[1:]}"
        ) from None


def _not_taken(entry: BackendEntry, label: str, key: str) -> str:
    takers = [other.name for other in BACKENDS.values() if key in other.options.model_fields]
    if takers:
        names = " and ".join([", ".join(takers[:-1]), takers[-1]] if len(takers) > 1 else takers)
        plural = "s" if len(takers) > 1 else ""
        return f"{label} applies to the {names} backend{plural}, not {entry.name}"
    known = ", ".join(entry.options.model_fields) or "none"
    return f"the {entry.name} backend has no {label} (its options: {known})"


def create_backend(spec: BackendSpec, run_dir: Path | None = None) -> Backend:
    return backend_entry(spec.name).build(spec.options, run_dir)
