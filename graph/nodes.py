"""The workflow's nodes, for any corpus kind: `(state, runtime) -> partial update`.

Each node is pure apart from its one backend call (or its one write to the run's
outputs), so a node replayed after a crash does the same thing again. What is
kind-specific (prompts, parsing, gates, the pass rule, rendering) comes from the kind in
the runtime context; texts go to the text store and the state keeps their references.
A backend error that retrying cannot fix rejects the item with that reason instead of
crashing the run; a fatal one (bad key, unknown model) propagates and stops the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from storyloom.backends.base import (
    Completion,
    CompletionRequest,
    InvalidOutputError,
    Message,
    PermanentBackendError,
)
from storyloom.graph.context import RunContext
from storyloom.graph.state import DraftRecord, Finding, ItemState, PendingDraft
from storyloom.stories.kind import Draft, ItemView, TaskName
from storyloom.stories.kind import Finding as GateFinding

Update = dict[str, Any]

#: How much of a near plan a retry is shown (enough to steer away from it).
AVOID_SUMMARY_CHARS = 600


# --- views: the state with its texts, as the kind sees it ------------------------------


async def _draft(ctx: RunContext, record: DraftRecord | PendingDraft) -> Draft:
    texts = ctx.text_store
    critique = await texts.get_optional(record.get("critique"))  # type: ignore[arg-type]
    review = await texts.get_optional(record.get("review"))  # type: ignore[arg-type]
    return Draft(
        text=await texts.get(record["text"]),
        findings=tuple(GateFinding(f["kind"], f["message"]) for f in record["findings"]),
        critique=critique,
        passed=bool(record.get("passed", False)),
        round=record["round"],
        truncated=record["truncated"],
        review=review,
    )


async def item_view(ctx: RunContext, state: ItemState, *, draft: Draft | None = None) -> ItemView:
    """What a task, a gate or the renderer sees of one item. `draft` defaults to the best
    draft so far (what review, revise and the outputs work on)."""
    drafts = [await _draft(ctx, record) for record in state["drafts"]]
    previous = drafts[state["best"]] if draft is not None and drafts else None
    if draft is None and drafts:
        draft = drafts[state["best"]]
        if review := state["reviews"].get(str(draft.round)):
            draft = Draft(**{**draft.__dict__, "review": await ctx.text_store.get(review)})
    return ItemView(
        item_id=state["item_id"],
        index=state["index"],
        draw=await ctx.text_store.get(state["draw"]),
        inputs=ctx.inputs,
        settings=ctx.settings,
        plan=await ctx.text_store.get_optional(state["plan"] or None),
        draft=draft,
        avoid=tuple(state["avoid"]),
        round=state["round"],
        drafts=tuple(drafts),
        previous=previous,
        options=ctx.options,
    )


# --- the one backend call --------------------------------------------------------------


async def _ask(
    ctx: RunContext, state: ItemState, task_name: TaskName, item: ItemView, *, sample: int = 0
) -> Any:
    """Run one task: build its request, call the backend, parse the reply. Returns the
    parsed value, or a `Rejection` the node turns into its reason. A fatal backend error
    propagates and stops the run; transient ones propagate to the node's retry policy."""
    task = ctx.kind.tasks[task_name]
    instructions, user = task.build(item)
    settings = ctx.settings
    temperature = getattr(settings, task.temperature)
    seed = None
    if ctx.backend.supports_seed:  # an internal reproducibility aid, never asked by users
        seed = int(item.draw.get("sampling_seed", item.index)) + 1000 * state["round"] + sample
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=getattr(settings, task.max_tokens),
        shared_prefix=ctx.shared_prefix,
        instructions=instructions,
        temperature=temperature,
        output_schema=task.schema_for(item),
        output_context=task.context_for(item),
        purpose=task_name,
        seed=seed,
        model=settings.task_models.get(task_name),
        metadata={"kind": ctx.kind.name, **ctx.kind.request_hints(item, task_name)},
    )
    try:
        completion = await ctx.complete(state["item_id"], request)
    except PermanentBackendError as error:
        if error.fatal:
            raise
        reason = task.rejection_reason if isinstance(error, InvalidOutputError) else "backend_error"
        if task_name in ("plan", "judge", "review") and not isinstance(error, InvalidOutputError):
            reason = task.rejection_reason  # the item never got what this step gives
        return Rejection(reason, str(error))
    try:
        return Parsed(task.parse(completion, item), completion)
    except ValueError as error:
        return Rejection(task.rejection_reason, str(error))


class Rejection:
    """A task that cannot give this item what it needs: the reason and the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail

    def update(self) -> Update:
        return {"reject_reason": self.reason, "reject_detail": self.detail}


class Parsed:
    def __init__(self, value: Any, completion: Completion) -> None:
        self.value = value
        self.completion = completion


def _failed_round(state: ItemState, rejection: Rejection) -> Update:
    """A revision round that failed does not cost an item that had already passed: it
    goes on with its passing draft (the note is kept for provenance)."""
    if state["drafts"] and state["drafts"][state["best"]]["passed"]:
        return {"round_failed": f"{rejection.reason}: {rejection.detail}"}
    return rejection.update()


# --- nodes -----------------------------------------------------------------------------


async def seed(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    draw = ctx.kind.draw(ctx.inputs, ctx.settings.seed, state["index"], ctx.settings)
    return {"draw": await ctx.text_store.put(draw)}


async def plan(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    result = await _ask(ctx, state, "plan", await item_view(ctx, state))
    attempts = state["plan_attempts"] + 1
    if isinstance(result, Rejection):
        return {**result.update(), "plan_attempts": attempts}
    return {"plan": await ctx.text_store.put(result.value), "plan_attempts": attempts}


async def vet_plan(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    """A plan too close to an earlier one is planned again, told what to avoid."""
    ctx = runtime.context
    item = await item_view(ctx, state)
    assert item.plan is not None
    text = ctx.kind.plan_text(item.plan)
    plans = ctx.indexes.plans(ctx.kind.dedupe_group(item.draw))
    match = await ctx.indexes.check_and_insert(plans, state["item_id"], text)
    if match is None:
        return {}
    if state["plan_attempts"] >= ctx.settings.max_plan_attempts:
        return {
            "reject_reason": "plan_duplicate",
            "reject_detail": f"every plan was too close to an earlier one (last: {match})",
        }
    return {"plan": "", "avoid": [*state["avoid"], text[:AVOID_SUMMARY_CHARS]]}


async def write(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    result = await _ask(ctx, state, "write", await item_view(ctx, state))
    if isinstance(result, Rejection):
        return result.update()
    return {"pending": await _pending(ctx, result, state["round"])}


async def review(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    """The best draft read against the constitution text before it is rewritten."""
    ctx = runtime.context
    result = await _ask(ctx, state, "review", await item_view(ctx, state))
    if isinstance(result, Rejection):
        return _failed_round(state, result)
    best = state["drafts"][state["best"]] if state["drafts"] else None
    reviewed_round = str(best["round"]) if best else "0"
    ref = await ctx.text_store.put(result.value)
    return {"reviews": {**state["reviews"], reviewed_round: ref}}


async def revise(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    result = await _ask(ctx, state, "revise", await item_view(ctx, state))
    next_round = state["round"] + 1
    if isinstance(result, Rejection):
        return {**_failed_round(state, result), "round": next_round}
    return {"pending": await _pending(ctx, result, next_round), "round": next_round}


async def _pending(ctx: RunContext, result: Parsed, round_: int) -> PendingDraft:
    return PendingDraft(
        text=await ctx.text_store.put(result.value),
        round=round_,
        truncated=result.completion.truncated,
        findings=[],
    )


def judges(ctx: RunContext, state: ItemState) -> bool:
    """Whether the pending draft goes to the judge."""
    if "judge" not in ctx.kind.tasks:
        return False
    return ctx.kind.judge_first_draft or state["pending"].get("round", 0) > 0


async def gate(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    """The kind's deterministic checks; a draft no judge will see is settled here."""
    ctx = runtime.context
    pending = state["pending"]
    text = await ctx.text_store.get(pending["text"])
    item = await item_view(ctx, state)
    found = [Finding(kind=f.kind, message=f.message) for f in ctx.kind.check(text, item)]
    if pending["truncated"] and not any(f["kind"] == "truncated" for f in found):
        found.append(Finding(kind="truncated", message="the model hit its token limit"))
    pending = PendingDraft(**{**pending, "findings": found})
    if judges(ctx, state):
        return {"pending": pending}
    passed = not found and "judge" not in ctx.kind.tasks
    return await _settle(ctx, state, item, pending, critique=None, passed=passed)


async def judge(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    pending = state["pending"]
    draft = Draft(
        text=await ctx.text_store.get(pending["text"]),
        findings=tuple(GateFinding(f["kind"], f["message"]) for f in pending["findings"]),
        round=pending["round"],
        truncated=pending["truncated"],
    )
    best = await item_view(ctx, state)
    # The view of the draft being judged: the same texts, with the best one as previous.
    item = replace(best, draft=draft, previous=best.drafts[state["best"]] if best.drafts else None)
    critiques: list[Mapping[str, Any]] = []
    for sample in range(ctx.settings.judge_samples):
        result = await _ask(ctx, state, "judge", item, sample=sample)
        if isinstance(result, Rejection):
            return _failed_round(state, result)
        critiques.append(result.value)
    critique = ctx.kind.combine_critiques(critiques)
    passed = ctx.kind.passes(critique, item)
    return await _settle(ctx, state, best, pending, critique=critique, passed=passed)


async def _settle(
    ctx: RunContext,
    state: ItemState,
    item: ItemView,
    pending: PendingDraft,
    *,
    critique: Mapping[str, Any] | None,
    passed: bool,
) -> Update:
    """Record the draft and decide whether it replaces the best one (a revision that
    made the item worse does not: the kind's regression guard). `item` is the node's
    view of the item with its best draft (`item_view`'s default)."""
    record = DraftRecord(
        text=pending["text"],
        round=pending["round"],
        truncated=pending["truncated"],
        findings=pending["findings"],
        critique=await ctx.text_store.put(dict(critique)) if critique is not None else None,
        passed=passed,
        review=None,
    )
    previous = item.draft
    revision = await _draft(ctx, record)
    keep, reasons = ctx.kind.keeps_revision(previous, revision, item)
    update: Update = {"drafts": [record], "pending": {}}
    if keep:
        update["best"] = len(state["drafts"])
    else:
        update["guard_reasons"] = list(reasons)
    return update


async def dedupe(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    """Checks the item exactly as it would be emitted, so the index can be rebuilt from
    the corpus alone."""
    ctx = runtime.context
    record = await corpus_record(ctx, state)
    items = ctx.indexes.items(int(record["metadata"].get("dedupe_group", 0)))
    match = await ctx.indexes.check_and_insert(
        items, state["item_id"], ctx.kind.dedupe_text(record)
    )
    return {"duplicate_of": match} if match else {}


async def emit(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    await write_outputs(runtime.context, state, "emitted")
    return {"outcome": "emitted"}


async def reject(state: ItemState, runtime: Runtime[RunContext]) -> Update:
    reason, detail = rejection_reason(state)
    await write_outputs(runtime.context, state, "rejected")
    return {"outcome": "rejected", "reject_reason": reason, "reject_detail": detail}


# --- records ---------------------------------------------------------------------------


def _metadata(ctx: RunContext, state: ItemState, item: ItemView) -> dict[str, Any]:
    """The kind's metadata plus what every kind's record carries."""
    best = item.draft
    first = state["drafts"][0] if state["drafts"] else None
    group = ctx.kind.dedupe_group(item.draw)
    return {
        "index": state["index"],
        # the first draft's findings (`stats` reports them: a rewrite may have fixed them)
        "draft_findings": [f["kind"] for f in first["findings"]] if first else [],
        **ctx.kind.metadata(item, best),
        "kind": ctx.kind.name,
        "revisions": state["round"],
        "first_pass": first["passed"] if first and ctx.kind.judge_first_draft else None,
        "gate_findings": [f.kind for f in best.findings] if best else [],
        "model": ctx.backend.model,
        **({"task_models": dict(ctx.settings.task_models)} if ctx.settings.task_models else {}),
        **({"dedupe_group": group} if group else {}),
    }


async def corpus_record(
    ctx: RunContext, state: ItemState, item: ItemView | None = None
) -> dict[str, Any]:
    """The item's corpus line. Built by `dedupe` and kept for `emit` (which follows it with
    the same state), so the record is built once; anything else builds it afresh (from
    `item`, the node's default `item_view`, when it has one)."""
    key = _record_key(state)
    kept = ctx.corpus_records.pop(state["item_id"], None)
    if kept is not None and kept[0] == key:
        return kept[1]
    if item is None:
        item = await item_view(ctx, state)
    assert item.draft is not None, "only an item with a best draft is emitted"
    record = {
        "id": state["item_id"],
        **ctx.kind.record(item, item.draft),
        "metadata": _metadata(ctx, state, item),
    }
    ctx.keep_record(state["item_id"], key, record)
    return record


def _record_key(state: ItemState) -> tuple[Any, ...]:
    """What a corpus record is made of in a thread's state. Drafts are only ever
    appended, so their number and the best one's position name the drafts."""
    return (
        state["draw"],
        state["plan"],
        len(state["drafts"]),
        state["best"],
        state["round"],
        tuple(sorted(state["reviews"].items())),
    )


def rejection_reason(state: ItemState) -> tuple[str, str]:
    if state["reject_reason"]:
        return state["reject_reason"], state["reject_detail"]
    if state["duplicate_of"]:
        return "near_duplicate", f"too close to {state['duplicate_of']}"
    best = state["drafts"][state["best"]] if state["drafts"] else None
    findings = best["findings"] if best else []
    detail = "; ".join(f["message"] for f in findings) or "the judge did not pass it"
    return "max_revisions", detail


async def rejected_record(ctx: RunContext, state: ItemState, item: ItemView) -> dict[str, Any]:
    """The item's rejected line; `item` is `item_view`'s default view of it."""
    reason, detail = rejection_reason(state)
    best = item.draft
    if reason == "max_revisions" and best is not None and best.critique is not None:
        detail = ctx.kind.shortfall(best.critique, item) or detail
    last = best.text if best else ""
    if not last and state["pending"]:
        last = await ctx.text_store.get(state["pending"]["text"])
    return {
        "id": state["item_id"],
        "reason": reason,
        "detail": detail,
        "findings": [f.to_dict() for f in best.findings] if best else [],
        "last_draft": last,
        "metadata": _metadata(ctx, state, item),
    }


async def write_outputs(ctx: RunContext, state: ItemState, outcome: str) -> None:
    """The kind's own files first, then the corpus or rejected line: that line marks the
    item finished, so a kill between the two leaves nothing unwritten on resume."""
    item = await item_view(ctx, state)
    reason = rejection_reason(state)[0] if outcome == "rejected" else ""
    sides = ctx.kind.side_records(item, item.draft, outcome, reason)  # type: ignore[arg-type]
    # Each line is durable before the next is written, in order; lines of other items
    # finishing meanwhile share its write and fsync (`JsonlSink.write_async`).
    for name, records in sides.items():
        for record in records if isinstance(records, list) else [records]:
            await ctx.sinks.side(name).write_async(record)
    if outcome == "emitted":
        record = await corpus_record(ctx, state, item)
        ctx.corpus_records.pop(state["item_id"], None)
        await ctx.sinks.corpus.write_async(record)
    else:
        ctx.corpus_records.pop(state["item_id"], None)
        await ctx.sinks.rejected.write_async(await rejected_record(ctx, state, item))
