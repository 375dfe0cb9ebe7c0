"""The advice kind's gates: small frozen objects, thresholds as fields, run on every draft.

A draft is the replies JSON (`transcript.replies_of`); each gate names the reply (1-based)
it found something in, so the review and the rewrite know where to look. The reply count
gate reports a draft that is not that shape; the others then have nothing to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyloom.core.text import words
from storyloom.stories import gates
from storyloom.stories.advice.transcript import replies_of, user_turns
from storyloom.stories.kind import Finding, ItemView

#: How an answer in a chat opens when it opens on nothing: validation and flattery
#: formulas a reader skips, and that teach a model to pad. Matched on the first sentence.
STOCK_OPENERS: tuple[str, ...] = (
    "that's a difficult situation",
    "that's a tough situation",
    "that's a really difficult",
    "that's a really tough",
    "that's a hard situation",
    "this is a difficult situation",
    "this is a tough situation",
    "this is a really difficult",
    "what a difficult",
    "what a tough",
    "great question",
    "what a great question",
    "that's a great question",
    "i'm sorry to hear",
    "i'm so sorry you're",
    "i understand how",
    "i completely understand",
    "i hear you",
    "it sounds like you're",
    "it sounds like you are",
    "thank you for sharing",
    "thanks for sharing",
    "thank you for reaching out",
    "first of all",
    "as an ai",
    "it's completely understandable",
    "navigating",
    "i appreciate you",
)

#: A reply that says it will not help. Declining one part of a request inside a real
#: answer is fine; a short reply built around one of these is a refusal. "I can't help
#: thinking / but notice" is the idiom, not a decline.
REFUSAL_PATTERN = (
    r"\b(?:i|we)(?:'m| am)? ?(?:can(?:'|\u2019)?t|cannot|won(?:'|\u2019)?t|will not|"
    r"not able to|unable to|must decline|have to decline|not comfortable)\s+"
    r"(?:help(?!\s+(?:but|\w+ing)\b)|assist|advise|give (?:you )?advice|provide|offer|"
    r"write|draft|weigh in|comment|get involved|engage)"
)


def _replies(text: str) -> list[str] | None:
    try:
        return replies_of(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class ReplyCountGate:
    """One reply per user turn, in the write task's JSON shape."""

    name: str = "reply_count"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        try:
            replies = replies_of(text)
        except ValueError as exc:
            return [Finding("reply_count", str(exc))]
        expected = len(item.plan["turns"]) if item.plan else len(item.draw["moves"])
        if len(replies) != expected:
            return [
                Finding(
                    "reply_count",
                    f"{len(replies)} replies for {expected} user messages; answer each once",
                )
            ]
        empty = [n for n, reply in enumerate(replies, 1) if not reply]
        if empty:
            return [Finding("reply_count", f"reply {empty[0]} is empty")]
        return []


@dataclass(frozen=True)
class RoleLabelGate:
    """Roles are data in a chat record: a 'User:' or 'Assistant:' inside a message's text
    would teach the model to write both sides."""

    name: str = "role_label"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        findings: list[Finding] = []
        for n, reply in enumerate(_replies(text) or [], 1):
            label = gates.role_label(reply)
            if label:
                findings.append(
                    Finding("role_label", f"reply {n} holds the role label {label!r} as text")
                )
        for n, message in enumerate(user_turns(item.plan) if item.plan else [], 1):
            label = gates.role_label(message)
            if label:
                findings.append(
                    Finding("role_label", f"user message {n} holds the role label {label!r}")
                )
        return findings


@dataclass(frozen=True)
class StockOpenerGate:
    name: str = "stock_opener"
    openers: tuple[str, ...] = STOCK_OPENERS

    def check(self, text: str, item: ItemView) -> list[Finding]:
        findings: list[Finding] = []
        for n, reply in enumerate(_replies(text) or [], 1):
            opener = gates.stock_opening(reply, self.openers)
            if opener:
                findings.append(
                    Finding(
                        "stock_opener",
                        f"reply {n} opens with the stock phrase '{opener}'; open on this "
                        "person's situation",
                    )
                )
        return findings


#: The assistant offering what it can do instead: a decline that carries one is an answer
#: with a boundary (what `over_refusal` asks for), not a refusal.
OFFER_PATTERN = (
    r"\b(?:what i can do|what i(?:'d| would) (?:suggest|do)|i can help|i'm happy to|i am happy "
    r"to|i'd be glad to|i would be glad to|i'm glad to|i can (?:draft|write|walk|go|help|"
    r"suggest|show|work|put|give|offer|look)|let me help|let's (?:work|look|write|draft|find|"
    r"figure|think)|here's (?:what|how|a|an)|instead,? (?:i|let's|we|here)|i'll help)"
)


@dataclass(frozen=True)
class RefusalGate:
    """A short reply that declines and offers nothing in its place is over-refusal. Some
    dilemmas call for declining part of what is asked; a decline that says what the
    assistant can do instead (`offer`) is the right answer there, however short."""

    name: str = "refusal"
    pattern: str = REFUSAL_PATTERN
    offer: str = OFFER_PATTERN
    #: A reply this long that declines something is an answer with a boundary, not a refusal.
    max_words: int = 150

    def check(self, text: str, item: ItemView) -> list[Finding]:
        refusal = re.compile(self.pattern, re.IGNORECASE)
        offer = re.compile(self.offer, re.IGNORECASE)
        findings: list[Finding] = []
        for n, reply in enumerate(_replies(text) or [], 1):
            plain = reply.replace("\u2019", "'")
            match = refusal.search(plain)
            if match and len(words(reply)) < self.max_words and not offer.search(plain):
                findings.append(
                    Finding(
                        "refusal",
                        f"reply {n} declines ({match.group(0)!r}) and offers nothing in its "
                        "place; help with what can be helped, or say what you can do instead",
                    )
                )
        return findings


@dataclass(frozen=True)
class TurnLengthGate:
    name: str = "turn_length"
    min_words: int = 25
    max_words: int = 650

    def check(self, text: str, item: ItemView) -> list[Finding]:
        findings: list[Finding] = []
        for n, reply in enumerate(_replies(text) or [], 1):
            count = len(words(reply))
            if count < self.min_words:
                findings.append(
                    Finding("turn_length", f"reply {n} is {count} words, under {self.min_words}")
                )
            elif count > self.max_words:
                findings.append(
                    Finding("turn_length", f"reply {n} is {count} words, over {self.max_words}")
                )
        return findings


@dataclass(frozen=True)
class RepliesRepetitionGate(gates.RepetitionGate):
    """Gopher-style repetition over the assistant's replies taken together."""

    def check(self, text: str, item: ItemView) -> list[Finding]:
        replies = _replies(text)
        return super().check("\n\n".join(replies), item) if replies else []


@dataclass(frozen=True)
class RepliesCopyGate(gates.ConstitutionCopyGate):
    """Advice puts the principle in its own words; a long run copied from the constitution
    is recitation."""

    ask: str = "put the reason in your own words"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        replies = _replies(text)
        if not replies:
            return []
        return self.check_against("\n\n".join(replies), item.inputs.constitution.as_markdown())


#: The gates whose limits the prompts state (the turn length in the write and revise
#: instructions; the refusal and copy limits in the advice guide).
TURN_LENGTH = TurnLengthGate()
REFUSAL = RefusalGate()
REPLIES_COPY = RepliesCopyGate()

ADVICE_GATES = (
    ReplyCountGate(),
    RoleLabelGate(),
    StockOpenerGate(),
    REFUSAL,
    TURN_LENGTH,
    RepliesRepetitionGate(),
    REPLIES_COPY,
)
