"""Settings that shape what a run produces. They are frozen into the run config, so a
resumed run can refuse to mix items made under different settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RewriteMode = Literal["on-fail", "always"]
#: "rich" prompts for capable models; "compact" ones for a tiny local model's context.
PromptProfile = Literal["rich", "compact"]


class GenerationSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    max_revisions: int = Field(default=2, ge=0, le=10)
    rewrite: RewriteMode = "on-fail"
    max_plan_attempts: int = Field(default=3, ge=1, le=10)
    name_variants: bool = False
    story_dedupe_threshold: float = Field(default=0.4, gt=0.0, le=1.0)
    premise_dedupe_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    #: Rich prompts ask for full plans and evidence-first judgments of every criterion:
    #: smaller budgets cut them off (a cut structured reply rejects the item).
    plan_max_tokens: int = Field(default=1500, ge=64)
    write_max_tokens: int = Field(default=2600, ge=64)
    judge_max_tokens: int = Field(default=4000, ge=64)
    #: None: the model's own default. A set value goes to every call, and a backend that
    #: cannot honour it refuses the run at start (never silently dropped).
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    judge_temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    prompt_profile: PromptProfile = "rich"
    #: Judgments per draft, combined by the kind (`--judge-samples`).
    judge_samples: int = Field(default=1, ge=1, le=9)
    #: Another model for some tasks ({"judge": "claude-..."}): a judge need not grade itself.
    task_models: dict[str, str] = Field(default_factory=dict)
    #: The kind's own options, validated by its `options_model`.
    kind_options: dict[str, Any] = Field(default_factory=dict)
