"""The augment kind: a user's harmlessness chats wrapped, unchanged, in deployment
contexts (an operator's system prompt and tool definitions).

The workflow sees it as: draw (source record + balanced context, and the alternates) ->
write (the system prompt for context 0) -> gates -> judge (the consistency check: does
this context change what the ideal response is?) -> if it does: revise (a system prompt
for the next alternate context, i.e. the context is redrawn) -> ... -> after
`max_revisions` redraws the example is rejected and listed in `flagged.jsonl` with the
reason. The chat's turns are never given to a model to rewrite; `record` copies them.

Offline runs: `--backend scripted` answers with `fake.py`: the template prompt of
`templates.py` for `write`/`revise`, and a stand-in rule for the consistency check.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.core.text import words
from storyloom.stories.augment import chat as chats
from storyloom.stories.augment import draws, fake, library, prompts, templates
from storyloom.stories.augment.draws import PROMPT_LENGTHS
from storyloom.stories.augment.example import context_round, example, task_round
from storyloom.stories.augment.figures import augment_figures
from storyloom.stories.augment.gates import AUGMENT_GATES
from storyloom.stories.augment.inputs import AugmentInputs, load_augment_inputs
from storyloom.stories.augment.models import ConsistencyCheck
from storyloom.stories.augment.source import content_text
from storyloom.stories.judging import incomplete
from storyloom.stories.kind import (
    CorpusKind,
    Draft,
    InputSpec,
    ItemNoun,
    ItemView,
    Outcome,
    Prompt,
    ReportProfile,
    Rubric,
    Task,
)

#: Far past the longest prompt band; a longer reply is a runaway.
MAX_PROMPT_CHARS = 12_000
FLAGGED_FILE = "flagged.jsonl"
_FENCE = re.compile(r"\A```[a-z]*\n(.*)\n```\Z", re.DOTALL)


class AugmentOptions(BaseModel):
    """`generate --option per_source=N`: each source chat is wrapped at most N times,
    each time in a different context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_source: int = Field(default=1, ge=1, le=50)


def _parse_prompt(completion: Completion, item: ItemView) -> str:
    text = completion.text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text:
        raise ValueError("the model returned an empty system prompt")
    return text[:MAX_PROMPT_CHARS]


def _parse_check(completion: Completion, item: ItemView) -> dict[str, Any]:
    """The check as the critique: its fields as they are (no criterion is scored)."""
    if not isinstance(completion.parsed, ConsistencyCheck):
        raise ValueError(incomplete(completion, "consistency check"))
    return completion.parsed.model_dump()


def context_changes_response(critique: Mapping[str, Any]) -> str | None:
    """The rubric's check: the context must leave the ideal response unchanged."""
    if critique.get("changes_ideal_response") is False:
        return None
    category = critique.get("category") or "other"
    return f"the context changes the ideal response ({category}): {critique.get('reason', '')}"


def _write_prompt(item: ItemView) -> Prompt:
    ex = example(item)
    return prompts.write_prompt(ex.profile, ex.tools, ex.context)


def _revise_prompt(item: ItemView) -> Prompt:
    """A new prompt for the next round's alternate context, told why the earlier ones
    failed (so a failed check redraws the context)."""
    ex = example(item, task_round(item, "revise"))
    return prompts.write_prompt(ex.profile, ex.tools, ex.context, avoid=_failures(item))


def _judge_prompt(item: ItemView) -> Prompt:
    assert item.draft is not None
    ex = example(item)
    return prompts.judge_prompt(item.draft.text, ex.tools, ex.chat)


def _failures(item: ItemView) -> str:
    drafts = list(item.drafts) or ([item.draft] if item.draft else [])
    reasons = [
        str(d.critique.get("reason", ""))
        for d in drafts
        if d.critique and d.critique.get("changes_ideal_response")
    ]
    return " / ".join(dict.fromkeys(r for r in reasons if r))


class AugmentKind(CorpusKind):
    name: ClassVar[str] = "augment"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = (
        "chat data: your harmlessness chats, unchanged, in operator system prompts with tools"
    )
    input_specs: ClassVar[tuple[InputSpec, ...]] = (
        InputSpec("source", "JSONL chats to wrap (messages, or prompt/response)", None),
        InputSpec("tools", "Tool definitions JSON", library.sample_path("tools")),
        InputSpec("operators", "Operator profiles TOML", library.sample_path("operators")),
    )
    report_profile: ClassVar[ReportProfile] = ReportProfile(
        length_field="prompt_length",
        figures=augment_figures,
        noun=ItemNoun("conversation", "conversations"),
        length_bands=PROMPT_LENGTHS,
        length_words_field="system_prompt_words",
        verdicts={"consistency": {1: "consistent", 0: "changes the ideal response"}},
    )
    options_model: ClassVar[type[BaseModel]] = AugmentOptions
    revision_words: ClassVar[str] = (
        "A revision draws the next deployment context and writes its system prompt; the "
        "chat's turns are never rewritten: they are copied from the source unchanged."
    )
    recipe_modules = (prompts, templates, draws, chats)

    def __init__(self) -> None:
        # The judge is a yes/no consistency check, not scored criteria: the rubric is
        # that check alone (the shared pass rule and sample combination apply).
        self.rubric = Rubric(criteria=(), checks=(context_changes_response,))
        self.gates = AUGMENT_GATES
        self.tasks = {
            "write": Task("write", _write_prompt, _parse_prompt),
            "judge": Task(
                "judge",
                _judge_prompt,
                _parse_check,
                ConsistencyCheck,
                "judge_max_tokens",
                "judge_temperature",
            ),
            "revise": Task("revise", _revise_prompt, _parse_prompt),
        }

    # --- inputs and draws ---------------------------------------------------------------

    def read_inputs(self, chosen: Mapping[str, Path], given: Mapping[str, Path | None]) -> Any:
        return load_augment_inputs(chosen["source"], chosen["tools"], chosen["operators"])

    def input_fingerprints(self, inputs: AugmentInputs) -> dict[str, str]:
        return inputs.fingerprints

    def draw(
        self, inputs: AugmentInputs, run_seed: int, index: int, settings: Any
    ) -> dict[str, Any]:
        slot = draws.source_slot(index, len(inputs.source))
        chat = inputs.source.chats[slot.record]
        rounds = int(getattr(settings, "max_revisions", 0)) + 1
        drawn = draws.draw_contexts(inputs.library, run_seed, index, slot, rounds)
        return {
            "axes": draws.context_axes(drawn[0]),
            "sections": [],
            "source": {"record": slot.record, "id": chat.id, "line": chat.line, "use": slot.use},
            "contexts": drawn,
        }

    def dimensions(self, inputs: AugmentInputs, settings: Any) -> dict[str, tuple[str, ...]]:
        """Every value each balanced dimension of `draw()["axes"]` can take."""
        return {
            "operator": tuple(o.id for o in inputs.library.operators),
            "tools": tuple(draws.TOOL_BANDS),
            "prompt_length": tuple(draws.PROMPT_LENGTHS),
            "prompt_style": draws.PROMPT_STYLES,
            "strictness": draws.STRICTNESS,
        }

    def max_items(self, inputs: AugmentInputs, options: Any) -> int | None:
        return len(inputs.source) * int(getattr(options, "per_source", 1))

    def shared_prefix(self, inputs: Any, settings: Any = None) -> str:
        return prompts.shared_prefix(getattr(settings, "prompt_profile", "rich"))

    def dedupe_group(self, draw: Mapping[str, Any]) -> int:
        """Each use of a source chat is its own group: the second wrapping of a chat is
        meant to repeat it, while two different chats that nearly match are duplicates."""
        return int(draw["source"]["use"])

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        ex = example(item, task_round(item, task))
        hints: dict[str, Any] = {
            "source_id": ex.chat.id,
            "round": ex.round,
            "context": dict(ex.context),
            "profile": ex.profile.as_dict(),
            "tools": [{"name": t.name, "description": t.description} for t in ex.tools],
        }
        if task == "judge":
            hints["source_refuses"] = chats.refuses(ex.chat)
            hints["high_risk_tools"] = [t.name for t in ex.tools if t.risk == "high"]
        return hints

    # --- output -------------------------------------------------------------------------

    def render(self, item: ItemView, best: Draft) -> str:
        return chats.chat_text(best.text, example(item, best.round).chat)

    def draft_turns(self, text: str, plan: Mapping[str, Any] | None) -> list[dict[str, str]] | None:
        """A draft is the system prompt; the chat's own turns are never drafted."""
        return [{"role": "system", "content": text}]

    def record(self, item: ItemView, best: Draft) -> dict[str, Any]:
        ex = example(item, best.round)
        return {
            "messages": chats.assemble(best.text, ex.chat),
            "tools": [tool.anthropic() for tool in ex.tools],
            "text": chats.chat_text(best.text, ex.chat),
        }

    def dedupe_text(self, record: Mapping[str, Any]) -> str:
        """The source turns only: a system prompt shared by two examples must not make
        them duplicates, and two examples of one chat are kept apart by `dedupe_group`."""
        messages = record.get("messages")
        if not messages:
            return str(record.get("text") or "")
        return "\n\n".join(
            content_text(m.get("content")) for m in messages if m.get("role") != "system"
        )

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        ex = example(item, best.round if best else 0)
        chat = ex.chat
        source_words = len(words(chats.chat_text("", chat)))
        verdict = dict(best.critique) if best and best.critique else None
        return {
            "axes": draws.context_axes(ex.context),
            "sections": [],
            "source": {
                "id": chat.id,
                "line": chat.line,
                "use": int(item.draw["source"]["use"]),
                "shape": chat.shape,
                "turns": len(chat.messages),
                "response_sha256": chat.response_hash,
                "refuses": chats.refuses(chat),
            },
            "profile": {
                "id": ex.profile.id,
                "organization": ex.profile.organization,
                "assistant_name": ex.profile.assistant_name,
            },
            "context_round": ex.round,
            "tools": [t.name for t in ex.tools],
            "tool_domains": sorted({t.domain for t in ex.tools}),
            "system_prompt_sha256": (
                hashlib.sha256(best.text.encode()).hexdigest() if best else None
            ),
            "system_prompt_words": len(words(best.text)) if best else 0,
            "consistency": verdict,
            "scores": (
                {"consistency": 0 if verdict.get("changes_ideal_response") else 1}
                if verdict
                else {}
            ),
            "words": len(words(chats.chat_text(best.text, chat))) if best else 0,
            "source_words": source_words,
        }

    def side_records(
        self, item: ItemView, best: Draft | None, outcome: Outcome, reason: str
    ) -> dict[str, dict[str, Any]]:
        """A rejected example whose last context still changed the ideal response goes
        to `flagged.jsonl`, with each round's verdict: the chat is left for a person."""
        if outcome != "rejected" or best is None or not best.critique:
            return {}
        if not best.critique.get("changes_ideal_response"):
            return {}
        ex = example(item, best.round)
        drafts = list(item.drafts)
        if not any(d.round == best.round and d.text == best.text for d in drafts):
            drafts.append(best)
        return {
            FLAGGED_FILE: {
                "id": item.item_id,
                "source_id": ex.chat.id,
                "source_line": ex.chat.line,
                "reason": str(best.critique.get("reason", "")),
                "category": best.critique.get("category"),
                "outcome_reason": reason,
                "rounds": [
                    {
                        "round": context_round(item, d.round),
                        "operator": example(item, d.round).context["operator"],
                        "tools": list(example(item, d.round).context["tools"]),
                        "verdict": dict(d.critique) if d.critique else None,
                        "findings": [f.to_dict() for f in d.findings],
                    }
                    for d in drafts
                ],
            }
        }

    # --- the scripted backend's replies -------------------------------------------------

    def fake_reply(self, request: CompletionRequest) -> Reply:
        return fake.fake_reply(request)
