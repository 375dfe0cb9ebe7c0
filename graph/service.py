"""Opening and running a run, in one place the CLI, the tests and the benches all use.

`open_run` does everything before the first call, in an order that touches nothing a
user had when anything is wrong: the kind and its inputs (validated), the settings (what
was asked, the rest settled from the kind and the backend by `run_settings`), the run
directory (refused when it holds outputs but no run.json), the lock, the backend, the
checkpoint store, the frozen config, the runtime context. `execute` runs the items and
closes the backend on the loop that used it. Errors stay typed; the CLI turns them into
lines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storyloom.backends.base import Backend
from storyloom.backends.faults import FaultPlan, FaultyBackend
from storyloom.backends.registry import BackendSpec, create_backend
from storyloom.core.records import field_problem
from storyloom.graph.checkpointer import check_checkpoint_store
from storyloom.graph.context import RunContext
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.runlock import LockOwner, RunLock
from storyloom.graph.runner import ProgressCallback, RunOptions, RunReport, make_context, run_items
from storyloom.graph.settings import GenerationSettings, run_settings
from storyloom.graph.shared import SharedRun
from storyloom.stories.inputs import InputError
from storyloom.stories.kind import CorpusKind, LoadedInputs
from storyloom.stories.registry import get_kind


class RunSetupError(ValueError):
    """A run cannot start as asked (a kind option, a count the kind cannot serve)."""


@dataclass(frozen=True)
class RunRequest:
    """Everything a start of `generate` says, already parsed. What it leaves out is
    settled when the run opens, the same way for every caller."""

    run_dir: Path
    backend: BackendSpec
    options: RunOptions
    #: Settings asked for, by `GenerationSettings` field; the rest are settled from the
    #: kind and the backend (`run_settings`).
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: None: the kind of the run already in `run_dir`, else "story".
    kind: str | None = None
    input_paths: Mapping[str, Path | None] = field(default_factory=dict)
    allow_config_change: bool = False
    #: Seconds one LLM call may take before it is retried as lost; None: the backend's
    #: default (`BackendOptions.call_timeout`); 0: no limit.
    call_timeout: float | None = None
    #: `STORYLOOM_FAULTS`: fault injection for rehearsals and tests.
    faults: str = ""
    #: The run's name in item ids (None: the folder's). Workers of one run share it.
    run_name: str | None = None
    #: Redis URL: workers of one sharded run share dedupe indexes, budget and checks.
    redis_url: str | None = None


@dataclass
class OpenRun:
    run: RunDir
    kind: CorpusKind
    config: RunConfig
    context: RunContext
    #: Settings that changed and were taken (allowed, or nothing had finished yet).
    changes_taken: list[str]
    #: The owner of a lock left by a process that did not exit cleanly.
    stale_owner: LockOwner | None

    @property
    def backend(self) -> Backend:
        return self.context.backend


def kind_of(run: RunDir, asked: str | None) -> CorpusKind:
    """The kind asked for, or the one an existing run was made with."""
    if asked is None:
        config = run.load_config() if run.config_path.exists() else None
        asked = config.kind if config else "story"
    return get_kind(asked)


def load_kind_inputs(kind: CorpusKind, paths: Mapping[str, Path | None]) -> LoadedInputs:
    unknown = sorted(set(paths) - {spec.name for spec in kind.input_specs})
    given = [name for name in unknown if paths[name] is not None]
    if given:
        known = ", ".join(spec.name for spec in kind.input_specs) or "none"
        raise RunSetupError(
            f"the {kind.name} kind takes no input {given[0]!r} (its inputs: {known})"
        )
    return kind.load_inputs({name: paths.get(name) for name in (s.name for s in kind.input_specs)})


def kind_options(kind: CorpusKind, values: Mapping[str, Any]) -> Any:
    """The kind's options, validated strictly as the JSON they are given and frozen as:
    `"2"` or `true` for an integer option is refused, not read as 2 or 1."""
    try:
        given = json.dumps(dict(values), default=str)
        return kind.options_model.model_validate_json(given, strict=True)
    except ValidationError as error:
        raise RunSetupError(f"the {kind.name} kind's option {field_problem(error)}") from None


def settings_for(kind: CorpusKind, request: RunRequest) -> GenerationSettings:
    """The run's complete settings (`run_settings`), a bad value as one line; a task
    model for a task the kind lacks is refused (it would be frozen and never used)."""
    try:
        settings = run_settings(kind, request.backend, request.settings)
    except ValidationError as error:
        raise RunSetupError(f"setting {field_problem(error)}") from None
    for task, model in settings.task_models.items():
        if task not in kind.tasks:
            raise RunSetupError(
                f"task model for {task!r}: the {kind.name} kind has no such task "
                f"(its tasks: {', '.join(kind.tasks)})"
            )
        if not model.strip():
            raise RunSetupError(f"task model for {task!r} is empty; name a model")
    return settings


def call_timeout_for(request: RunRequest) -> float | None:
    """The whole-call watchdog in seconds, or None for no limit."""
    if request.call_timeout is None:
        return request.backend.options.call_timeout()
    return request.call_timeout or None


@contextmanager
def open_run(request: RunRequest) -> Iterator[OpenRun]:
    run = RunDir(request.run_dir)
    kind = kind_of(run, request.kind)
    loaded = load_kind_inputs(kind, request.input_paths)
    settings = settings_for(kind, request)
    options = kind_options(kind, settings.kind_options)
    limit = kind.max_items(loaded.value, options)
    if limit is not None and request.options.count > limit:
        raise RunSetupError(
            f"the {kind.name} kind can make at most {limit} items from these inputs, "
            f"not {request.options.count}"
        )
    run.prepare()
    with RunLock(run.path) as lock:
        backend = _backend(request, run.path)
        try:
            # Before run.json: a wrong URL or key is one line now, not an outage reported
            # after minutes of retries (the openai backend also learns its model here).
            asyncio.run(backend.check_configuration())
            config = RunConfig.create(
                request.run_name or run.name,
                kind,
                request.backend.name,
                backend.model,
                settings,
                loaded,
                count=request.options.count,
                shard=str(request.options.shard or ""),
            )
            if mode := getattr(backend, "structured_mode", None):  # found by the probe
                config = config.model_copy(update={"notes": {"structured_mode": str(mode)}})
            check_checkpoint_store(run.checkpoints_path)  # before run.json is touched
            config, changes = run.freeze_config(
                config,
                allow_change=request.allow_config_change,
                nothing_finished=_nothing_finished(run),
            )
            shared = None
            if request.redis_url:
                shared = SharedRun.connect(request.redis_url, config)
                shared.check_same_run(config)
            context = make_context(
                run,
                config,
                kind,
                loaded.value,
                backend,
                call_timeout=call_timeout_for(request),
                shared=shared,
            )
        except BaseException:
            asyncio.run(backend.aclose())  # nothing was sent yet, so a fresh loop can close it
            raise
        yield OpenRun(run, kind, config, context, changes, lock.stale_owner)


def _backend(request: RunRequest, run_path: Path) -> Backend:
    backend = create_backend(request.backend, run_path)
    if request.faults.strip():
        try:
            backend = FaultyBackend(backend, FaultPlan.parse(request.faults))
        except ValueError as error:
            raise InputError(f"STORYLOOM_FAULTS: {error}") from error
    return backend


def _nothing_finished(run: RunDir) -> bool:
    """No item has an output line yet: a start refused before any item finished (a wrong
    model, say) may be retried with other settings in the same directory."""
    return all(
        not path.exists() or path.stat().st_size == 0
        for path in (run.corpus_path, run.rejected_path)
    )


async def execute(
    opened: OpenRun,
    options: RunOptions,
    *,
    on_progress: ProgressCallback | None = None,
    stop: asyncio.Event | None = None,
) -> RunReport:
    """Run the items, then close the backend on the loop that used it."""
    try:
        return await run_items(
            opened.run, opened.context, options, on_progress=on_progress, stop=stop
        )
    finally:
        await opened.backend.aclose()
