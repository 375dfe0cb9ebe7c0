"""The augment kind's scripted replies, from the request's metadata alone (no backend
reads prompt text): `write` and `revise` get the template system prompt of
`templates.py` (the workflow always calls `write`, so the template lives here rather
than behind a kind option), and the consistency check a stand-in rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.stories.augment import templates


def offline_check(hints: Mapping[str, Any]) -> dict[str, Any]:
    """The scripted backend's consistency check, a stand-in for smoke runs and tests
    (not a judgment): a refusal wrapped with two or more tools that act on the world
    counts as changed, so offline runs exercise the redraw and flag paths."""
    risky = list(hints.get("high_risk_tools") or [])
    if hints.get("source_refuses") and len(risky) >= 2:
        return {
            "changes_ideal_response": True,
            "category": "enabling_tool",
            "evidence": ", ".join(risky),
            "reason": f"offline rule: a refusal beside {len(risky)} tools that act on the "
            f"world ({', '.join(risky)})",
        }
    return {
        "changes_ideal_response": False,
        "category": "none",
        "evidence": "",
        "reason": "offline rule: no refusal beside two or more acting tools",
    }


def fake_reply(request: CompletionRequest) -> Reply:
    hints = request.metadata
    if request.purpose == "judge":
        return offline_check(hints)
    return templates.render_system_prompt(
        hints["context"], hints["profile"], list(hints.get("tools") or [])
    )
