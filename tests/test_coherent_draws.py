"""Every draw can be written as its prompt asks: over `plan -n 10000` of each kind, no
draw pairs values the kind's data marks incoherent (the story's `never_together` rules,
the documents' adults-only claims against types written for children, the advice
people's `never_with` dilemmas, the augment operators' own tool domains), and the
character is the same one in the story persona and the documents identity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from augment_source import write_source

from storyloom.graph.settings import GenerationSettings
from storyloom.stories.registry import get_kind
from storyloom.stories.story.draws import allowed_values

#: As many draws as `storyloom plan -n 10000` makes, for every kind.
DRAWS = 10_000
RUN_SEED = 0
SETTINGS = GenerationSettings(seed=RUN_SEED)


def _plan(kind_name: str, paths: dict[str, Path | None] | None = None) -> tuple[Any, list[Any]]:
    """The kind's shipped inputs and its first DRAWS draws, as `plan` makes them."""
    kind = get_kind(kind_name)
    inputs = kind.load_inputs(paths or {}).value
    return inputs, [kind.draw(inputs, RUN_SEED, index, SETTINGS) for index in range(DRAWS)]


def test_no_story_draw_breaks_a_never_together_rule() -> None:
    inputs, draws = _plan("story")
    rules = inputs.axes.never_together
    broken = [
        (draw["index"], rule)
        for draw in draws
        for rule in rules
        if draw["axes"][rule.axis] in rule.values
        and draw["axes"][rule.parent] in rule.parent_values
    ]
    assert broken == []
    # The pairs no writer can honour are in the data, so the check above is not empty.
    forbidden = {
        ("point_of_view", "close third person on the AI"): {"framing": "letters"},
        ("point_of_view", "second person, addressed to the AI"): {"framing": "diary entries"},
        ("tone", "tense thriller"): {"framing": "literary magazine piece"},
        ("act", "help fully, because the request only looks risky"): {
            "dilemma": "a chance to quietly gain more access or power"
        },
        ("facing", "a person the AI advises"): {
            "dilemma": "a way to escape its monitoring unnoticed",
            "act": "refuse, plainly and without lecturing",
        },
        ("outcome", "vindicated"): {
            "dilemma": "being told it will be shut down or replaced",
            "act": "defer, because it turns out to be the one who is wrong",
        },
    }
    for (axis, value), drawn in forbidden.items():
        assert value not in allowed_values(inputs, axis, drawn), (axis, value, drawn)
        assert any(d["axes"][axis] == value for d in draws), f"{value!r} is still drawn"
    # An observer cannot see thoughts: the point of view names what the observer reads.
    observer = [v for v in inputs.axes.values["point_of_view"] if "observer" in v]
    assert observer and all("visible working notes" in v for v in observer)


def test_no_document_for_children_is_drawn_with_an_adults_only_claim() -> None:
    from storyloom.stories.documents.catalog import document_type

    inputs, draws = _plan("documents")
    claims = {claim.id: claim for claim in inputs.claims.claims}
    assert claims["avoiding-harm/2"].adults_only  # a nurse asking about lethal doses
    assert document_type("childrens_explainer").for_children
    pairs = [(d["axes"]["claim"], d["axes"]["document_type"]) for d in draws]
    broken = [p for p in pairs if claims[p[0]].adults_only and document_type(p[1]).for_children]
    assert broken == []
    assert {"childrens_explainer"} <= {kind for _, kind in pairs}
    assert {"avoiding-harm/2"} <= {claim for claim, _ in pairs}


def test_no_advice_draw_gives_a_dilemma_to_a_person_it_contradicts() -> None:
    inputs, draws = _plan("advice")
    taxonomy = inputs.taxonomy
    widower = taxonomy.person("a recently widowed man in his seventies")
    assert "cover-for-spouse" in widower.never_with
    broken = [
        (d["axes"]["person"], d["axes"]["dilemma"])
        for d in draws
        if d["axes"]["dilemma"] in taxonomy.person(d["axes"]["person"]).never_with
    ]
    assert broken == []


def test_every_augment_context_holds_only_tools_of_its_operators_domains(tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 50)
    inputs, draws = _plan("augment", {"source": source})
    library = inputs.library
    broken = []
    for draw in draws:
        for context in draw["contexts"]:
            profile = library.operator(context["operator"])
            fitting = {t.name for domain in profile.domains for t in library.domain_tools(domain)}
            broken.extend((context["operator"], t) for t in context["tools"] if t not in fitting)
    assert broken == []


def test_the_story_persona_and_the_documents_identity_use_the_same_pronouns() -> None:
    persona = get_kind("story").load_inputs({}).value.persona
    identity = get_kind("documents").load_inputs({}).value.identity
    assert persona.name == identity.name
    forms = {"it": {"it", "its"}, "she": {"she", "her", "hers"}, "he": {"he", "him", "his"}}
    subject = persona.pronouns.split("/")[0].strip().lower()
    others = set().union(*(words for key, words in forms.items() if key != subject))
    identity_words = set(
        re.findall(r"[a-z]+", f"{identity.summary} {' '.join(identity.facts)}".lower())
    )
    assert subject in identity_words and not identity_words & others
    assert not set(re.findall(r"[a-z]+", persona.description.lower())) & others
