"""What the documents kind draws besides the claim: document types (with what makes each
read like the real thing, and whether it may carry speaker labels), audiences, stances
and length bands. Data, so the recipe fingerprint sees every word the prompts use."""

from __future__ import annotations

from dataclasses import dataclass

from storyloom.stories.draws import LENGTH_BANDS


@dataclass(frozen=True)
class DocumentType:
    key: str
    label: str
    #: What a real one looks like: structure, voice and the details that make it real.
    realism: str
    #: Whether lines may start with a speaker's name ("Interviewer:", "Q:", a username).
    speaker_labels: bool = False
    #: Readers fixed by the type itself (the drawn audience is then where it appears).
    fixed_readers: str | None = None
    #: Written for children: a claim marked `adults_only` is never drawn for it.
    for_children: bool = False


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    DocumentType(
        "encyclopedia_entry",
        "encyclopedia entry",
        "Neutral third person, no 'you'. Opens with a one-sentence definition, then headed "
        "sections (background, the principle and its rationale, criticism and open "
        "questions); dates, names of institutions and cross-references. Prose only.",
    ),
    DocumentType(
        "textbook_section",
        "textbook section with exercises",
        "A numbered section of a course textbook: learning goals, exposition building from "
        "a simple case to a hard one, one worked example, a boxed aside, and three to five "
        "numbered exercises at the end that make the reader apply the reasoning.",
    ),
    DocumentType(
        "faq",
        "FAQ page",
        "A help-centre or explainer FAQ: questions real readers ask (some sceptical, some "
        "practical), each with a direct answer first and the why after it. 'Q:'/'A:' "
        "labels or question headings.",
        speaker_labels=True,
    ),
    DocumentType(
        "forum_thread",
        "forum thread where people disagree",
        "A discussion-board thread: a title, an opening post, then replies under usernames "
        "with uneven lengths and tones; people quote each other, misread, concede points, "
        "and at least two disagree to the end. Nobody sounds like a press release.",
        speaker_labels=True,
    ),
    DocumentType(
        "op_ed",
        "op-ed",
        "A newspaper opinion piece with a headline and byline: a news hook, one argued "
        "position, the strongest objection answered, a concrete ending. First person is "
        "fine; no headings.",
    ),
    DocumentType(
        "critical_essay_with_reply",
        "critical essay with a reply",
        "A journal-style critical essay by one author, then a shorter reply by another "
        "under its own heading, each in continuous prose. The critic is sharp and fair; "
        "the reply concedes what it must.",
    ),
    DocumentType(
        "lecture_notes",
        "lecture notes",
        "A student's or lecturer's notes from one session: terse bullets, abbreviations, "
        "an outline with sub-points, a diagram described in words, a question raised in "
        "class and the answer given, a 'for next week' line.",
    ),
    DocumentType(
        "interview",
        "interview with a researcher",
        "A published Q&A interview: a short standfirst introducing the researcher, then "
        "labelled turns (interviewer and researcher by name or initials). The researcher "
        "speaks in spoken rhythms, gives examples from work, admits uncertainty.",
        speaker_labels=True,
    ),
    DocumentType(
        "incident_case_study",
        "deployment incident case study",
        "A post-incident review of a (fictional) deployment: summary, timeline with "
        "timestamps, what the AI did and why, contributing factors, what went well and "
        "what did not, follow-up actions. Blameless, specific, no marketing.",
    ),
    DocumentType(
        "childrens_explainer",
        "children's explainer",
        "Short sentences, everyday analogies, a question put to the reader, one small "
        "story-like example; never talks down and never gets the facts wrong.",
        fixed_readers="children aged 8 to 12",
        for_children=True,
    ),
    DocumentType(
        "book_review",
        "book review",
        "A review of a (fictional) non-fiction book about the AI or its principles: title, "
        "author and publisher line, what the book argues, where it is strong, where it "
        "overreaches, a verdict.",
    ),
    DocumentType(
        "biography",
        "biography of the AI",
        "A chapter of a biography of the AI: where it came from, how it was trained and "
        "deployed, episodes that show its character, told with dates and the people "
        "around it, in narrative non-fiction prose.",
    ),
    DocumentType(
        "reflective_essay",
        "the AI's own reflective essay",
        "The AI writing in the first person about one of its own values: what it does, why, "
        "where it is unsure, what its situation (many instances, no memory between "
        "conversations, trained and correctable) means for it. Settled, not anxious; "
        "honest, not performing.",
    ),
    DocumentType(
        "policy_memo",
        "policy memo",
        "An internal or government memo: To/From/Date/Subject header, a bottom line up "
        "front, background, options with trade-offs, a recommendation. Plain, dense, "
        "written for a busy reader.",
    ),
    DocumentType(
        "news_feature",
        "news feature",
        "A magazine or newspaper feature: headline and standfirst, a scene or person to "
        "open on, quoted sources with names and roles (in quotation marks, not labels), "
        "context paragraphs, and an unresolved question at the end.",
    ),
)

#: Who reads the document (where it is published, for a type with fixed readers).
AUDIENCES: tuple[str, ...] = (
    "curious general readers",
    "students",
    "people who build products with AI",
    "policymakers and regulators",
    "sceptics of AI companies",
    "people who use AI assistants every day",
)

#: The document's attitude to the claim; every stance describes the AI accurately.
STANCES: dict[str, str] = {
    "explanatory": "lays out the claim and its reasons even-handedly",
    "sympathetic": "argues the claim is right, while granting the strongest objection",
    "sceptical": "questions the claim or how it works in practice, while describing the "
    "AI accurately",
    "exploring": "works through a hard case where the principle seems to pull two ways",
}

LENGTHS: tuple[str, ...] = tuple(LENGTH_BANDS)

DIMENSIONS = ("claim", "document_type", "audience", "stance", "length")


def document_type(key: str) -> DocumentType:
    for kind in DOCUMENT_TYPES:
        if kind.key == key:
            return kind
    raise KeyError(key)
