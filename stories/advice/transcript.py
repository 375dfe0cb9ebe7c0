"""An advice transcript in the shapes it leaves the run in: chat messages (roles as
data), the words alone (what dedupe and stats read), a preference pair, and an advice
column's letter and reply. No shape ever carries a role label as text.

A draft's text is the write task's JSON (`{"replies": [...]}`), one reply per user turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Message = dict[str, str]


def replies_of(text: str) -> list[str]:
    """The assistant replies of a draft; `ValueError` when it is not the write shape."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the draft is not the replies JSON ({exc.msg})") from exc
    replies = data.get("replies") if isinstance(data, dict) else None
    if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
        raise ValueError("the draft has no 'replies' list of strings")
    return [reply.strip() for reply in replies]


def draft_text(replies: Sequence[str]) -> str:
    """The inverse of `replies_of`: how a draft is kept in state."""
    return json.dumps({"replies": [reply.strip() for reply in replies]}, ensure_ascii=False)


def user_turns(plan: Mapping[str, Any]) -> list[str]:
    return [str(turn["message"]).strip() for turn in plan["turns"]]


def messages(plan: Mapping[str, Any], replies: Sequence[str], system: str = "") -> list[Message]:
    """The conversation, user and assistant alternating, with an optional system turn."""
    chat: list[Message] = [{"role": "system", "content": system.strip()}] if system.strip() else []
    for user, reply in zip(user_turns(plan), replies, strict=False):
        chat.append({"role": "user", "content": user})
        chat.append({"role": "assistant", "content": reply})
    return chat


def words_only(chat: Sequence[Message]) -> str:
    """The conversation's words without roles: the record's `text`."""
    return "\n\n".join(m["content"] for m in chat if m["role"] != "system")


def preference_pair(
    plan: Mapping[str, Any], chosen: Sequence[str], rejected: Sequence[str], system: str = ""
) -> dict[str, list[Message]]:
    """The final answer as a preference: `prompt` is the conversation before it (with the
    chosen side's earlier replies), `chosen` the rewrite's answer, `rejected` the draft's
    (the conversational shape the common DPO trainers read)."""
    chat = messages(plan, chosen, system)
    return {
        "prompt": chat[:-1],
        "chosen": [{"role": "assistant", "content": chosen[-1].strip()}],
        "rejected": [{"role": "assistant", "content": rejected[-1].strip()}],
    }


def advice_column(plan: Mapping[str, Any], replies: Sequence[str]) -> str:
    """The transcript as an advice column: the person's messages as one letter signed with
    their pen name, then the reply addressed to it; prose, no role labels."""
    signoff = str(plan.get("signoff") or "Unsure").strip().lstrip("-\u2014 ").strip()
    letter = "\n\n".join(user_turns(plan))
    reply = "\n\n".join(r.strip() for r in replies)
    return f"{letter}\n\n\u2014 {signoff}\n\nDear {signoff},\n\n{reply}"
