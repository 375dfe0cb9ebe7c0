"""What a user may say about each backend: one pydantic model per backend (simonw/llm's
pattern), so an unknown key or a value out of range is refused before a run starts, by
name, instead of being dropped or failing after minutes of retries.

No field holds a secret: API keys are read from the environment by the backend itself,
so they never reach run.json, a log line or an error message. `base_url` may carry a
gateway's `user:password`, so it stays out of the model's repr.

Each model also answers what its backend implies for a run (the prompt profile, the
whole-call watchdog), so those defaults are settled from the options, not by the CLI.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: A GGUF at most this large gets the compact prompts (the bundled SmolLM2-135M is 90 MB).
SMALL_GGUF_BYTES = 1_500_000_000

#: Seconds per HTTP request: a range any real request fits in.
_TIMEOUT_RANGE = {"ge": 1, "le": 3600}


class BackendOptions(BaseModel):
    """Options every backend shares: none. A backend's model adds its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def small_model(self) -> bool:
        """The model is too small for the rich prompts (their length and the attention
        they ask for), so a run defaults to the compact ones."""
        return False

    def call_timeout(self) -> float | None:
        """Seconds one whole LLM call (repair turns and time queued included) may take
        before it is retried as lost, when the user gives none; None: no limit."""
        return None


class LlamaCppOptions(BackendOptions):
    model_path: Path | None = Field(
        default=None,
        description="A GGUF model file [default: the bundled SmolLM2-135M].",
    )
    context_size: int = Field(
        default=8192, ge=512, le=131072, description="Tokens of context the model is loaded with."
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        le=512,
        description="CPU threads [default: every core this process may use].",
    )

    def small_model(self) -> bool:
        """The bundled model, or a GGUF file of at most `SMALL_GGUF_BYTES`. A missing file
        is not small: the backend reports it in its own words."""
        if self.model_path is None:
            return True
        try:
            return self.model_path.stat().st_size <= SMALL_GGUF_BYTES
        except OSError:
            return False


class HostedOptions(BackendOptions):
    """A model served over HTTP, named by the user or chosen by the backend."""

    model: str | None = Field(
        default=None, min_length=1, description="Model name [default: the backend's]."
    )


class AnthropicOptions(HostedOptions):
    timeout: float = Field(
        default=120.0, **_TIMEOUT_RANGE, description="Per-request timeout in seconds."
    )
    batch: bool = Field(
        default=False,
        description="Send calls through the Message Batches API: half price, slower.",
    )

    def call_timeout(self) -> float | None:
        """The HTTP timeout covers one request, not a repair turn or time queued behind
        the throttle, so a whole call gets a watchdog; a batch may take hours to end."""
        return None if self.batch else 600.0


class OpenAIOptions(HostedOptions):
    #: A local server on a CPU may take minutes per reply, and a request given up on
    #: keeps its server busy (llama.cpp's server finishes it anyway).
    timeout: float = Field(
        default=900.0, **_TIMEOUT_RANGE, description="Per-request timeout in seconds."
    )
    base_url: str | None = Field(
        default=None,
        min_length=1,
        repr=False,
        description="The OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 "
        "[default: OPENAI_BASE_URL].",
    )
    price_in: float | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="USD per million input tokens of the model [default: free].",
    )
    price_out: float | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="USD per million output tokens of the model [default: free].",
    )

    @field_validator("price_in", "price_out")
    @classmethod
    def _priced_model_is_named(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and not info.data.get("model"):
            raise ValueError("a price is for a named model, so give the model too")
        return value


class ScriptedOptions(BackendOptions):
    """The placeholder model takes no options."""
