"""The models under test and the classifier's, as backends of the project's registry (so
eval gets the throttle, the retry-after handling and the prices generate gets)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from storyloom.backends.base import Backend
from storyloom.backends.registry import (
    BackendOptionError,
    BackendSpec,
    backend_spec,
    create_backend,
)
from storyloom.evals.runner import Target

#: Which option of each backend `--model` sets (a GGUF file is llama.cpp's model).
MODEL_OPTION = {"anthropic": "model", "openai": "model", "llamacpp": "model_path"}
SCRIPTED_JUDGE = "scripted-judge"


def _spec(spec: BackendSpec, model: str | None) -> BackendSpec:
    values = spec.options.model_dump(exclude_unset=True)
    if model is not None:
        values[MODEL_OPTION[spec.name]] = model
    return backend_spec(spec.name, values, labels={MODEL_OPTION[spec.name]: "--model"})


def build(spec: BackendSpec, model: str | None, run_dir: Path | None) -> Backend:
    if spec.name == "scripted":
        from storyloom.backends.demo import demo_backend
        from storyloom.evals.scripted_target import misbehaviour_share

        name = model or "scripted-demo"
        try:
            misbehaviour_share(name)
        except ValueError as error:
            raise BackendOptionError(str(error)) from None
        return demo_backend(model=name)
    return create_backend(_spec(spec, model), run_dir)


def build_targets(spec: BackendSpec, models: Sequence[str], run_dir: Path | None) -> list[Target]:
    """One target per `--model` (the backend's default model when none is given)."""
    targets: list[Target] = []
    for model in list(dict.fromkeys(models)) or [None]:
        backend = build(spec, model, run_dir)
        targets.append(Target(model or backend.model, backend))
    return targets


def build_judge(spec: BackendSpec, judge_model: str | None, models: Sequence[str]) -> Backend:
    """The classifier: `--judge-model`, else the first model under test (a tuned model
    judging itself is allowed but worth a separate judge: see docs/evals.md)."""
    if spec.name == "scripted":
        return build(spec, judge_model or SCRIPTED_JUDGE, None)
    return build(spec, judge_model or (models[0] if models else None), None)
