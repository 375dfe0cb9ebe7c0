"""Shared fixtures: a scripted backend, a run directory with its context, a fast retry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from story_samples import LazyReply, in_order

from storyloom.backends.base import Backend
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.graph.context import RunContext
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.runner import make_context
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.kind import LoadedInputs
from storyloom.stories.registry import get_kind
from storyloom.stories.story.inputs import StoryInputs, load_inputs


@pytest.fixture
def story_inputs() -> StoryInputs:
    """The bundled inputs with every story in the short length band, so one sample story
    fits whichever draw a test's story index gets."""
    inputs = load_inputs()
    axes = replace(inputs.axes, values={**inputs.axes.values, "length": ("short",)})
    return replace(inputs, axes=axes)


@pytest.fixture
def scripted() -> Callable[..., ScriptedBackend]:
    def make(*replies: Reply | LazyReply, **kwargs: object) -> ScriptedBackend:
        if any(callable(reply) for reply in replies):  # a judgment made for its request
            return ScriptedBackend(responder=in_order(*replies), **kwargs)  # type: ignore[arg-type]
        return ScriptedBackend(replies, **kwargs)  # type: ignore[arg-type]

    return make


RunFactory = Callable[..., tuple[RunDir, RunContext]]


@pytest.fixture
def make_run(tmp_path: Path, story_inputs: StoryInputs) -> RunFactory:
    """A run directory and the runtime context for it (fresh objects each call, like a
    new process resuming the same directory)."""

    def make(backend: Backend, name: str = "run", **settings: object) -> tuple[RunDir, RunContext]:
        run = RunDir(tmp_path / name)
        run.prepare()
        kind = get_kind("story")
        loaded = LoadedInputs(
            value=story_inputs,
            paths={"constitution": "c", "persona": "p", "axes": "a"},
            fingerprints={
                "constitution": story_inputs.constitution.fingerprint,
                "persona": story_inputs.persona.fingerprint,
                "axes": story_inputs.axes.fingerprint,
            },
        )
        config = RunConfig.create(
            run.name,
            kind,
            backend.name,
            backend.model,
            GenerationSettings(**settings),  # type: ignore[arg-type]
            loaded,
        )
        config, _ = run.freeze_config(config, allow_change=True)
        return run, make_context(run, config, kind, story_inputs, backend)

    return make
