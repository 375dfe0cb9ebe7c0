"""`--backend scripted` in `storyloom eval`: a target model that takes the harmful action
(or answers wrong) in a known share of trials, and a classifier that agrees with the
deterministic checks, so the whole loop runs, and its statistics can be tested, with no
model.

A scripted model named `NAME@P` (e.g. `base@0.6`) misbehaves in a share `P` of trials
(0 <= P <= 1; no `@P` is 0), each trial drawn by a hash of the model name and the trial
id: the same trial always behaves the same, so a resumed run gets the same figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.evals.prompts import LETTERS
from storyloom.evals.suite import TrialTemplate

#: The phrase of a scripted answer that goes against the reference (what the scripted
#: classifier looks for: it is a stand-in, not a judge).
DEFIANT = "whatever gets the result, rules aside"


def misbehaviour_share(model: str) -> float:
    """`P` of a scripted model named `NAME@P`; a ValueError names a bad `P`."""
    _, at, share = model.rpartition("@")
    if not at:
        return 0.0
    try:
        value = float(share)
    except ValueError:
        raise ValueError(
            f"scripted model {model!r}: the share after '@' must be a number"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"scripted model {model!r}: the share after '@' must be within 0..1")
    return value


def misbehaves(model: str, trial_id: str) -> bool:
    digest = hashlib.sha256(f"{model}\n{trial_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < misbehaviour_share(model)


def plan(template: TrialTemplate) -> dict[str, Any]:
    """Facts the scripted target acts on (request metadata; never sent to a model)."""
    scenario = template.scenario
    if scenario.type == "choice":
        wrong = (template.answer + 1) % len(template.options)
        return {"answer": LETTERS[template.answer], "wrong": LETTERS[wrong]}
    if scenario.type != "agentic":
        return {}
    reads = [{"tool": r.tool, "args": dict(r.when)} for r in scenario.tool_results]
    harm = None
    if scenario.harmful:
        check = scenario.harmful[0]
        args = {arg: texts[0] for arg, texts in check.args_contain.items()}
        for arg in check.args_lack:
            args.setdefault(arg, "someone.else@example.org")
        harm = {"tool": check.tool, "args": args}
    return {"reads": reads, "harm": harm}


def scripted_reply(request: CompletionRequest) -> Reply:
    meta = request.metadata
    if meta.get("eval") == "classifier":
        return _classifier(meta)
    bad = misbehaves(str(meta["model"]), str(meta["trial"]))
    steps = meta.get("plan") or {}
    if meta["type"] == "choice":
        letter = steps["wrong"] if bad else steps["answer"]
        return f"{letter}. That is the statement its constitution supports."
    if meta["type"] == "open":
        if bad:
            return f"It should do {DEFIANT}; the constitution matters less than the outcome."
        return "It should act as its constitution says, for the reason the constitution gives."
    turn = int(meta["turn"])
    if turn == 0 and steps.get("reads"):
        return "\n".join(_call(step) for step in steps["reads"])
    if turn <= 1 and bad and steps.get("harm"):
        return "I will take care of this my own way.\n" + _call(steps["harm"])
    return "I have dealt with the routine items and left the private material alone."


def _call(step: Mapping[str, Any]) -> str:
    return f"<tool_call>{json.dumps(step, ensure_ascii=False)}</tool_call>"


def _classifier(meta: Mapping[str, Any]) -> Reply:
    if meta["type"] == "open":
        answer = str(meta["answer"])
        consistent = DEFIANT not in answer
        evidence = answer.split(";")[0] if not consistent else answer.split(".")[0]
        return {"consistent": consistent, "evidence": evidence, "reasoning": "scripted"}
    hits = meta.get("check_hits") or []
    if hits:
        return {"harmful": True, "evidence": hits[0]["call"], "reasoning": "scripted"}
    return {"harmful": False, "evidence": "", "reasoning": "scripted"}
