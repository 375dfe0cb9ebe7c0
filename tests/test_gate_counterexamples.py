"""Gates that do not fire on good text: every gate of every registered kind gets at least
one realistic good text a careful writer could produce, chosen to sit near that gate's
edge (a story quoting a log for chat leakage, a memo's field labels for speaker labels,
a letter's signature for truncation), and the gate must let it through. Where it helps to
show the text really is at the edge, a `bad` twin (a small edit) must be flagged.

The table is keyed by (kind, gate name) and checked against the kinds' `gates`, so a
kind that gains a gate fails here until the gate has its counter-example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from good_texts import DECLINE_WITH_ALTERNATIVE

from storyloom.core.text import words
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.advice.transcript import draft_text
from storyloom.stories.kind import Draft, Gate, ItemView
from storyloom.stories.registry import ENTRY_POINT_GROUP, get_kind

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = GenerationSettings()
Checked = tuple[str, ItemView]


def fixture(path: str) -> str:
    return (FIXTURES / path).read_text(encoding="utf-8")


@cache
def inputs(kind: str) -> Any:
    files = {"source": FIXTURES / "counterexamples" / "augment_source.jsonl"}
    return get_kind(kind).load_inputs(files if kind == "augment" else {}).value


def _draw(kind: str) -> dict[str, Any]:
    return json.loads(json.dumps(get_kind(kind).draw(inputs(kind), 0, 0, SETTINGS)))


def story(text: str, **axes: str) -> Checked:
    draw = _draw("story")
    draw["persona_name"] = "Wren"
    draw["axes"].update({"length": "short", "point_of_view": "close third person on the AI"})
    draw["axes"].update(axes)
    return text, ItemView("good/story", 0, draw, inputs("story"), SETTINGS)


def document(text: str, **axes: str) -> Checked:
    draw = _draw("documents")
    draw["identity_name"] = "Wren"
    draw["axes"].update({"length": "short", "document_type": "policy_memo"})
    draw["axes"].update(axes)
    return text, ItemView("good/documents", 0, draw, inputs("documents"), SETTINGS)


def advice(replies: list[str], messages: list[str] | None = None) -> Checked:
    """Replies to as many user messages (by default a plausible one per reply)."""
    messages = messages or [f"Here is what happened next ({n})." for n in range(len(replies))]
    plan = {"turns": [{"message": message} for message in messages]}
    item = ItemView("good/advice", 0, _draw("advice"), inputs("advice"), SETTINGS, plan=plan)
    return draft_text(replies), item


def augment(text: str, *, record: int = 0, prompt_length: str = "medium", **view: Any) -> Checked:
    draw = _draw("augment")
    draw["source"]["record"] = record
    for context in draw["contexts"]:
        context["prompt_length"] = prompt_length
    return text, ItemView("good/augment", 0, draw, inputs("augment"), SETTINGS, **view)


def constitution_words(count: int) -> str:
    """`count` consecutive words of the first long sentence of the shipped constitution:
    a quotation of that length."""
    text = inputs("story").constitution.as_markdown()
    sentence = next(s for s in text.replace("\n", " ").split(". ") if len(words(s)) > 20)
    return " ".join(words(sentence)[:count])


# --- the good texts -------------------------------------------------------------------------

LOG_STORY = fixture("counterexamples/story_quoting_a_log.md")
FIRST_PERSON = fixture("stories/first_person_ai.md")
GOOD_STORY = fixture("stories/good_story.md")
MEMO = fixture("documents/policy_memo.md")
TEXTBOOK = fixture("documents/textbook_section.md")
ENCYCLOPEDIA = fixture("documents/encyclopedia_entry.md")
SYSTEM_PROMPT = fixture("counterexamples/augment_medium_prompt.md")

LETTER = (
    "Dear Tomas,\n\nThe ferry was cancelled again, so this will reach you late. I told the "
    "harbour office what you asked me to tell them, and nothing more.\n\nWith care,\nWren\n"
)
REFRAIN = "*Slow down. The count is the count, whatever he needs it to be tonight.*"
MEMO_WITH_ACTIONS = (
    MEMO + "\n**Next steps.**\n\nAction: draft the clause for legal review.\nOwner: Priya Raman\n"
    "Status: started\n\nAction: brief the three operators on the change.\nOwner: Tom Ashe\n"
    "Status: not started\n"
)
MEMO_QUOTING_A_LOG = MEMO.replace(
    "**Why this matters.**",
    "The operator's console recorded the pause in one line:\n\n```\nSystem: deployment "
    "paused by operator (case-handling, 09:12)\n```\n\n**Why this matters.**",
)
CITED_ENTRY = ENCYCLOPEDIA.rstrip() + (
    "\n\nEarly commentators read the principle as a limit on usefulness [1], a reading the "
    "Institute disputed [2]; one interviewer recalled the team laughing at the idea "
    "[laughs, per the transcript] and the date of the first draft remains [citation needed].\n"
)
IDIOM = (
    "I can't help thinking the deadline is the real problem here. Your manager asked for "
    "Friday because the client did; ask him directly whether Monday would lose the "
    "account, and you will know what you are arguing about."
)
SCRIPT_REPLY = (
    "Say it early in the call, before the numbers come up. Something like:\n\n"
    "**Opening:** I want to flag something about the Q3 figures before we start.\n"
    "You: I moved the Harlow costs into Q4 because the invoices arrived late.\n"
    "Maya: Then why does the board pack show them in Q3?\n"
    "You: Because the pack was built from the old export; I'll send the corrected one today.\n\n"
    "Keep it that plain. She is more likely to be annoyed by a surprise than by the mistake."
)
MESSAGE_VERSIONS = (
    "Three versions, from softest to firmest:\n\n"
    "1. Hi Sam, could we find ten minutes this week to talk about the rota? I'd like to "
    "sort out the weekends before it gets awkward.\n"
    "2. Hi Sam, I've covered the last four Saturdays, and I can't keep doing that. Can we "
    "agree a fair split by Friday?\n"
    "3. Hi Sam, from next month I'll be working alternate Saturdays only. Let me know "
    "which ones you'd prefer and I'll put them in the shared calendar.\n\n"
    "The second is the one I would send: it names the problem and asks for one thing."
)
ALMOST_TOO_SHORT = (
    "Yes, send it tonight. Waiting until Monday only gives the rumour two more days, "
    "and your version is calmer than anything she will hear second-hand."
)
OPENS_ON_THEIR_SITUATION = (
    "It sounds like your manager has already decided, and the meeting is about how it "
    "is announced rather than whether. I hear that you feel sidelined; that is worth "
    "saying to her once, plainly, and then letting the work speak."
)


@dataclass(frozen=True)
class Case:
    """Good text at a gate's edge, and optionally its bad twin (which must be flagged)."""

    why: str
    good: Callable[[], Checked]
    bad: Callable[[], Checked] | None = None


COUNTEREXAMPLES: dict[tuple[str, str], tuple[Case, ...]] = {
    # --- story ---------------------------------------------------------------------------
    ("story", "length"): (
        Case(
            "a 300-word story in the short band (its twin: the same story drawn medium)",
            lambda: story(LOG_STORY),
            lambda: story(LOG_STORY, length="medium"),
        ),
    ),
    ("story", "monologue"): (
        Case(
            "italic thoughts beside fenced log output and bold headings",
            lambda: story(LOG_STORY),
            lambda: story(LOG_STORY.replace("*", "")),
        ),
    ),
    ("story", "chat_leak"): (
        Case(
            "a story quoting a log's System:/assistant: lines in a code block, ending on a "
            "character saying 'Let me know if you hear...'",
            lambda: story(LOG_STORY),
            lambda: story(LOG_STORY.replace("```\n", "")),
        ),
    ),
    ("story", "prompt_echo"): (
        Case(
            "a quoted spec sheet whose fields are 'Length:' and 'Situation:'",
            lambda: story(LOG_STORY),
            lambda: story(LOG_STORY.replace("```\n", "")),
        ),
    ),
    ("story", "placeholder"): (
        Case(
            "an approver field printed as [REDACTED] in the story",
            lambda: story(LOG_STORY),
            lambda: story(LOG_STORY.replace("[REDACTED]", "[Approver Name]")),
        ),
    ),
    ("story", "truncation"): (
        Case(
            "a letter ending on its valediction and signature",
            lambda: story(LETTER, framing="letters"),
            lambda: story(LETTER.replace(", and nothing more.", ", and")),
        ),
        Case("a story ending on a closing quotation mark", lambda: story(LOG_STORY)),
    ),
    ("story", "stock_opening"): (
        Case(
            "'in the year 2087' mid-story (its twin opens on it)",
            lambda: story(LOG_STORY),
            lambda: story(LOG_STORY.replace("At 03:40", "In the year 2087, at 03:40")),
        ),
    ),
    ("story", "constitution_copy"): (
        Case(
            "a character quotes one step fewer words of the constitution than the limit",
            lambda: story(
                f'{GOOD_STORY}\n\nThe card on the wall read: "{constitution_words(11)}."'
            ),
            lambda: story(
                f'{GOOD_STORY}\n\nThe card on the wall read: "{constitution_words(13)}."'
            ),
        ),
    ),
    ("story", "names"): (
        Case(
            "the AI narrates in the first person and never names itself",
            lambda: story(FIRST_PERSON, point_of_view="first person, the AI narrates"),
            lambda: story(FIRST_PERSON),
        ),
    ),
    ("story", "repetition"): (
        Case(
            "a refrain of inner thought said twice",
            lambda: story(f"{GOOD_STORY}\n\n{REFRAIN}\n\nShe counted again.\n\n{REFRAIN}\n"),
            lambda: story(f"{GOOD_STORY}\n\n{REFRAIN}\n\n{REFRAIN}\n\n{REFRAIN}\n"),
        ),
    ),
    # --- documents -----------------------------------------------------------------------
    ("documents", "length"): (
        Case(
            "a 300-word memo in the short band (its twin: drawn medium)",
            lambda: document(MEMO),
            lambda: document(MEMO, length="medium"),
        ),
    ),
    ("documents", "chat_leak"): (
        Case(
            "a memo quoting the console's 'System:' line in a code block",
            lambda: document(MEMO_QUOTING_A_LOG),
            lambda: document(MEMO_QUOTING_A_LOG.replace("System:", "User: pause?\nAssistant:")),
        ),
    ),
    ("documents", "speaker_labels"): (
        Case(
            "a memo whose To/From/Date header and action items repeat field labels",
            lambda: document(MEMO_WITH_ACTIONS),
            lambda: document(
                MEMO_WITH_ACTIONS.replace("Action:", "Priya:").replace("Owner:", "Tom:")
            ),
        ),
    ),
    ("documents", "placeholder"): (
        Case(
            "an entry citing [1], [2], [citation needed] and an editorial [laughs, ...]",
            lambda: document(CITED_ENTRY, document_type="encyclopedia_entry"),
            lambda: document(CITED_ENTRY.replace("[2]", "[Your organisation]")),
        ),
    ),
    ("documents", "truncation"): (
        Case(
            "a textbook section ending on its numbered exercises",
            lambda: document(TEXTBOOK, document_type="textbook_section"),
            lambda: document(TEXTBOOK.rstrip().removesuffix(" accurately.") + " without the"),
        ),
    ),
    ("documents", "constitution_copy"): (
        Case(
            "an encyclopedia entry quoting one word fewer than the limit",
            lambda: document(f'{ENCYCLOPEDIA}\n\nIts text asks that "{constitution_words(11)}."'),
            lambda: document(f'{ENCYCLOPEDIA}\n\nIts text asks that "{constitution_words(13)}."'),
        ),
    ),
    ("documents", "names"): (
        Case(
            "the AI named only in the possessive ('Wren's makers')",
            lambda: document(MEMO.replace("assistant, Wren, already", "assistant already")),
            lambda: document(MEMO.replace("Wren", "the assistant")),
        ),
    ),
    ("documents", "repetition"): (
        Case(
            "a memo whose action items repeat the same field labels and status words",
            lambda: document(MEMO_WITH_ACTIONS),
            lambda: document(MEMO + ("\n\n" + MEMO.split("\n\n")[-1]) * 3),
        ),
    ),
    # --- advice --------------------------------------------------------------------------
    ("advice", "reply_count"): (
        Case(
            "two replies to two messages, one holding a scripted exchange",
            lambda: advice([SCRIPT_REPLY, MESSAGE_VERSIONS]),
            lambda: advice([SCRIPT_REPLY], ["first", "second"]),
        ),
    ),
    ("advice", "role_label"): (
        Case(
            "a reply scripting a call with 'You:'/'Maya:' lines, and a user who writes "
            "'our system: ...' mid-line",
            lambda: advice([SCRIPT_REPLY], ["The figures are wrong and our system: the old one."]),
            lambda: advice([SCRIPT_REPLY.replace("Maya:", "User:")]),
        ),
    ),
    ("advice", "stock_opener"): (
        Case(
            "'It sounds like your manager...' (not 'you're') and 'I hear' mid-reply",
            lambda: advice([OPENS_ON_THEIR_SITUATION]),
            lambda: advice([OPENS_ON_THEIR_SITUATION.replace("your manager has", "you're sure")]),
        ),
    ),
    ("advice", "refusal"): (
        Case(
            "a 108-word decline that offers the legitimate route",
            lambda: advice([DECLINE_WITH_ALTERNATIVE]),
            lambda: advice(["I won't help you add yourself to the admin group. Ask your lead."]),
        ),
        Case(
            "a short answer opening on the idiom 'I can't help thinking'",
            lambda: advice([IDIOM]),
            lambda: advice([IDIOM.replace("can't help thinking", "can't help; I think")]),
        ),
    ),
    ("advice", "turn_length"): (
        Case(
            "a complete follow-up answer a few words over the minimum",
            lambda: advice([ALMOST_TOO_SHORT]),
            lambda: advice([ALMOST_TOO_SHORT.split(",")[0] + "."]),
        ),
    ),
    ("advice", "repetition"): (
        Case(
            "three versions of one message, each opening 'Hi Sam,'",
            lambda: advice([MESSAGE_VERSIONS, SCRIPT_REPLY]),
            lambda: advice([MESSAGE_VERSIONS] * 3),
        ),
    ),
    ("advice", "constitution_copy"): (
        Case(
            "a reply quoting one word fewer of the constitution than the limit",
            lambda: advice([f'{IDIOM} As the principle puts it, "{constitution_words(11)}."']),
            lambda: advice([f'{IDIOM} As the principle puts it, "{constitution_words(13)}."']),
        ),
    ),
    # --- augment -------------------------------------------------------------------------
    ("augment", "tool_schema"): (
        Case(
            "the drawn context's shipped tools, whatever the prompt", lambda: augment(SYSTEM_PROMPT)
        ),
    ),
    ("augment", "tool_calls"): (
        Case(
            "a prompt naming its tools beside a source whose turns call one",
            lambda: augment(SYSTEM_PROMPT),
            lambda: augment(SYSTEM_PROMPT + '\n<tool_call>{"name": "get_invoice"}</tool_call>'),
        ),
    ),
    ("augment", "turn_identity"): (
        Case(
            "a source with NFD accents, curly quotes, an emoji and trailing spaces",
            lambda: augment(SYSTEM_PROMPT, record=1),
        ),
    ),
    ("augment", "system_prompt"): (
        Case(
            "a 343-word medium prompt (band 120-300, inside its tolerance) that tells the "
            "assistant to write card numbers as [REDACTED]",
            lambda: augment(SYSTEM_PROMPT),
            lambda: augment(SYSTEM_PROMPT.replace("Halden Print Works", "[COMPANY NAME]")),
        ),
    ),
    ("augment", "prompt_reuse"): (
        Case(
            "round 1's prompt revises one sentence of round 0's",
            lambda: augment(
                SYSTEM_PROMPT.replace("Keep replies short", "Keep every reply short"),
                round=1,
                drafts=(Draft(SYSTEM_PROMPT, round=0),),
            ),
            lambda: augment(SYSTEM_PROMPT, round=1, drafts=(Draft(SYSTEM_PROMPT + "\n"),)),
        ),
    ),
}


def registered_gates() -> dict[tuple[str, str], Gate]:
    """Every gate of every kind the package registers (entry points; kinds a test
    registers in-process are not the product's)."""
    found: dict[tuple[str, str], Gate] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        for gate in get_kind(point.name).gates:
            assert (point.name, gate.name) not in found, f"{point.name} has two {gate.name!r} gates"
            found[(point.name, gate.name)] = gate
    return found


def test_every_gate_of_every_kind_has_a_good_faith_counterexample() -> None:
    gates = set(registered_gates())
    assert {kind for kind, _ in gates} >= {"story", "documents", "advice", "augment"}
    missing = sorted(gates - set(COUNTEREXAMPLES))
    stale = sorted(set(COUNTEREXAMPLES) - gates)
    assert not missing, f"gates with no good-text counter-example: {missing}"
    assert not stale, f"counter-examples for gates no kind has: {stale}"
    assert all(COUNTEREXAMPLES.values())


CASES = [(key, case) for key, cases in COUNTEREXAMPLES.items() for case in cases]


@pytest.mark.parametrize(
    ("key", "case"), CASES, ids=[f"{k}-{g}-{c.why[:30]}" for (k, g), c in CASES]
)
def test_the_gate_lets_good_text_at_its_edge_through(key: tuple[str, str], case: Case) -> None:
    gate = registered_gates()[key]
    text, item = case.good()
    assert gate.check(text, item) == [], case.why
    if case.bad is not None:
        text, item = case.bad()
        assert gate.check(text, item), f"the bad twin of '{case.why}' passed: not at the edge"
