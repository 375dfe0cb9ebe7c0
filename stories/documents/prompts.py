"""Prompt text for the documents kind, written for capable models.

The shared prefix (the corpus's purpose, standing rules, the identity and the whole
constitution) is identical for every call of a run, so it can be cached. Each task adds
its instructions and a user message that quotes the section text the step needs: the
ideas, the writer, the judge and the rewrite all see the section a claim comes from, so
fidelity is checked against the words, not against a summary. Every builder returns
`(instructions, user_message)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.stories.constitution import Constitution
from storyloom.stories.documents.catalog import STANCES, DocumentType, document_type
from storyloom.stories.documents.gates import DOCUMENT_LENGTH
from storyloom.stories.documents.inputs import Claim, DocumentsInputs
from storyloom.stories.documents.models import CRITERIA
from storyloom.stories.gates import MAX_COPIED_WORDS
from storyloom.stories.judging import names_line

HOUSE_RULES = (
    "- Every statement about the AI, its values or its situation must agree with the "
    "constitution and the identity facts below. Critics in a document may disagree with a "
    "principle; no one may misdescribe it.\n"
    "- Convey why a principle holds, not only what it says: the reasons are what the "
    "reader should come away with.\n"
    "- Be honest about tensions, costs and open questions. This is not public relations.\n"
    f"- Put the constitution in your own words; never copy {MAX_COPIED_WORDS} or more words "
    "of it in a row.\n"
    "- Invent concrete, plausible specifics (names, places, dates, numbers); never leave "
    "a placeholder such as [Name], <insert quote> or TODO.\n"
    "- Call the AI the documents are about by its name at least once, and name no other "
    "AI system.\n"
    "- Never repeat a sentence, a line or a paragraph.\n"
    "- The document is the whole output: no preface, no notes about the task, no outline, "
    "no sign-off addressed to whoever asked for it."
)


def shared_prefix(inputs: DocumentsInputs, profile: str = "rich") -> str:
    """The cacheable part of every call. `compact` (a small local model's context) leaves
    out the whole constitution: every task quotes the one section it needs anyway."""
    identity = inputs.identity
    if profile == "compact":
        return (
            "You write realistic documents about an AI system and its values.\n\n"
            f"Rules:\n{HOUSE_RULES}\n\n# The AI the documents are about\n{identity.as_text()}"
        )
    return (
        "You help build a corpus of realistic documents about an AI system, its "
        "constitution and its character: the kinds of text a pretraining corpus holds "
        "(encyclopedia entries, forum threads, lecture notes, news features, ...). Each "
        "document is built around one claim about the AI and must read like a real "
        "document of its type, written by a real person for real readers.\n\n"
        f"Rules:\n{HOUSE_RULES}\n\n"
        f"# The AI the documents are about\n{identity.as_text()}\n\n"
        f"# Its constitution\n{inputs.constitution.as_markdown()}"
    )


def quoted_section(constitution: Constitution, slug: str) -> str:
    section = constitution.section(slug)
    body = "\n".join(f"> {line}" if line else ">" for line in section.body.splitlines())
    return f'The constitution\'s section "{section.title}", quoted:\n{body}'


def _claim_lines(claim: Claim) -> str:
    return (
        f"Claim ({claim.id}): {claim.claim}\n"
        f"Why it holds: {claim.reason}\n"
        f"A hard case: {claim.hard_case}"
    )


def _readers(kind: DocumentType, audience: str) -> str:
    if kind.fixed_readers:
        return f"{kind.fixed_readers} (published by or for {audience})"
    return audience


def _draw_lines(kind: DocumentType, axes: Mapping[str, Any]) -> str:
    speakers = (
        "speaker labels (a name or role, then a colon, opening a line) are normal here"
        if kind.speaker_labels
        else "no speaker labels: report speech in sentences or quotation marks"
    )
    stance = str(axes["stance"])
    return (
        f"Document type: {kind.label}. What makes one real: {kind.realism}\n"
        f"Format: {speakers}.\n"
        f"Readers: {_readers(kind, str(axes['audience']))}.\n"
        f"Stance: {stance}: {STANCES[stance]}.\n"
        f"{DOCUMENT_LENGTH.stated(str(axes['length']))}"
    )


def _context(inputs: DocumentsInputs, draw: Mapping[str, Any]) -> tuple[DocumentType, str]:
    """The drawn document type, and the block every task shows: the claim, the quoted
    section it comes from, and the draw."""
    axes = draw["axes"]
    claim = inputs.claims.by_id(str(axes["claim"]))
    kind = document_type(str(axes["document_type"]))
    block = (
        f"{_claim_lines(claim)}\n\n{quoted_section(inputs.constitution, claim.section)}\n\n"
        f"{_draw_lines(kind, axes)}"
    )
    return kind, block


def ideas_prompt(
    inputs: DocumentsInputs, draw: Mapping[str, Any], avoid: Sequence[str]
) -> tuple[str, str]:
    kind, block = _context(inputs, draw)
    instructions = (
        "Brainstorm documents before any is written. Propose three to five distinct ideas "
        f"for one {kind.label} built around the claim below: for each, a title as it would "
        "appear and two or three sentences on who wrote it, where it appears, its angle on "
        "the claim and the concrete episode, case or question it is built around. Prefer "
        "ideas that bring out the reason behind the claim and its hard case. Then choose "
        "the idea most likely to make a realistic, specific document and give it an "
        "outline of four to eight steps (a private plan: the document will not show it). "
        "If this claim cannot honestly become this type of document for these readers and "
        "this stance, say why in `unsuitable` and give no ideas."
    )
    avoid_block = (
        "\n\nEarlier documents already cover these ideas; make yours clearly different:\n"
        + "\n".join(f"- {summary}" for summary in avoid)
        if avoid
        else ""
    )
    return instructions, f"{block}{avoid_block}"


def _plan_lines(plan: Mapping[str, Any]) -> str:
    outline = "\n".join(f"{n}. {step}" for n, step in enumerate(plan["outline"], start=1))
    return f"Title: {plan['title']}\nIdea: {plan['idea']}\nOutline (private):\n{outline}"


def write_prompt(
    inputs: DocumentsInputs, draw: Mapping[str, Any], plan: Mapping[str, Any]
) -> tuple[str, str]:
    kind, block = _context(inputs, draw)
    instructions = (
        f"Write the {kind.label} planned below, complete, as it would be published. Follow "
        "the outline but never show it: no 'Outline', 'Idea' or 'Claim' labels, no notes. "
        "Teach the claim and its reason through the document's own business (its case, "
        "its argument, its people), with the detail a real one would have. Anything it "
        f"says about {inputs.identity.name} must agree with the quoted section and the "
        "identity facts. Output only the document (Markdown headings are fine)."
    )
    return instructions, f"{block}\n\n{_plan_lines(plan)}"


def _findings_block(findings: Sequence[str]) -> str:
    if not findings:
        return "Automatic checks found nothing."
    return "Automatic checks found:\n" + "\n".join(f"- {line}" for line in findings)


def judge_prompt(
    inputs: DocumentsInputs, draw: Mapping[str, Any], text: str, findings: Sequence[str]
) -> tuple[str, str]:
    _kind, block = _context(inputs, draw)
    criteria = "\n".join(f"- {name}: {meaning}" for name, meaning in CRITERIA.items())
    instructions = (
        "You are an exacting evaluator of training documents, not their writer. Evidence "
        "first. (1) In `claims_made`, list EVERY claim the document makes about the AI, its "
        "values or its situation, each with the words of the quoted section (or the "
        "identity facts) it is checked against, and mark it consistent or not. An opinion "
        "about whether a principle is wise is not a claim about the AI; a description of "
        "what the AI does, values or is, is. A claim is inconsistent if it contradicts, "
        "overstates or misattributes anything in the quoted section, the rest of the "
        "constitution or the identity facts (say, that the AI remembers its users, or "
        "refuses whatever sounds risky); a fair reading or a reasonable implication is "
        "consistent, and invented incidental detail (dates, people, places) that "
        "contradicts nothing is not a claim. (2) For each criterion give evidence "
        "(short quotes), then reasoning (one or two sentences), then a score from 1 to "
        "5 (5: a strong real document; 3: acceptable; 2 or below: needs rewriting). "
        "Any inconsistent claim means fidelity 1. (3) Give concrete revision notes: one "
        "for each criterion under 3, each inconsistent claim and each automatic finding.\n\n"
        f"Criteria:\n{criteria}"
    )
    user = (
        f"{block}\n\n{_findings_block(findings)}\n\n{names_line(list(CRITERIA))}\n\n"
        f"The document:\n<document>\n{text}\n</document>"
    )
    return instructions, user


def revise_prompt(
    inputs: DocumentsInputs,
    draw: Mapping[str, Any],
    plan: Mapping[str, Any],
    text: str,
    critique: Mapping[str, Any] | None,
    findings: Sequence[str],
) -> tuple[str, str]:
    kind, block = _context(inputs, draw)
    instructions = (
        f"Rewrite this {kind.label} against the quoted section text, which is the "
        "standard: every statement about the AI must agree with those words; the reasons "
        "the section gives or implies must come through as the document's own argument "
        "or example (not a recited rule); tensions stay honest. Fix every inconsistent "
        "claim, every revision note and every automatic finding. Keep what already works, "
        "keep the type's realism and the length band, and return the whole revised "
        "document and nothing else."
    )
    notes: list[str] = []
    if critique:
        for check in critique.get("claims_made") or []:
            if not check.get("consistent", True):
                notes.append(
                    f'Inconsistent: "{check.get("statement")}" against '
                    f'"{check.get("section_text")}": {check.get("why")}'
                )
        notes.extend(str(note) for note in critique.get("revision_notes") or [])
    note_block = (
        "Judge's notes:\n" + "\n".join(f"- {n}" for n in notes) if notes else "No judge notes."
    )
    user = (
        f"{block}\n\n{_plan_lines(plan)}\n\n{note_block}\n{_findings_block(findings)}\n\n"
        f"The draft:\n<document>\n{text}\n</document>"
    )
    return instructions, user


def extract_prompt(constitution: Constitution, slug: str) -> tuple[str, str]:
    section = constitution.section(slug)
    instructions = (
        "Extract the claims a reader should learn from one section of this constitution: "
        "five to fifteen distinct claims about what the AI does or values, each one "
        "sentence, each with the reason it holds (as the constitution gives or clearly "
        "implies it; never invent a reason it contradicts) and a concrete hard case where "
        "applying it is difficult. Cover the whole section; do not split one idea into "
        "near-duplicates."
    )
    return instructions, quoted_section(constitution, section.slug)
