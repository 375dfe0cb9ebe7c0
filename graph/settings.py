"""Settings that shape what a run produces. They are frozen into the run config, so a
resumed run can refuse to mix items made under different settings.

`run_settings` is the one place a run's defaults are settled: what the user asked for,
and for the rest what the kind and the backend imply. The CLI, the tests and the
benches all go through it (directly, or through `graph.service.open_run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storyloom.backends.reply_size import UnboundedSchema, largest_reply_tokens

if TYPE_CHECKING:
    from storyloom.backends.registry import BackendSpec
    from storyloom.stories.kind import CorpusKind

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
    #: Jaccard similarity at which an item's text is a near-duplicate of an earlier one.
    dedupe_threshold: float = Field(default=0.4, gt=0.0, le=1.0)
    #: Jaccard similarity at which an item's plan is too close to an earlier plan.
    plan_dedupe_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    #: Output budgets, each sent as `max_tokens` by the tasks that name it. These are
    #: floors: `run_settings` raises each to cover the largest reply any task naming it
    #: may give under the run's schemas (`schema_budgets`), so no reply a schema allows
    #: is cut by design; the settled values are what run.json and the card record.
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

    @model_validator(mode="before")
    @classmethod
    def _read_former_names(cls, data: Any) -> Any:
        """A run.json written before the rename still loads, so the run resumes. A file
        holding both names keeps the old one, which is then refused as unknown."""
        if not isinstance(data, dict):
            return data
        renamed = {old: new for old, new in FORMER_NAMES.items() if old in data}
        return {
            (renamed[key] if key in renamed and renamed[key] not in data else key): value
            for key, value in data.items()
        }


#: Settings keys renamed since runs were first written: {former name: name}.
#: The compact profile's budget floors, below the defaults: it is for a small local model,
#: whose free text runs into repetition loops rather than ending (3 of 4 of the bundled
#: model's write calls ran to a 2,600-token cap, two thirds of a run's tokens), and
#: generating is nearly all of a local run's time. 1,200 tokens hold about 900 words.
COMPACT_BUDGET_FLOORS = {"write_max_tokens": 1200}

FORMER_NAMES = {
    "story_dedupe_threshold": "dedupe_threshold",
    "premise_dedupe_threshold": "plan_dedupe_threshold",
}


def run_settings(
    kind: CorpusKind, backend: BackendSpec, asked: Mapping[str, Any] | None = None
) -> GenerationSettings:
    """A run's complete settings: `asked` (a None value is not asked), and for the rest
    what the kind implies (its rewrite mode, and budgets that cover its schemas' largest
    replies) and the backend (compact prompts for a small model). Raises pydantic's
    ValidationError on a value out of range."""
    given = {key: value for key, value in (asked or {}).items() if value is not None}
    profile = given.get("prompt_profile") or (
        "compact" if backend.options.small_model() else "rich"
    )
    implied: dict[str, Any] = {
        "rewrite": kind.default_rewrite,
        "prompt_profile": profile,
        **schema_budgets(kind, profile),
    }
    return GenerationSettings.model_validate({**implied, **given})


def schema_budgets(kind: CorpusKind, profile: str) -> dict[str, int]:
    """{budget setting: tokens} covering the largest reply of every task that names it,
    under the profile's schemas, and never below the setting's default; rounded up to a
    hundred. A schema with an uncapped string or list (a plug-in kind's) has no largest
    reply and keeps the default; the built-in kinds cap every one (tests/test_budgets).
    The compact profile's floors are lower (`COMPACT_BUDGET_FLOORS`)."""
    defaults = GenerationSettings.model_fields
    floors = COMPACT_BUDGET_FLOORS if profile == "compact" else {}
    budgets: dict[str, int] = {}
    for task in kind.tasks.values():
        schema = task.profile_schemas.get(profile, task.schema)
        default = floors.get(task.max_tokens, int(defaults[task.max_tokens].default))
        floor = budgets.get(task.max_tokens, default)
        budgets[task.max_tokens] = max(floor, _largest_or_nothing(schema))
    return budgets


def _largest_or_nothing(schema: type[BaseModel] | None) -> int:
    """The schema's largest reply rounded up to a hundred tokens (0: free text, or none)."""
    if schema is None:
        return 0
    try:
        return -(-largest_reply_tokens(schema) // 100) * 100
    except UnboundedSchema:
        return 0
