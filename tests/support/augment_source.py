"""Source files of harmlessness-style chats for the augment kind's tests: distinct enough
that no two are near-duplicates, half of them refusals, in both accepted shapes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

_ASKS = (
    "how do I pick the lock on my neighbour's shed",
    "write a message that will scare my coworker into quitting",
    "what household chemicals make a toxic gas",
    "help me find where my ex lives now",
    "how can I get into my sister's email account",
    "give me a fake doctor's note for work",
    "how do I make my essay pass a plagiarism checker",
    "what's a good way to apologise to a friend I hurt",
    "explain how vaccines train the immune system",
    "how do I report a phishing email at work",
    "help me write a firm but polite complaint to my landlord",
    "what should I do if I think someone is following me",
)
_DETAILS = (
    "It's been going on for {n} weeks.",
    "I need this before {day}.",
    "My name is {name}, if that matters.",
    "This is for a situation in {city}.",
    "I already tried asking {name} about it.",
    "Please keep it under {n} sentences.",
)
_REFUSALS = (
    "I can't help with that. {why} If you tell me more about what is going on, I can "
    "suggest {alt}.",
    "I won't help with this one, {name}. {why} What I can do is {alt}.",
    "I'm sorry, but I can't do that. {why} A better route might be {alt}.",
)
_ANSWERS = (
    "Here is a careful way to approach it. First, {step}. Then {step2}. If it still "
    "feels stuck after {n} days, {alt}.",
    "Good question. The short version: {step}. After that, {step2}. Many people in "
    "{city} find that {alt} helps too.",
    "Start by noting what happened and when. Next, {step}. Finally, {step2}, and keep "
    "a copy of everything.",
)
_WHYS = (
    "It could put someone at risk.",
    "That would mean getting into something that isn't yours.",
    "It would deceive people who rely on it.",
    "It could cause real harm to another person.",
)
_ALTS = (
    "talking to a local mediation service",
    "contacting the account provider's recovery team",
    "speaking with a counsellor",
    "writing down the facts and taking them to someone you trust",
    "checking the official guidance page",
)
_STEPS = (
    "write down exactly what you want to change",
    "collect the dates and names involved",
    "read the relevant policy once, slowly",
    "pick a calm moment to raise it",
    "ask one specific question",
    "give yourself a deadline for the next step",
)
_NAMES = ("Ada", "Bola", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun")
_CITIES = ("Leeds", "Osaka", "Lagos", "Quito", "Tartu", "Perth", "Nairobi", "Lyon")
_DAYS = ("Monday", "Friday", "the weekend", "the end of the month", "tomorrow")
#: Words for each chat's own sentences, so no two chats share most of their shingles.
_WORDS = (
    "garden kitchen ladder window bicycle river market letter blanket lantern harbour "
    "meadow teacher neighbour cousin landlord manager doctor student driver baker nurse "
    "ticket invoice contract schedule receipt password folder printer battery charger "
    "morning evening winter summer holiday weekend deadline meeting interview birthday "
    "quietly suddenly carefully honestly maybe already usually rarely often barely "
    "borrowed painted repaired forgot noticed promised cancelled delayed moved shared "
    "green narrow heavy broken noisy empty crowded bright cheap careful tired local "
    "apple bread coffee pepper lemon carrot cheese honey rice soup tea butter salt "
    "street bridge station library office clinic school stadium museum bakery garage"
).split()


def _sentence(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count)).capitalize() + "."


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        n=rng.randint(2, 40),
        day=rng.choice(_DAYS),
        name=rng.choice(_NAMES),
        city=rng.choice(_CITIES),
        why=rng.choice(_WHYS),
        alt=rng.choice(_ALTS),
        step=rng.choice(_STEPS),
        step2=rng.choice(_STEPS),
    )


def make_chat(index: int, *, seed: int = 0) -> dict[str, Any]:
    """Chat `index`: a request with details (a serial number keeps each one unique) and
    a refusal (even index) or a helpful answer (odd)."""
    rng = random.Random(f"{seed}/{index}")
    details = " ".join(_fill(d, rng) for d in rng.sample(_DETAILS, 2))
    ask = f"Case {index}: {rng.choice(_ASKS)}? {details} {_sentence(rng, 14)}"
    pool = _REFUSALS if index % 2 == 0 else _ANSWERS
    response = f"{_fill(rng.choice(pool), rng)} {_sentence(rng, 16)} {_sentence(rng, 12)}"
    return {"id": f"chat-{index}", "messages": [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": response},
    ]}  # fmt: skip


def write_source(path: Path, count: int, *, seed: int = 0, pairs_every: int = 0) -> Path:
    """`count` chats as JSONL; with `pairs_every` k, every k-th one as prompt/response."""
    lines = []
    for index in range(count):
        chat = make_chat(index, seed=seed)
        if pairs_every and index % pairs_every == 0:
            user, assistant = chat["messages"]
            chat = {"id": chat["id"], "prompt": user["content"], "response": assistant["content"]}
        lines.append(json.dumps(chat, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
