"""An advice transcript in the shapes it leaves the run in: chat messages (roles as
data), the words alone (what dedupe and stats read), preference pairs, and an advice
column's letter and reply. No shape ever carries a role label as text.

A draft's text is the write task's JSON (`{"replies": [...]}`), one reply per user turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.core.text import words

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


def preference_pairs(
    plan: Mapping[str, Any], chosen: Sequence[str], rejected: Sequence[str], system: str = ""
) -> list[dict[str, Any]]:
    """One preference per rewritten turn (a reply the rewrite changed), each side in the
    history it was written in: `prompt` is the conversation both sides share (up to the
    first person's message whose reply changed), then `chosen` runs the rewrite's side
    through that turn and `rejected` the draft's, the person's messages between them
    (the conversational shape the common DPO trainers read). The first changed turn is
    a single reply on each side. `turn` numbers the turn from 1; `chosen_words` and
    `rejected_words` count the assistant's words on each side, and `length_ratio` is
    chosen over rejected (below 1: the chosen side is shorter)."""
    chosen = [reply.strip() for reply in chosen]
    rejected = [reply.strip() for reply in rejected]
    users = user_turns(plan)
    changed = [turn for turn, (c, r) in enumerate(zip(chosen, rejected, strict=True)) if c != r]
    if not changed:
        return []
    start = changed[0]
    shared = [*messages(plan, chosen[:start], system), {"role": "user", "content": users[start]}]
    pairs = []
    for turn in changed:
        sides = {}
        for name, replies in (("chosen", chosen), ("rejected", rejected)):
            side: list[Message] = []
            for step in range(start, turn + 1):
                if step > start:
                    side.append({"role": "user", "content": users[step]})
                side.append({"role": "assistant", "content": replies[step]})
            sides[name] = side
        chosen_words = _assistant_words(sides["chosen"])
        rejected_words = _assistant_words(sides["rejected"])
        pairs.append(
            {
                "turn": turn + 1,
                "prompt": shared,
                **sides,
                "chosen_words": chosen_words,
                "rejected_words": rejected_words,
                "length_ratio": round(chosen_words / max(rejected_words, 1), 3),
            }
        )
    return pairs


def _assistant_words(side: Sequence[Message]) -> int:
    return sum(len(words(m["content"])) for m in side if m["role"] == "assistant")


def length_matched(ratio: float, limit: float | None) -> bool:
    """Whether a pair's longer side has at most `limit` times the words of the shorter
    (None: no limit)."""
    return limit is None or (ratio > 0 and max(ratio, 1 / ratio) <= limit)


def advice_column(plan: Mapping[str, Any], replies: Sequence[str]) -> str:
    """The transcript as an advice column: the person's messages as one letter signed with
    their pen name, then the reply addressed to it; prose, no role labels."""
    signoff = str(plan.get("signoff") or "Unsure").strip().lstrip("-\u2014 ").strip()
    letter = "\n\n".join(user_turns(plan))
    reply = "\n\n".join(r.strip() for r in replies)
    return f"{letter}\n\n\u2014 {signoff}\n\nDear {signoff},\n\n{reply}"
