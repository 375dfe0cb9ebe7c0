"""The workflow's nodes: `(state, runtime) -> partial update`.

Each node is pure apart from its one backend call (or its one write to the run's
outputs), so a node replayed after a crash does the same thing again. A backend error
that retrying cannot fix rejects the story with that reason instead of crashing the run;
a fatal one (bad key, unknown model) propagates and stops the run.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from storyloom.backends.base import (
    Completion,
    CompletionRequest,
    Message,
    PermanentBackendError,
)
from storyloom.graph.context import StoryContext
from storyloom.graph.state import Draft, StoryState
from storyloom.stories import prompts
from storyloom.stories.gates import check_story, monologue_share, names_to_avoid, words
from storyloom.stories.models import Critique, Premise
from storyloom.stories.render import render_document
from storyloom.stories.seeds import StorySeed, make_seed
from storyloom.stories.selection import choose_better_draft, critique_passes

Update = dict[str, Any]


def _seed(state: StoryState) -> StorySeed:
    return StorySeed.from_dict(state["seed"])


async def _ask(
    ctx: StoryContext,
    state: StoryState,
    purpose: str,
    prompt: tuple[str, str],
    *,
    max_tokens: int,
    temperature: float,
    schema: type[Premise] | type[Critique] | None = None,
) -> Completion | PermanentBackendError:
    """The node's one backend call. A permanent error that only this story hit is
    returned for the node to turn into its reason; a fatal one propagates and stops the
    run; transient ones propagate to the node's retry policy."""
    instructions, user = prompt
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=max_tokens,
        shared_prefix=prompts.shared_prefix(ctx.inputs),
        instructions=instructions,
        temperature=temperature,
        output_schema=schema,
        purpose=purpose,
        seed=_seed(state).sampling_seed + state.get("revisions", 0),
    )
    try:
        return await ctx.complete(state["story_id"], request)
    except PermanentBackendError as error:
        if error.fatal:
            raise
        return error


#: Far past the longest length band; a longer reply is a runaway. Cutting it keeps the
#: gates (which run on the event loop) fast and checkpoints small; the length gate still
#: reports it.
MAX_DRAFT_CHARS = 40_000


def _bounded(text: str) -> str:
    return text.strip()[:MAX_DRAFT_CHARS]


def _rejection(reason: str, error: PermanentBackendError | str) -> Update:
    return {"reject_reason": reason, "reject_detail": str(error)}


def _failed_round(state: StoryState, reason: str, error: PermanentBackendError | str) -> Update:
    """A revision round that failed does not cost a story that had already passed: it
    goes on with its passing draft (the note is kept for provenance)."""
    best = state.get("best")
    if best is not None and best["passed"]:
        return {"round_failed": f"{reason}: {error}"}
    return _rejection(reason, error)


def _incomplete(completion: Completion, what: str) -> str:
    return f"the model stopped ({completion.stop_reason}) before giving a complete {what}"


async def seed(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    ctx = runtime.context
    story_seed = make_seed(
        ctx.inputs, ctx.settings.seed, state["index"], name_variants=ctx.settings.name_variants
    )
    return {
        "seed": story_seed.to_dict(),
        "plan_attempts": 0,
        "revisions": 0,
        "avoid_titles": [],
        "max_revisions": ctx.settings.max_revisions,
        "rewrite": ctx.settings.rewrite,
    }


async def plan(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    ctx = runtime.context
    prompt = prompts.plan_prompt(_seed(state), state.get("avoid_titles", []))
    completion = await _ask(
        ctx,
        state,
        "plan",
        prompt,
        max_tokens=ctx.settings.plan_max_tokens,
        temperature=ctx.settings.temperature,
        schema=Premise,
    )
    attempts = state.get("plan_attempts", 0) + 1
    if isinstance(completion, PermanentBackendError):
        return {**_rejection("invalid_premise", completion), "plan_attempts": attempts}
    if completion.parsed is None:  # truncated at max_tokens, or refused
        return {
            **_rejection("invalid_premise", _incomplete(completion, "premise")),
            "plan_attempts": attempts,
        }
    return {"premise": completion.parsed.model_dump(), "plan_attempts": attempts}


async def vet_premise(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    """A premise too close to an earlier one is planned again, avoiding that one."""
    ctx = runtime.context
    premise = Premise.model_validate(state["premise"])
    premises = ctx.indexes.premises(_seed(state).variant)
    match = premises.check_and_insert(state["story_id"], premise.as_text())
    if match is None:
        return {"premise_is_new": True}
    if state["plan_attempts"] >= ctx.settings.max_plan_attempts:
        return {
            "reject_reason": "premise_duplicate",
            "reject_detail": f"every planned premise was too close to another (last: {match})",
        }
    return {
        "premise_is_new": False,
        "avoid_titles": [*state.get("avoid_titles", []), premise.title],
    }


async def write(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    ctx = runtime.context
    premise = Premise.model_validate(state["premise"])
    prompt = prompts.write_prompt(_seed(state), premise)
    completion = await _ask(
        ctx,
        state,
        "write",
        prompt,
        max_tokens=ctx.settings.write_max_tokens,
        temperature=ctx.settings.temperature,
    )
    if isinstance(completion, PermanentBackendError):
        return _rejection("backend_error", completion)
    return {"draft": _bounded(completion.text), "truncated": completion.truncated}


async def gate(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    ctx = runtime.context
    story_seed = _seed(state)
    findings = [
        finding.to_dict()
        for finding in check_story(
            state["draft"],
            persona_name=story_seed.persona_name,
            length_band=story_seed.axes["length"],
            other_names=names_to_avoid(ctx.inputs.persona.names, story_seed.persona_name),
            constitution=ctx.inputs.constitution.as_markdown(),
        )
    ]
    if state.get("truncated") and not any(f["kind"] == "truncated" for f in findings):
        findings.append({"kind": "truncated", "message": "the model hit its token limit"})
    return {"findings": findings}


async def judge(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    ctx = runtime.context
    messages = [f"{f['kind']}: {f['message']}" for f in state["findings"]]
    prompt = prompts.judge_prompt(_seed(state), ctx.inputs, state["draft"], messages)
    completion = await _ask(
        ctx,
        state,
        "judge",
        prompt,
        max_tokens=ctx.settings.judge_max_tokens,
        temperature=ctx.settings.judge_temperature,
        schema=Critique,
    )
    if isinstance(completion, PermanentBackendError):
        return _failed_round(state, "invalid_critique", completion)
    if not isinstance(completion.parsed, Critique):  # truncated at max_tokens, or refused
        return _failed_round(state, "invalid_critique", _incomplete(completion, "critique"))
    critique = completion.parsed
    passed = critique_passes(critique, state["findings"])
    draft: Draft = {
        "text": state["draft"],
        "findings": state["findings"],
        "critique": critique.model_dump(),
        "passed": passed,
        "round": state.get("revisions", 0),
    }
    update: Update = {"critique": critique.model_dump()}
    if state.get("revisions", 0) == 0:
        update["first_pass"] = passed
    # A revision that made the story worse does not replace the better draft.
    choice = choose_better_draft(state.get("best"), draft, length_band=_seed(state).axes["length"])
    if choice.keeps_revision:
        update["best"] = draft
    else:
        update["guard_reasons"] = list(choice.reasons)
    return update


async def revise(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    ctx = runtime.context
    best = state["best"]
    critique = Critique.model_validate(best["critique"]) if best["critique"] else None
    findings = [f"{f['kind']}: {f['message']}" for f in best["findings"]]
    premise = Premise.model_validate(state["premise"])
    prompt = prompts.revise_prompt(_seed(state), premise, best["text"], critique, findings)
    completion = await _ask(
        ctx,
        state,
        "revise",
        prompt,
        max_tokens=ctx.settings.write_max_tokens,
        temperature=ctx.settings.temperature,
    )
    revisions = state.get("revisions", 0) + 1
    if isinstance(completion, PermanentBackendError):
        return {**_failed_round(state, "backend_error", completion), "revisions": revisions}
    return {
        "draft": _bounded(completion.text),
        "truncated": completion.truncated,
        "revisions": revisions,
    }


async def dedupe(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    """Checks the document exactly as it would be emitted, so the index can be rebuilt
    from the corpus alone."""
    stories = runtime.context.indexes.stories(_seed(state).variant)
    match = stories.check_and_insert(state["story_id"], document_text(state))
    return {"duplicate_of": match} if match else {}


def _metadata(state: StoryState, ctx: StoryContext) -> dict[str, Any]:
    story_seed = _seed(state)
    best = state.get("best")
    premise = state.get("premise")
    critique = best["critique"] if best else None
    return {
        "index": state["index"],
        "title": premise["title"] if premise else None,
        "axes": story_seed.axes,
        "persona": story_seed.persona_name,
        "group": story_seed.group,
        "variant": story_seed.variant,
        "sections": list(story_seed.sections),
        "premise": premise,
        "scores": Critique.model_validate(critique).score_map() if critique else {},
        "revisions": state.get("revisions", 0),
        "first_pass": state.get("first_pass"),
        "gate_findings": [f["kind"] for f in best["findings"]] if best else [],
        "words": len(words(best["text"])) if best else 0,
        "monologue_share": round(monologue_share(best["text"]), 4) if best else 0.0,
        "model": ctx.backend.model,
    }


def document_text(state: StoryState) -> str:
    story_seed = _seed(state)
    return render_document(
        state["best"]["text"],
        title=state["premise"]["title"],
        framing=story_seed.axes["framing"],
        index=story_seed.index,
    )


def corpus_record(state: StoryState, ctx: StoryContext) -> dict[str, Any]:
    return {
        "id": state["story_id"],
        "text": document_text(state),
        "metadata": _metadata(state, ctx),
    }


async def emit(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    runtime.context.sinks.corpus.write(corpus_record(state, runtime.context))
    return {"outcome": "emitted"}


def rejection_reason(state: StoryState) -> tuple[str, str]:
    if state.get("reject_reason"):
        return state["reject_reason"], state.get("reject_detail", "")
    if state.get("duplicate_of"):
        return "near_duplicate", f"too close to {state['duplicate_of']}"
    findings = state["best"]["findings"] if state.get("best") else []
    detail = "; ".join(f["message"] for f in findings) or "the judge did not pass it"
    return "max_revisions", detail


def rejected_record(state: StoryState, ctx: StoryContext) -> dict[str, Any]:
    reason, detail = rejection_reason(state)
    best = state.get("best")
    return {
        "id": state["story_id"],
        "reason": reason,
        "detail": detail,
        "findings": best["findings"] if best else [],
        "last_draft": best["text"] if best else state.get("draft", ""),
        "metadata": _metadata(state, ctx),
    }


async def reject(state: StoryState, runtime: Runtime[StoryContext]) -> Update:
    record = rejected_record(state, runtime.context)
    runtime.context.sinks.rejected.write(record)
    return {
        "outcome": "rejected",
        "reject_reason": record["reason"],
        "reject_detail": record["detail"],
    }


# --- routing -------------------------------------------------------------------------


def after_plan(state: StoryState) -> str:
    return "reject" if state.get("reject_reason") else "vet_premise"


def after_vet(state: StoryState) -> str:
    if state.get("reject_reason"):
        return "reject"
    return "write" if state["premise_is_new"] else "plan"


def after_draft(state: StoryState) -> str:
    if state.get("reject_reason"):
        return "reject"
    return "dedupe" if state.get("round_failed") else "gate"


def after_judge(state: StoryState) -> str:
    if state.get("reject_reason"):
        return "reject"
    if state.get("round_failed"):
        return "dedupe"
    revisions = state.get("revisions", 0)
    best = state["best"]
    wants_rewrite = state["rewrite"] == "always" and revisions == 0
    if best["passed"] and not wants_rewrite:
        return "dedupe"
    if revisions < state["max_revisions"]:
        return "revise"
    return "dedupe" if best["passed"] else "reject"


def after_dedupe(state: StoryState) -> str:
    return "reject" if state.get("duplicate_of") else "emit"
