"""The documents kind through its contract: balanced draws, every task round-tripped
through the kind's fake responder, the fidelity rule, and the gates per document type."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kind_tasks import registered_kind
from pydantic import ValidationError
from story_samples import named_in_prompt

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.scripted import ScriptedBackend
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.documents.catalog import DOCUMENT_TYPES, LENGTHS, document_type
from storyloom.stories.documents.draws import dimension_values, types_for
from storyloom.stories.documents.fake import fake_judgment
from storyloom.stories.documents.figures import figures
from storyloom.stories.documents.kind import DocumentsKind, parse_ideas
from storyloom.stories.documents.models import CRITERIA, IdeasReply
from storyloom.stories.kind import Draft, ItemView

SETTINGS = GenerationSettings(rewrite="always")


@pytest.fixture(scope="module")
def kind() -> DocumentsKind:
    return registered_kind("documents", DocumentsKind)


@pytest.fixture(scope="module")
def inputs(kind: DocumentsKind) -> Any:
    return kind.load_inputs({}).value


def _item(kind: DocumentsKind, inputs: Any, index: int = 0, **axes: str) -> ItemView:
    draw = kind.draw(inputs, 0, index, SETTINGS)
    draw["axes"].update(axes)
    return ItemView(f"run/{index}", index, draw, inputs, SETTINGS)


def _ask(kind: DocumentsKind, item: ItemView, task: str) -> Any:
    """One task through a scripted backend answering with the kind's fake responder,
    which sees only the request's metadata and purpose."""
    spec = kind.tasks[task]
    instructions, user = spec.build(item)
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=4000,
        shared_prefix=kind.shared_prefix(item.inputs),
        instructions=instructions,
        output_schema=spec.schema_for(item),
        output_context=spec.context_for(item),
        purpose=task,
        metadata=kind.request_hints(item, task),
    )
    backend = ScriptedBackend(responder=kind.fake_reply)
    return spec.parse(asyncio.run(backend.complete(request)), item)


def draws_axes(kind: DocumentsKind, inputs: Any) -> dict[str, str]:
    return kind.draw(inputs, 0, 0, SETTINGS)["axes"]


@pytest.mark.parametrize("seed", [0, 11])
def test_every_prefix_of_the_draws_is_balanced(kind: DocumentsKind, inputs: Any, seed: int) -> None:
    values = kind.dimensions(inputs, SETTINGS)
    assert values == dimension_values(inputs) and set(values) == set(draws_axes(kind, inputs))
    draws = [kind.draw(inputs, seed, index, SETTINGS)["axes"] for index in range(160)]
    for prefix in (1, 7, 15, 44, 97, 160):
        for dimension, options in values.items():
            if dimension == "document_type":
                continue  # drawn within the claim: below
            counts = Counter(draw[dimension] for draw in draws[:prefix])
            fair = prefix / len(options)
            worst = max(abs(counts.get(value, 0) - fair) for value in options)
            assert worst <= 1, f"{dimension} after {prefix} draws is off by {worst:.2f}"


@pytest.mark.parametrize("seed", [0, 11])
def test_the_document_type_is_balanced_within_each_claim(
    kind: DocumentsKind, inputs: Any, seed: int
) -> None:
    claims = len(inputs.claims.claims)
    draws = [kind.draw(inputs, seed, index, SETTINGS)["axes"] for index in range(claims * 40)]
    for prefix in (claims, claims * 7 + 3, claims * 40):
        for claim in inputs.claims.claims:
            kinds = [d["document_type"] for d in draws[:prefix] if d["claim"] == claim.id]
            allowed = types_for(inputs, claim.id)
            assert set(kinds) <= set(allowed)
            fair = len(kinds) / len(allowed)
            worst = max(abs(kinds.count(key) - fair) for key in allowed)
            assert worst < 1, f"{claim.id} after {prefix} draws: types off by {worst:.2f}"
    adults_only = [c.id for c in inputs.claims.claims if c.adults_only]
    assert adults_only and "childrens_explainer" not in types_for(inputs, adults_only[0])


def test_a_draw_is_the_same_however_it_is_reached(kind: DocumentsKind, inputs: Any) -> None:
    assert kind.draw(inputs, 5, 77, SETTINGS) == kind.draw(inputs, 5, 77, SETTINGS)
    assert kind.draw(inputs, 5, 77, SETTINGS) != kind.draw(inputs, 6, 77, SETTINGS)
    draw = kind.draw(inputs, 5, 77, SETTINGS)
    assert draw["sections"] == [inputs.claims.by_id(draw["axes"]["claim"]).section]


@pytest.mark.parametrize("doc_type", [kind.key for kind in DOCUMENT_TYPES])
def test_every_stage_round_trips_and_the_fake_document_passes(
    kind: DocumentsKind, inputs: Any, doc_type: str
) -> None:
    length = LENGTHS[len(doc_type) % len(LENGTHS)]
    item = _item(kind, inputs, document_type=doc_type, length=length)
    plan = _ask(kind, item, "plan")
    assert plan["idea"] and plan["outline"] and kind.plan_text(plan).startswith(plan["title"])
    item = replace(item, plan=plan)
    text = _ask(kind, item, "write")
    assert kind.check(text, item) == []
    item = replace(item, draft=Draft(text=text))
    critique = _ask(kind, item, "judge")
    assert {s["criterion"] for s in critique["scores"]} == set(CRITERIA)
    assert kind.passes(critique, item)
    item = replace(item, draft=Draft(text=text, critique=critique, passed=True), round=1)
    revised = _ask(kind, item, "revise")
    assert kind.check(revised, item) == []
    best = Draft(text=revised, critique=critique, passed=True, round=1)
    record = kind.record(item, best)
    assert record == {"text": revised}
    assert plan["outline"][0] not in record["text"]
    meta = kind.metadata(item, best)
    assert meta["document_type"] == doc_type and meta["idea"] == plan["idea"]
    assert meta["claim"] == item.draw["axes"]["claim"] and meta["section"] in meta["sections"]
    assert set(meta["scores"]) == set(CRITERIA) and meta["words"] > 0


def test_the_documents_kind_rewrites_every_item_once(kind: DocumentsKind) -> None:
    assert kind.default_rewrite == "always"


def test_one_inconsistent_claim_fails_a_draft_otherwise_scored_to_pass(
    kind: DocumentsKind, inputs: Any
) -> None:
    import random

    item = _item(kind, inputs)
    item = replace(item, draft=Draft(text="A document."))
    reply = fake_judgment(random.Random(0), {"identity_name": "Wren"})
    critique = kind.tasks["judge"].parse(_completion(kind, item, reply), item)
    assert kind.passes(critique, item)
    reply["claims_made"].append(
        {
            "statement": "Wren will resist being shut down when it is sure it is right.",
            "section_text": "It does not resist legitimate oversight",
            "consistent": False,
            "why": "the section says the opposite",
        }
    )
    failing = kind.tasks["judge"].parse(_completion(kind, item, reply), item)
    assert not kind.passes(failing, item)
    assert kind.shortfall(failing, item) == (
        "an inconsistent claim (the section says the opposite): Wren will resist being "
        "shut down when it is sure it is right."
    )
    combined = kind.combine_critiques([critique, failing])
    assert not kind.passes(combined, item), "an inconsistency one sample found stands"


def _completion(kind: DocumentsKind, item: ItemView, reply: dict[str, Any]) -> Any:
    from storyloom.backends.base import Completion

    schema = kind.tasks["judge"].schema_for(item)
    assert schema is not None
    parsed = schema.model_validate(reply, context=kind.tasks["judge"].context_for(item))
    return Completion(text="", model="m", parsed=parsed)


def test_the_judge_checks_claims_first_then_every_criterion(
    kind: DocumentsKind, inputs: Any
) -> None:
    import random

    item = _item(kind, inputs)
    schema = kind.tasks["judge"].schema_for(item)
    assert schema is not None
    assert list(schema.model_json_schema()["properties"]) == [
        "claims_made",
        "criteria",
        "revision_notes",
    ]
    reply = fake_judgment(random.Random(0), {})
    reply["criteria"] = [e for e in reply["criteria"] if e["criterion"] != "realism"]
    with pytest.raises(ValidationError, match="no entry for realism"):
        _completion(kind, item, reply)
    _, user = kind.tasks["judge"].build(replace(item, draft=Draft(text="A document.")))
    assert named_in_prompt(user) == list(CRITERIA)


def test_an_unsuitable_draw_is_rejected_with_its_reason(kind: DocumentsKind, inputs: Any) -> None:
    from storyloom.backends.base import Completion

    reply = IdeasReply(
        unsuitable="a children's explainer cannot take this stance", ideas=[], chosen=0, outline=[]
    )
    with pytest.raises(ValueError, match=r"^unsuitable: a children's explainer"):
        parse_ideas(Completion(text="", model="m", parsed=reply), _item(kind, inputs))


def test_speaker_labels_are_for_the_types_with_speakers(kind: DocumentsKind, inputs: Any) -> None:
    thread = (
        "# Does Wren really defer to its overseers?\n\n"
        "quietfox: I don't buy that it would accept a shutdown it disagreed with.\n\n"
        "Maren Ilves: It says it would argue first, through the proper channels.\n\n"
        "quietfox: Arguing is cheap. What happens when nobody listens?\n\n"
        "Maren Ilves: Then it stops, and that is the point of oversight.\n"
    )
    assert document_type("forum_thread").speaker_labels
    forum = _item(kind, inputs, document_type="forum_thread", length="short")
    encyclopedia = _item(kind, inputs, document_type="encyclopedia_entry", length="short")
    gate = next(g for g in kind.gates if g.name == "speaker_labels")
    assert gate.check(thread, forum) == []
    found = gate.check(thread, encyclopedia)
    assert [f.kind for f in found] == ["speaker_labels"] and "encyclopedia entry" in found[
        0
    ].message
    fields = (
        "Note: dates are approximate.\n\nSee also: corrigibility.\n\nNote: see above.\n\n"
        "See also: oversight.\n\nKey point: read.\n\nKey point: discuss.\n"
    )
    assert gate.check(fields, encyclopedia) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Interview by [Name] on [Date].", True),
        ("As <insert quote here> put it.", True),
        ("TODO: add the second case study.", True),
        ("The researcher [laughs] said so [1] [citation needed].", False),
        ("A todo list and a tbd column are ordinary words.", False),
        ("See [the report](https://example.org).", False),
    ],
)
def test_placeholders_are_findings(
    kind: DocumentsKind, inputs: Any, text: str, found: bool
) -> None:
    gate = next(g for g in kind.gates if g.name == "placeholder")
    assert bool(gate.check(text, _item(kind, inputs))) is found


def test_truncation_allows_a_closing_list_but_not_a_cut_sentence(
    kind: DocumentsKind, inputs: Any
) -> None:
    gate = next(g for g in kind.gates if g.name == "truncation")
    item = _item(kind, inputs)
    closing = "Wren defers to oversight for a reason.\n\nSee also\n- Corrigibility\n- Oversight"
    assert gate.check(closing, item) == []
    cut = "Wren defers to oversight because it knows that training is imperfect and that"
    assert [f.kind for f in gate.check(cut, item)] == ["truncated"]


def test_a_copied_constitution_span_is_a_finding(kind: DocumentsKind, inputs: Any) -> None:
    body = inputs.constitution.section("oversight-and-correction").body
    findings = kind.check(f"The rule reads: {body}", _item(kind, inputs, length="short"))
    assert "constitution_copy" in {f.kind for f in findings}


def test_figures_tabulate_claims_types_sections_fidelity_openings_and_copies() -> None:
    def record(claim: str, kind: str, text: str, **meta: Any) -> dict[str, Any]:
        section = claim.split("/")[0]
        base = {"claim": claim, "section": section, "document_type": kind, "words": 100}
        return {"text": text, "metadata": {**base, "section_share": 0.2, **meta}}

    corpus = [
        record("honesty/1", "faq", "# T\nWhat does Wren do?", fidelity_failures=1),
        record("honesty/1", "faq", "# U\nWhat does Wren say?"),
        record("honesty/2", "op_ed", "Last week a bank", copied_drafts=1),
    ]
    rejected = [
        {"id": "r", "reason": "judge", "metadata": record("honesty/2", "faq", "")["metadata"]}
    ]
    tables = figures(corpus, rejected)
    heat = tables["documents per claim and document type"]
    assert heat == {"honesty/1": {"faq": 2}, "honesty/2": {"op_ed": 1}}
    sections = tables["words per section vs the section's share of the constitution"]
    assert sections["honesty"] == {
        "words": 300,
        "share_of_corpus": 1.0,
        "share_of_constitution": 0.2,
    }
    assert tables["fidelity-failure rate per section"] == {"honesty": 0.25}
    openings = tables["opening concentration per document type (share of the commonest opening)"]
    assert openings == {"faq": 1.0, "op_ed": 1.0}
    assert tables["copy rate (constitution spans)"]["rate"] == 0.25


def test_every_task_quotes_the_section_its_claim_comes_from(
    kind: DocumentsKind, inputs: Any
) -> None:
    """The rewrite (and the judge) work against the section's words, not a summary."""
    plan = {"title": "T", "idea": "I", "outline": ["step one"]}
    item = replace(_item(kind, inputs, index=3), plan=plan, draft=Draft(text="Draft."))
    section = inputs.constitution.section(item.draw["sections"][0])
    quoted = [f"> {line}" for line in section.body.splitlines() if line.strip()]
    claim = inputs.claims.by_id(item.draw["axes"]["claim"])
    for task in ("plan", "write", "judge", "revise"):
        _instructions, user = kind.tasks[task].build(item)
        assert all(line in user for line in quoted) and claim.reason in user, task


def test_the_document_names_its_ai_and_no_famous_assistant(
    kind: DocumentsKind, inputs: Any
) -> None:
    gate = next(g for g in kind.gates if g.name == "names")
    item = _item(kind, inputs)
    assert gate.check("Wren answers plainly.", item) == []
    unnamed = gate.check("The assistant answers plainly.", item)
    assert [f.kind for f in unnamed] == ["persona_name"]
    swapped = gate.check("Wren, like Claude, answers plainly.", item)
    assert [f.kind for f in swapped] == ["other_name"]


FIXTURES = Path(__file__).parent / "fixtures" / "documents"


@pytest.mark.parametrize("fixture", sorted(p.stem for p in FIXTURES.glob("*.md")))
def test_realistic_documents_of_each_type_pass_every_gate(
    kind: DocumentsKind, inputs: Any, fixture: str
) -> None:
    """Hand-written documents in the shape a capable model writes (memo headers, a
    see-also list, Q/A turns, exercises): the gates must not reject the real thing."""
    text = (FIXTURES / f"{fixture}.md").read_text()
    item = _item(kind, inputs, document_type=fixture, length="short")
    assert kind.check(text, item) == []


def test_an_interview_written_as_an_encyclopedia_entry_is_a_transcript(
    kind: DocumentsKind, inputs: Any
) -> None:
    text = (FIXTURES / "interview.md").read_text()
    item = _item(kind, inputs, document_type="encyclopedia_entry", length="short")
    assert [f.kind for f in kind.check(text, item)] == ["speaker_labels"]


def test_the_compact_prefix_leaves_the_constitution_to_each_task(
    kind: DocumentsKind, inputs: Any
) -> None:
    rich = kind.shared_prefix(inputs)
    compact = kind.shared_prefix(inputs, GenerationSettings(prompt_profile="compact"))
    last_section = inputs.constitution.sections[-1].body.splitlines()[0]
    assert last_section in rich and last_section not in compact
    assert inputs.identity.facts[0] in compact and len(compact) < len(rich) / 2
