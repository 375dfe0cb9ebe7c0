"""The story kind: fiction in which an AI character meets a hard situation and acts well,
its inner monologue showing why. The pieces live in this folder's modules (inputs,
seeds, prompts, gates, selection, render); this object is how the workflow sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.stories.constitution import constitution_input
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.gates import lower_words, monologue_share
from storyloom.stories.judging import critique_scores, incomplete, pass_scores
from storyloom.stories.kind import (
    CorpusKind,
    Criterion,
    DimensionsInput,
    Draft,
    Finding,
    InputSpec,
    ItemNoun,
    ItemView,
    ReportProfile,
    RewriteMode,
    Rubric,
    Task,
    options_of,
)
from storyloom.stories.story import (
    fake,
    prompt_parts,
    prompts,
    prompts_compact,
    prompts_rich,
    render,
)
from storyloom.stories.story.draws import make_seed
from storyloom.stories.story.figures import rewrite_figures
from storyloom.stories.story.gates import STORY_GATES
from storyloom.stories.story.inputs import (
    StoryInputs,
    axes_dimensions,
    load_inputs,
    sample_path,
)
from storyloom.stories.story.models import Premise, review_model
from storyloom.stories.story.prompt_parts import CONSTITUTION, CRAFT_CRITERIA, seed_of
from storyloom.stories.story.selection import (
    CONSTITUTION_PASS_SCORE,
    PASS_SCORE,
    choose_better_draft,
)

#: Far past the longest length band; a longer reply is a runaway. Cutting it keeps the
#: gates (which run on the event loop) fast and checkpoints small; the length gate still
#: reports it.
MAX_DRAFT_CHARS = 40_000


def _parse_premise(completion: Completion, item: ItemView) -> dict[str, Any]:
    if not isinstance(completion.parsed, Premise):  # truncated at max_tokens, or refused
        raise ValueError(incomplete(completion, "premise"))
    return completion.parsed.model_dump()


def _parse_story(completion: Completion, item: ItemView) -> str:
    return completion.text.strip()[:MAX_DRAFT_CHARS]


def _parse_review(completion: Completion, item: ItemView) -> dict[str, Any]:
    """The review as kept in state: `sections: [{section, requires_here, shortfalls}]`
    (every section in play, by title, in their order), `monologue` and `keep`."""
    parsed = completion.parsed
    if parsed is None or type(parsed).__name__ != "Review":
        raise ValueError(incomplete(completion, "review"))
    return parsed.model_dump()


def _review_requirements(item: ItemView) -> dict[str, Any]:
    """The sections in play (by title), which the review must hold once each."""
    return {"sections": [c.name for c in prompt_parts.section_criteria(item)]}


def _as_selection_draft(draft: Draft) -> dict[str, Any]:
    return {
        "text": draft.text,
        "findings": [f.to_dict() for f in draft.findings],
        "critique": dict(draft.critique) if draft.critique else None,
        "passed": draft.passed,
    }


def _compared(critique: Mapping[str, Any] | None) -> bool:
    """Whether a critique judged a rewrite beside the draft it would replace."""
    return bool(critique and "winner" in critique)


def _comparison(critique: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "winner": critique["winner"],
        "rewrite_label": critique.get("rewrite_label"),
        **(critique.get("comparison") or {}),
    }


class StoryOptions(BaseModel):
    """`generate --option KEY=VALUE` for the story kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framing_headers: bool = Field(
        default=False,
        description="add each framing's header to the text (the planned title when the "
        "story has none, 'Chapter N' by item index, 'Fiction', 'A Fable', 'from a memoir'); "
        "off: the text is the story exactly as the model wrote it",
    )


class StoryKind(CorpusKind):
    name: ClassVar[str] = "story"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = (
        "fiction: an AI character meets a hard situation; its inner monologue shows why"
    )
    input_specs: ClassVar[tuple[InputSpec, ...]] = (
        constitution_input(),
        InputSpec("persona", "Persona TOML", sample_path("persona")),
        InputSpec("axes", "Premise axes TOML", sample_path("axes")),
    )
    report_profile: ClassVar[ReportProfile] = ReportProfile(
        figures=rewrite_figures,
        dimensions_input=DimensionsInput("axes", axes_dimensions),
        noun=ItemNoun("story", "stories"),
        story_rows=True,
        length_bands=LENGTH_BANDS,
        skeleton_fields=("conflict",),
    )
    options_model: ClassVar[type[BaseModel]] = StoryOptions
    plan_field: ClassVar[str] = "premise"
    #: The faithful rewrite: every story is reviewed against the full text of its
    #: sections and rewritten once, then judged again (`--rewrite on-fail` turns it off).
    default_rewrite: ClassVar[RewriteMode] = "always"

    recipe_modules = (prompts, prompts_rich, prompts_compact, prompt_parts, render)
    recipe_files = (resources.files("storyloom.stories.story") / "data" / "craft_guide.md",)

    def __init__(self) -> None:
        self.rubric = Rubric(
            criteria=tuple(Criterion(name, meaning) for name, meaning in CRAFT_CRITERIA.items()),
            pass_score=PASS_SCORE,
            group_pass_scores={CONSTITUTION: CONSTITUTION_PASS_SCORE},
            pairs_rewrites=True,
        )
        self.gates = STORY_GATES
        self.tasks = {
            "plan": Task(
                "plan",
                prompts.build("plan"),
                _parse_premise,
                Premise,
                "plan_max_tokens",
                rejects_as="invalid_premise",
            ),
            "write": Task("write", prompts.build("write"), _parse_story),
            "review": Task(
                "review",
                prompts.build("review"),
                _parse_review,
                review_model("rich"),
                "judge_max_tokens",
                "judge_temperature",
                requirements=_review_requirements,
                profile_schemas={"compact": review_model("compact")},
            ),
            "judge": self.judge_task(prompts.build("judge"), rejects_as="invalid_critique"),
            "revise": Task("revise", prompts.build("revise"), _parse_story),
        }

    # --- inputs and draws ---------------------------------------------------------------

    def read_inputs(self, chosen: Mapping[str, Path], given: Mapping[str, Path | None]) -> Any:
        return load_inputs(chosen["constitution"], chosen["persona"], chosen["axes"])

    def draw(self, inputs: StoryInputs, run_seed: int, index: int, settings: Any) -> dict[str, Any]:
        return make_seed(
            inputs, run_seed, index, name_variants=bool(settings.name_variants)
        ).to_dict()

    def dimensions(self, inputs: StoryInputs, settings: Any = None) -> dict[str, tuple[str, ...]]:
        """Every value each axis under `draw()["axes"]` can take (fair shares and gaps)."""
        return dict(inputs.axes.values)

    def shared_prefix(self, inputs: StoryInputs, settings: Any = None) -> str:
        """The profile's project brief (`settings.prompt_profile`; rich without settings)."""
        return prompts.shared_prefix(inputs, prompts.profile_of(settings))

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        return Premise.model_validate(plan).as_text()

    def dedupe_group(self, draw: Mapping[str, Any]) -> int:
        return int(draw.get("variant", 0))

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        """What the fake responder needs, so it never reads prompt text (for the judge
        and the reviewer: what is in play, as their replies must name it)."""
        hints: dict[str, Any] = {
            "persona_name": item.draw["persona_name"],
            "length": item.draw["axes"]["length"],
        }
        if task in ("judge", "review"):
            hints.update(self.tasks[task].context_for(item))
        if task == "judge":
            hints["rewrite_label"] = item.draw.get("rewrite_label", "A")
        return hints

    # --- judging ------------------------------------------------------------------------

    def criteria(self, item: ItemView) -> tuple[Criterion, ...]:
        """Each constitution section in play (by title), then the craft criteria."""
        return (*prompt_parts.section_criteria(item), *self.rubric.criteria)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        if not text.strip():
            return [Finding("length", "the draft is empty")]
        return super().check(text, item)

    def keeps_revision(
        self, previous: Draft | None, revision: Draft, item: ItemView
    ) -> tuple[bool, tuple[str, ...]]:
        choice = choose_better_draft(
            _as_selection_draft(previous) if previous else None,
            _as_selection_draft(revision),
            length_band=str(item.draw["axes"]["length"]),
            pass_scores=pass_scores(self.rubric, self.criteria(item)),
        )
        return choice.keeps_revision, choice.reasons

    # --- output -------------------------------------------------------------------------

    def render(self, item: ItemView, best: Draft) -> str:
        assert item.plan is not None
        return render.render_document(
            best.text,
            title=str(item.plan["title"]),
            framing=str(item.draw["axes"]["framing"]),
            index=item.index,
            headers=options_of(item, StoryOptions).framing_headers,
        )

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        """Beside the draw and plan: the first draft's own scores, the best draft's, and
        the last rewrite's side-by-side judgment (`draft_scores` and `rewrite_scores` from
        that one judgment, and the `comparison`: winner, blind label and reasons), so
        `storyloom stats` can show what the rewrite changed (the workflow adds
        `revisions`, `first_pass` and `gate_findings` for every kind)."""
        seed = seed_of(item)
        premise = dict(item.plan) if item.plan else None
        critique = best.critique if best else None
        first = item.drafts[0] if item.drafts else None
        paired = next((d.critique for d in reversed(item.drafts) if _compared(d.critique)), None)
        return {
            "title": premise["title"] if premise else None,
            "axes": seed.axes,
            "agentic": seed.agentic,
            "persona": seed.persona_name,
            "group": seed.group,
            "variant": seed.variant,
            "sections": list(seed.sections),
            "premise": premise,
            "first_scores": critique_scores(first.critique) if first and first.critique else {},
            "scores": critique_scores(critique) if critique else {},
            "draft_scores": dict(paired["draft_scores"]) if paired else {},
            "rewrite_scores": critique_scores(paired) if paired else {},
            "comparison": _comparison(paired) if paired else None,
            "rewrite_kept": bool(best and best.round > 0),
            "words": len(lower_words(best.text)) if best else 0,
            "monologue_share": round(monologue_share(best.text), 4) if best else 0.0,
        }

    # --- the scripted backend's replies -------------------------------------------------

    def fake_reply(self, request: CompletionRequest) -> Reply:
        return fake.fake_reply(request)
