"""The documents kind as the workflow sees it: inputs, balanced draws, the four tasks
(ideas -> write -> judge -> revise, the rewrite always run once against the quoted
section), gates per document type, document records and the kind's report figures."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.core.text import words
from storyloom.stories.constitution import constitution_input
from storyloom.stories.documents import catalog, fake, figures, prompts
from storyloom.stories.documents.catalog import document_type
from storyloom.stories.documents.draws import allowed_values, dimension_values, make_draw
from storyloom.stories.documents.gates import DOCUMENT_GATES
from storyloom.stories.documents.inputs import (
    DocumentsInputs,
    documents_sample,
    load_documents_inputs,
)
from storyloom.stories.documents.models import CRITERIA, ClaimsMade, IdeasReply
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.judging import critique_scores, finding_lines, incomplete
from storyloom.stories.kind import (
    CorpusKind,
    Criterion,
    Draft,
    InputSpec,
    ItemNoun,
    ItemView,
    Prompt,
    ReportProfile,
    Rubric,
    Task,
)

#: Far past the longest length band; a longer reply is a runaway (the length gate still
#: reports it), and cutting it keeps gates fast and checkpoints small.
MAX_DRAFT_CHARS = 40_000
PASS_SCORE = 3


def parse_ideas(completion: Completion, item: ItemView) -> dict[str, Any]:
    """The chosen idea and its outline; an 'unsuitable' reply rejects the item."""
    reply = completion.parsed
    if not isinstance(reply, IdeasReply):
        raise ValueError(incomplete(completion, "set of ideas"))
    if reply.unsuitable.strip():
        raise ValueError(f"unsuitable: {reply.unsuitable.strip()}")
    if not reply.ideas:
        raise ValueError("the ideas reply has no ideas and no reason they are unsuitable")
    if not 0 <= reply.chosen < len(reply.ideas):
        raise ValueError(f"chosen idea {reply.chosen} is not one of the {len(reply.ideas)} given")
    outline = [step.strip() for step in reply.outline if step.strip()]
    if not outline:
        raise ValueError("the chosen idea has no outline")
    chosen = reply.ideas[reply.chosen]
    return {
        "title": chosen.title.strip(),
        "idea": chosen.idea.strip(),
        "outline": outline,
        "alternatives": [idea.title for n, idea in enumerate(reply.ideas) if n != reply.chosen],
    }


def parse_document(completion: Completion, item: ItemView) -> str:
    return completion.text.strip()[:MAX_DRAFT_CHARS]


def inconsistent_claims(critique: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not critique:
        return []
    return [c for c in critique.get("claims_made") or [] if not c.get("consistent", False)]


def inconsistent_claim(critique: Mapping[str, Any]) -> str | None:
    """The rubric's check: fidelity is absolute, so one inconsistent claim fails."""
    found = inconsistent_claims(critique)
    if not found:
        return None
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"an inconsistent claim ({first.get('why', '')}): {first.get('statement', '')}{more}"


def _ideas_prompt(item: ItemView) -> Prompt:
    return prompts.ideas_prompt(item.inputs, item.draw, list(item.avoid))


def _write_prompt(item: ItemView) -> Prompt:
    assert item.plan is not None, "documents are written from a plan"
    return prompts.write_prompt(item.inputs, item.draw, item.plan)


def _judge_prompt(item: ItemView) -> Prompt:
    assert item.draft is not None
    return prompts.judge_prompt(
        item.inputs, item.draw, item.draft.text, finding_lines(item.draft.findings)
    )


def _revise_prompt(item: ItemView) -> Prompt:
    assert item.draft is not None and item.plan is not None
    return prompts.revise_prompt(
        item.inputs,
        item.draw,
        item.plan,
        item.draft.text,
        item.draft.critique,
        finding_lines(item.draft.findings),
    )


class DocumentsKind(CorpusKind):
    name: ClassVar[str] = "documents"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = (
        "pretraining-style documents about the constitution and the AI's character"
    )
    input_specs: ClassVar[tuple[InputSpec, ...]] = (
        constitution_input(),
        InputSpec(
            "identity",
            "Identity TOML (the AI's name, maker, situation)",
            documents_sample("identity"),
        ),
        InputSpec(
            "claims",
            "Claims JSONL (storyloom claims extract): claim, reason, hard case per section",
            documents_sample("claims"),
        ),
    )
    report_profile: ClassVar[ReportProfile] = ReportProfile(
        figures=figures.figures,
        noun=ItemNoun("document", "documents"),
        length_bands=LENGTH_BANDS,
        section_criterion="fidelity",
        skeleton_fields=("idea",),
    )
    default_rewrite = "always"
    plan_field: ClassVar[str] = "plan"

    recipe_modules = (prompts, catalog)

    def __init__(self) -> None:
        self.rubric = Rubric(
            criteria=tuple(Criterion(name, meaning) for name, meaning in CRITERIA.items()),
            pass_score=PASS_SCORE,
            lead=ClaimsMade,
            checks=(inconsistent_claim,),
        )
        self.gates = DOCUMENT_GATES
        self.tasks = {
            "plan": Task("plan", _ideas_prompt, parse_ideas, IdeasReply, "plan_max_tokens"),
            "write": Task("write", _write_prompt, parse_document),
            "judge": self.judge_task(_judge_prompt),
            "revise": Task("revise", _revise_prompt, parse_document),
        }

    # --- inputs and draws ---------------------------------------------------------------

    def read_inputs(self, chosen: Mapping[str, Path], given: Mapping[str, Path | None]) -> Any:
        return load_documents_inputs(
            given.get("constitution"), given.get("identity"), given.get("claims")
        )

    def draw(
        self, inputs: DocumentsInputs, run_seed: int, index: int, settings: Any
    ) -> dict[str, Any]:
        return make_draw(inputs, run_seed, index)

    def dimensions(self, inputs: DocumentsInputs, settings: Any) -> dict[str, tuple[str, ...]]:
        return dimension_values(inputs)

    def allowed_values(
        self, inputs: DocumentsInputs, dimension: str, axes: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """The values `dimension` could take in a draw with `axes` (for fair shares)."""
        return allowed_values(inputs, dimension, axes)

    def shared_prefix(self, inputs: DocumentsInputs, settings: Any = None) -> str:
        """With `settings.prompt_profile == "compact"` the whole constitution stays out."""
        return prompts.shared_prefix(inputs, getattr(settings, "prompt_profile", "rich"))

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        """Ideas are deduplicated on what the document is, not on its outline."""
        return f"{plan.get('title', '')}. {plan.get('idea', '')}"

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        axes = item.draw["axes"]
        hints: dict[str, Any] = {
            "claim": axes["claim"],
            "document_type": axes["document_type"],
            "length": axes["length"],
            "identity_name": item.draw["identity_name"],
            "speaker_labels": document_type(str(axes["document_type"])).speaker_labels,
        }
        if task == "judge":
            hints.update(self.tasks[task].context_for(item))
        return hints

    # --- output -------------------------------------------------------------------------

    def render(self, item: ItemView, best: Draft) -> str:
        """The document exactly as written: no plan, no notes, no chat turns."""
        return best.text.strip()

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        axes = dict(item.draw["axes"])
        section = item.draw["sections"][0]
        constitution = item.inputs.constitution
        total = len(words(constitution.as_markdown())) or 1
        drafts = [*item.drafts, *([best] if best and best not in item.drafts else [])]
        critique = best.critique if best else None
        plan = dict(item.plan) if item.plan else None
        return {
            "claim": axes["claim"],
            "section": section,
            "document_type": axes["document_type"],
            "audience": axes["audience"],
            "stance": axes["stance"],
            "length": axes["length"],
            "idea": plan["idea"] if plan else None,
            "title": plan["title"] if plan else None,
            "axes": axes,
            "sections": list(item.draw["sections"]),
            self.plan_field: plan,
            "scores": critique_scores(critique) if critique else {},
            "words": len(words(best.text)) if best else 0,
            "section_share": round(len(words(constitution.section(section).body)) / total, 4),
            "fidelity_failures": sum(1 for d in drafts if inconsistent_claims(d.critique)),
            "copied_drafts": sum(
                1 for d in drafts if any(f.kind == "constitution_copy" for f in d.findings)
            ),
            "rounds": best.round if best else 0,
        }

    # --- the scripted backend's replies -------------------------------------------------

    def fake_reply(self, request: CompletionRequest) -> Reply:
        return fake.fake_reply(request)
