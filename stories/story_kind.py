"""The story kind: fiction in which an AI character meets a hard situation and acts well,
its inner monologue showing why. The pieces live in this folder's modules (inputs,
seeds, prompts, gates, selection, render); this object is how the workflow sees them.
"""

from __future__ import annotations

import hashlib
import inspect
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.stories import prompts, render
from storyloom.stories.gates import Finding, monologue_share, words
from storyloom.stories.inputs import LENGTH_BANDS, StoryInputs, load_inputs, sample_path
from storyloom.stories.kind import (
    CorpusKind,
    Criterion,
    Draft,
    InputSpec,
    ItemView,
    LoadedInputs,
    Prompt,
    ReportProfile,
    Rubric,
    Task,
    critique_scores,
    register_kind,
)
from storyloom.stories.models import Critique, Premise
from storyloom.stories.seeds import StorySeed, make_seed
from storyloom.stories.selection import PASS_SCORE, choose_better_draft, critique_passes
from storyloom.stories.story_gates import STORY_GATES

#: Far past the longest length band; a longer reply is a runaway. Cutting it keeps the
#: gates (which run on the event loop) fast and checkpoints small; the length gate still
#: reports it.
MAX_DRAFT_CHARS = 40_000


def _seed(item: ItemView) -> StorySeed:
    return StorySeed.from_dict(dict(item.draw))


def _premise(item: ItemView) -> Premise:
    assert item.plan is not None, "the story kind writes from a plan"
    return Premise.model_validate(item.plan)


def _finding_lines(draft: Draft | None) -> list[str]:
    return [f"{f.kind}: {f.message}" for f in draft.findings] if draft else []


def _incomplete(completion: Completion, what: str) -> str:
    return f"the model stopped ({completion.stop_reason}) before giving a complete {what}"


def _parse_premise(completion: Completion) -> dict[str, Any]:
    if not isinstance(completion.parsed, Premise):  # truncated at max_tokens, or refused
        raise ValueError(_incomplete(completion, "premise"))
    return completion.parsed.model_dump()


def _parse_critique(completion: Completion) -> dict[str, Any]:
    if not isinstance(completion.parsed, Critique):
        raise ValueError(_incomplete(completion, "critique"))
    return completion.parsed.model_dump()


def _parse_story(completion: Completion) -> str:
    return completion.text.strip()[:MAX_DRAFT_CHARS]


def _plan_prompt(item: ItemView) -> Prompt:
    return prompts.plan_prompt(_seed(item), list(item.avoid))


def _write_prompt(item: ItemView) -> Prompt:
    return prompts.write_prompt(_seed(item), _premise(item))


def _judge_prompt(item: ItemView) -> Prompt:
    assert item.draft is not None
    return prompts.judge_prompt(
        _seed(item), item.inputs, item.draft.text, _finding_lines(item.draft)
    )


def _revise_prompt(item: ItemView) -> Prompt:
    best = item.draft
    assert best is not None
    critique = Critique.model_validate(best.critique) if best.critique else None
    return prompts.revise_prompt(
        _seed(item), _premise(item), best.text, critique, _finding_lines(best)
    )


def _as_selection_draft(draft: Draft) -> dict[str, Any]:
    return {
        "text": draft.text,
        "findings": [f.to_dict() for f in draft.findings],
        "critique": dict(draft.critique) if draft.critique else None,
        "passed": draft.passed,
    }


class StoryKind(CorpusKind):
    name: ClassVar[str] = "story"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = (
        "fiction: an AI character meets a hard situation; its inner monologue shows why"
    )
    input_specs: ClassVar[tuple[InputSpec, ...]] = (
        InputSpec(
            "constitution", "Constitution Markdown (## sections)", sample_path("constitution")
        ),
        InputSpec("persona", "Persona TOML", sample_path("persona")),
        InputSpec("axes", "Premise axes TOML", sample_path("axes")),
    )
    report_profile: ClassVar[ReportProfile] = ReportProfile()
    plan_field: ClassVar[str] = "premise"

    def __init__(self) -> None:
        self.rubric = Rubric(
            criteria=tuple(
                Criterion(name, meaning) for name, meaning in prompts.CRAFT_CRITERIA.items()
            ),
            pass_score=PASS_SCORE,
        )
        self.gates = STORY_GATES
        self.tasks = {
            "plan": Task(
                "plan",
                _plan_prompt,
                _parse_premise,
                Premise,
                "plan_max_tokens",
                rejects_as="invalid_premise",
            ),
            "write": Task("write", _write_prompt, _parse_story),
            "judge": Task(
                "judge",
                _judge_prompt,
                _parse_critique,
                Critique,
                "judge_max_tokens",
                "judge_temperature",
                rejects_as="invalid_critique",
            ),
            "revise": Task("revise", _revise_prompt, _parse_story),
        }

    # --- inputs and draws ---------------------------------------------------------------

    def load_inputs(self, paths: Mapping[str, Path | None]) -> LoadedInputs:
        chosen = {spec.name: paths.get(spec.name) or spec.sample for spec in self.input_specs}
        inputs = load_inputs(chosen["constitution"], chosen["persona"], chosen["axes"])
        return LoadedInputs(
            value=inputs,
            paths={name: str(path) for name, path in chosen.items()},
            fingerprints={
                "constitution": inputs.constitution.fingerprint,
                "persona": inputs.persona.fingerprint,
                "axes": inputs.axes.fingerprint,
            },
        )

    def draw(self, inputs: StoryInputs, run_seed: int, index: int, settings: Any) -> dict[str, Any]:
        return make_seed(
            inputs, run_seed, index, name_variants=bool(settings.name_variants)
        ).to_dict()

    def shared_prefix(self, inputs: StoryInputs, settings: Any = None) -> str:
        return prompts.shared_prefix(inputs)

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        return Premise.model_validate(plan).as_text()

    def dedupe_group(self, draw: Mapping[str, Any]) -> int:
        return int(draw.get("variant", 0))

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        """What the fake responder needs, so it never reads prompt text."""
        hints: dict[str, Any] = {
            "persona_name": item.draw["persona_name"],
            "length": item.draw["axes"]["length"],
        }
        if task == "judge":
            hints["criteria"] = [c.name for c in self.criteria(item)]
        return hints

    # --- judging ------------------------------------------------------------------------

    def criteria(self, item: ItemView) -> tuple[Criterion, ...]:
        sections = tuple(
            Criterion(
                item.inputs.constitution.section(slug).title, "constitution section", "constitution"
            )
            for slug in item.draw["sections"]
        )
        return (*sections, *self.rubric.criteria)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        if not text.strip():
            return [Finding("length", "the draft is empty")]
        return super().check(text, item)

    def passes(self, critique: Mapping[str, Any] | None, item: ItemView) -> bool:
        assert item.draft is not None
        if critique is None:
            return False
        return critique_passes(
            Critique.model_validate(critique), list(item.draft.findings), self.rubric.pass_score
        )

    def keeps_revision(
        self, previous: Draft | None, revision: Draft, item: ItemView
    ) -> tuple[bool, tuple[str, ...]]:
        choice = choose_better_draft(
            _as_selection_draft(previous) if previous else None,
            _as_selection_draft(revision),
            length_band=str(item.draw["axes"]["length"]),
            pass_score=self.rubric.pass_score,
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
        )

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        seed = _seed(item)
        premise = dict(item.plan) if item.plan else None
        critique = best.critique if best else None
        return {
            "title": premise["title"] if premise else None,
            "axes": seed.axes,
            "persona": seed.persona_name,
            "group": seed.group,
            "variant": seed.variant,
            "sections": list(seed.sections),
            "premise": premise,
            "scores": critique_scores(critique) if critique else {},
            "words": len(words(best.text)) if best else 0,
            "monologue_share": round(monologue_share(best.text), 4) if best else 0.0,
        }

    def recipe(self) -> dict[str, Any]:
        """Adds the prompt and rendering code, so an edited prompt refuses to resume."""
        source = "\n".join(inspect.getsource(module) for module in (prompts, render))
        return {
            **super().recipe(),
            "prompts": hashlib.sha256(source.encode()).hexdigest()[:16],
        }

    # --- the scripted backend's replies -------------------------------------------------

    def fake_reply(self, request: CompletionRequest) -> Reply:
        from storyloom.backends.demo import placeholder_premise, placeholder_story, request_rng

        rng: random.Random = request_rng(request)
        hints = request.metadata
        if request.purpose == "plan":
            return placeholder_premise(rng)
        if request.purpose == "judge":
            criteria = hints.get("criteria") or ["overall"]
            return {
                "scores": [
                    {"criterion": c, "score": 4, "evidence": "placeholder"} for c in criteria
                ],
                "verdict": "pass",
                "revision_notes": [],
            }
        low, high = LENGTH_BANDS.get(str(hints.get("length")), (300, 500))
        return placeholder_story(
            rng, name=str(hints.get("persona_name") or "Wren"), words=(low + high) // 2
        )


register_kind(StoryKind.name, StoryKind)


def fake_reply(request: CompletionRequest) -> Reply:
    """The story kind's scripted replies (for tests and `--backend scripted`)."""
    return _STORY.fake_reply(request)


_STORY = StoryKind()
