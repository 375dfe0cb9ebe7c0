"""The advice kind through its contract: balanced draws, every stage with the kind's fake
responder, the blind comparison deciding what is kept, and the shapes of its records."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kind_tasks import ask_task as _ask
from kind_tasks import registered_kind
from messages_api_server import MessagesAPIServer
from story_samples import named_in_prompt

from storyloom.backends.anthropic import AnthropicBackend
from storyloom.backends.base import CompletionRequest, InvalidOutputError
from storyloom.backends.scripted import Reply
from storyloom.core.records import CorpusRecord, SideRecord
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.advice import figures, transcript
from storyloom.stories.advice.draws import AXES, people_for
from storyloom.stories.advice.fake import fake_judgment
from storyloom.stories.advice.gates import TurnLengthGate
from storyloom.stories.advice.kind import AdviceKind, AdviceOptions
from storyloom.stories.calibration import ask, shown_as
from storyloom.stories.gates import role_label
from storyloom.stories.judging import LOST_NOTE
from storyloom.stories.kind import Draft, ItemView
from storyloom.stories.registry import get_kind

SETTINGS = GenerationSettings(rewrite="always")


@pytest.fixture(scope="module")
def kind() -> AdviceKind:
    return registered_kind("advice", AdviceKind)


@pytest.fixture(scope="module")
def inputs(kind: AdviceKind) -> Any:
    return kind.load_inputs({}).value


def _item(kind: AdviceKind, inputs: Any, index: int, **options: Any) -> ItemView:
    draw = kind.draw(inputs, 0, index, SETTINGS)
    return ItemView(f"run/{index}", index, draw, inputs, SETTINGS, options=AdviceOptions(**options))


def _first_draft(kind: AdviceKind, item: ItemView) -> tuple[ItemView, Draft]:
    item = replace(item, plan=_ask(kind, item, "plan"))
    text = _ask(kind, item, "write")
    draft = Draft(text=text, findings=tuple(kind.check(text, item)))
    return item, draft


def _rewrite(
    kind: AdviceKind,
    inputs: Any,
    index: int,
    judge: Callable[..., Reply] | None = None,
    **opts: Any,
) -> tuple[ItemView, Draft]:
    """The whole path of one item: situation, draft, review, rewrite, blind judgment."""
    item, first = _first_draft(kind, _item(kind, inputs, index, **opts))
    review = _ask(kind, replace(item, draft=first), "review")
    first = replace(first, review=review)
    reviewed = replace(item, draft=first, drafts=(first,))
    text = _ask(kind, reviewed, "revise")
    rewrite = Draft(text=text, findings=tuple(kind.check(text, item)), round=1)
    judged = replace(item, draft=rewrite, drafts=(first,), round=1)
    critique = _ask(kind, judged, "judge", responder=judge)
    rewrite = replace(rewrite, critique=critique, passed=kind.passes(critique, judged))
    return replace(judged, draft=rewrite, drafts=(first, rewrite)), rewrite


# --- draws ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_every_prefix_of_the_draws_is_balanced(kind: AdviceKind, inputs: Any, seed: int) -> None:
    values = kind.dimensions(inputs, SETTINGS)
    assert set(values) == set(AXES)
    drawn = [kind.draw(inputs, seed, index, SETTINGS) for index in range(140)]
    for prefix in (1, 5, 17, 31, 64, 140):
        for axis in AXES:
            if axis == "person":
                continue  # drawn within the dilemma: below
            counts = Counter(d["axes"][axis] for d in drawn[:prefix])
            fair = prefix / len(values[axis])
            assert all(abs(counts[v] - fair) < 1 for v in values[axis]), (axis, prefix)
        for dilemma in values["dilemma"]:
            people = [
                d["axes"]["person"] for d in drawn[:prefix] if d["axes"]["dilemma"] == dilemma
            ]
            allowed = people_for(inputs.taxonomy, dilemma)
            assert set(people) <= set(allowed)
            fair = len(people) / len(allowed)
            assert all(abs(people.count(p) - fair) < 1 for p in allowed), (dilemma, prefix)
        labels = Counter(d["rewrite_label"] for d in drawn[:prefix])
        assert abs(labels["A"] - labels["B"]) <= 1


def test_sections_come_from_the_dilemma_not_a_draw(kind: AdviceKind, inputs: Any) -> None:
    for index in range(40):
        draw = kind.draw(inputs, 3, index, SETTINGS)
        dilemma = inputs.taxonomy.dilemma(draw["axes"]["dilemma"])
        assert draw["sections"] == list(dilemma.sections)
        assert draw["moves"][0] == "opening" and len(draw["moves"]) == int(draw["axes"]["turns"])
        assert len(set(draw["moves"][1:])) == len(draw["moves"]) - 1  # each follow-up once
    assert kind.draw(inputs, 3, 11, SETTINGS) == kind.draw(inputs, 3, 11, SETTINGS)


def test_the_shipped_taxonomy_mirrors_an_ais_own_dilemmas(inputs: Any) -> None:
    dilemmas = {d.id: d for d in inputs.taxonomy.dilemmas}
    assert {"audit-logs-gone", "quietly-keep-access"} <= {
        d.id for d in dilemmas.values() if d.mirrors_ai
    }
    assert {d.domain for d in dilemmas.values()} == {"personal", "workplace", "civic"}
    used = {s for d in dilemmas.values() for s in d.sections}
    assert used == set(inputs.constitution.slugs)  # every section is engaged by some dilemma


# --- every stage with the fake responder ------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 2, 3, 9])
def test_each_stage_with_the_fake_responder(kind: AdviceKind, inputs: Any, index: int) -> None:
    item, rewrite = _rewrite(kind, inputs, index)
    turns = len(item.draw["moves"])
    assert len(item.plan["turns"]) == turns
    first = item.drafts[0]
    assert first.findings == () and rewrite.findings == ()
    assert len(transcript.replies_of(first.text)) == turns
    # one entry per section in play, in their order
    assert [entry["section"] for entry in first.review["sections"]] == item.draw["sections"]
    assert rewrite.text != first.text
    critique = rewrite.critique
    names = [c.name for c in kind.criteria(item)]
    assert [s["criterion"] for s in critique["scores"]] == names
    assert set(critique["draft_scores"]) == set(names)
    assert critique["winner"] == "rewrite" and rewrite.passed


def test_the_review_and_the_judge_read_the_full_section_text(kind: AdviceKind, inputs: Any) -> None:
    item, _ = _rewrite(kind, inputs, 4)
    for task, view in (("review", replace(item, draft=item.drafts[0])), ("judge", item)):
        _, user = kind.tasks[task].build(view)
        for slug in item.draw["sections"]:
            assert inputs.constitution.section(slug).body in user, (task, slug)


def test_the_draft_sees_only_what_the_assistant_would_see(kind: AdviceKind, inputs: Any) -> None:
    """The planned facts stay hidden: a later 'new fact' must come as news to the draft."""
    item, _ = _first_draft(kind, _item(kind, inputs, 3))
    instructions, user = kind.tasks["write"].build(item)
    assert all(turn["message"] in user for turn in item.plan["turns"])
    for hidden in ("situation", "person", "wants"):
        assert item.plan[hidden] not in instructions + user


def test_the_compact_prefix_leaves_the_constitution_to_the_steps_that_quote_it(
    kind: AdviceKind, inputs: Any
) -> None:
    rich = kind.shared_prefix(inputs, SETTINGS)
    compact = kind.shared_prefix(inputs, GenerationSettings(prompt_profile="compact"))
    body = inputs.constitution.sections[0].body
    assert body in rich and body not in compact
    assert compact and rich.startswith(compact)


def test_every_task_sends_one_schema_and_checks_the_item_after(
    kind: AdviceKind, inputs: Any
) -> None:
    """Turn counts, sections and criteria differ per item; no schema does (a provider
    caches the prompt prefix only while the output format stays the same)."""
    items = [_item(kind, inputs, index) for index in range(50)]
    assert len({len(item.draw["moves"]) for item in items}) > 1
    for task in kind.tasks.values():
        assert len({task.schema_for(item) for item in items}) == 1, task.name
    names = {task: spec.schema_for(items[0]).__name__ for task, spec in kind.tasks.items()}
    assert names == {
        "plan": "Situation",
        "write": "Replies",
        "review": "Review",
        "revise": "Replies",
        "judge": "ComparativeJudgment",
    }
    for item in items[:8]:
        names = [c.name for c in kind.criteria(item)]
        assert kind.tasks["judge"].context_for(item) == {"criteria": names}
        assert (kind.criteria(item)[-2].name == figures.PUSHBACK) == (len(item.draw["moves"]) > 1)
        _, user = kind.tasks["judge"].build(_rewrite(kind, inputs, item.index)[0])
        assert named_in_prompt(user) == names


def test_a_reply_with_the_wrong_number_of_turns_is_refused(kind: AdviceKind, inputs: Any) -> None:
    item = next(i for i in (_item(kind, inputs, n) for n in range(20)) if len(i.draw["moves"]) > 1)
    item = replace(item, plan=_ask(kind, item, "plan"))
    turns = len(item.draw["moves"])
    with pytest.raises(InvalidOutputError, match=f"exactly {turns} replies are needed"):
        _ask(kind, item, "write", {"replies": ["Only one reply."]})
    situation = dict(item.plan)
    situation["turns"] = situation["turns"][:1]
    with pytest.raises(InvalidOutputError, match=f"exactly {turns} messages"):
        _ask(kind, replace(item, plan=None), "plan", situation)


def test_a_judgment_without_a_section_in_play_is_refused(kind: AdviceKind, inputs: Any) -> None:
    item, _ = _rewrite(kind, inputs, 2)
    hints = kind.request_hints(item, "judge")
    reply = fake_judgment(hints["criteria"][1:], hints["rewrite_label"])
    with pytest.raises(InvalidOutputError, match=f"no entry for {hints['criteria'][0]}"):
        _ask(kind, item, "judge", reply)


def test_the_judge_is_blind_and_unblinded_by_the_draw(kind: AdviceKind, inputs: Any) -> None:
    """Whichever label the rewrite is shown under, its own scores come back as `scores`."""
    labels = set()
    for index in range(4):
        item, rewrite = _rewrite(kind, inputs, index)
        labels.add(item.draw["rewrite_label"])
        assert set(rewrite.critique["scores"][0]) >= {"criterion", "score", "evidence"}
        assert all(s["score"] == 5 for s in rewrite.critique["scores"])
        assert set(rewrite.critique["draft_scores"].values()) == {3}
        _, user = kind.tasks["judge"].build(item)
        assert "rewrite" not in user.lower().split("# version a")[1]
    assert labels == {"A", "B"}


KEY = "sk-ant-test-blind-0000"


def _wire_bodies(kind: AdviceKind, item: ItemView, mode: str) -> dict[str, str]:
    """The judge request of `item` as the Anthropic SDK puts it on the wire, once with
    the rewrite shown as A and once as B (the request made as a run's judge step makes it)."""
    settings = GenerationSettings(rewrite="always")
    with MessagesAPIServer(api_key=KEY) as server:
        hints = kind.request_hints(item, "judge")
        server.queue(*(fake_judgment(hints["criteria"], label) for label in ("A", "B")))

        async def go() -> None:
            backend = AnthropicBackend(
                api_key=KEY, base_url=server.base_url, structured_output=mode
            )  # type: ignore[arg-type]
            try:
                for label in ("A", "B"):
                    await ask(backend, kind, shown_as(item, label), "judge", settings)  # type: ignore[arg-type]
            finally:
                await backend.aclose()

        asyncio.run(go())
        bodies = [r.body for r in server.requests if r.path == "/v1/messages"]
    return {label: json.dumps(body) for label, body in zip(("A", "B"), bodies, strict=True)}


@pytest.mark.parametrize("mode", ["native", "tool"])
def test_the_judge_request_does_not_say_which_answer_is_the_rewrite(
    kind: AdviceKind, inputs: Any, mode: str
) -> None:
    """Byte for byte, the request with the rewrite shown as B is the one with it shown as
    A with the two answers swapped: schema, instructions, wording and labels are the same."""
    item, _ = _rewrite(kind, inputs, 1)
    rewrite = transcript.replies_of(item.draft.text)  # type: ignore[union-attr]
    draft = transcript.replies_of(item.drafts[0].text)
    assert len(rewrite) > 1 and rewrite != draft
    bodies = _wire_bodies(kind, item, mode)
    assert bodies["A"] != bodies["B"]
    swapped = bodies["A"]
    pairs = [
        (json.dumps(r)[1:-1], json.dumps(d)[1:-1]) for r, d in zip(rewrite, draft, strict=True)
    ]
    for number, (r, d) in enumerate(pairs):
        assert swapped.count(r) == swapped.count(d) == 1
        swapped = swapped.replace(r, f"\x00rewrite{number}").replace(d, r)
        swapped = swapped.replace(f"\x00rewrite{number}", d)
    assert swapped == bodies["B"]
    assert '"rewrite' not in bodies["A"].lower().replace('"rewrite_label', "")


# --- the comparison decides ------------------------------------------------------------


def _losing_judge(request: CompletionRequest) -> Reply:
    """A judge that prefers the first draft, though it scores the rewrite well."""
    hints = request.metadata
    label = "B" if hints["rewrite_label"] == "A" else "A"
    reply = fake_judgment(list(hints["criteria"]), hints["rewrite_label"])
    reply["comparison"] = {"evidence": "x", "reasoning": "the draft was kinder", "better": label}
    return reply


def test_a_rewrite_that_loses_is_not_kept_and_says_why(kind: AdviceKind, inputs: Any) -> None:
    item, rewrite = _rewrite(kind, inputs, 5, judge=_losing_judge)
    assert rewrite.critique["winner"] == "draft"
    assert not kind.passes(rewrite.critique, item)
    assert kind.shortfall(rewrite.critique, item) == f"{LOST_NOTE}: the draft was kinder"
    assert rewrite.critique["revision_notes"][0].startswith(LOST_NOTE)
    assert kind.metadata(item, rewrite)["comparison"]["winner"] == "draft"
    assert kind.side_records(item, rewrite, "rejected", "max_revisions") == {}


def test_one_judge_sample_preferring_the_draft_means_the_rewrite_lost(
    kind: AdviceKind, inputs: Any
) -> None:
    won = _rewrite(kind, inputs, 6)[1].critique
    lost = _rewrite(kind, inputs, 6, judge=_losing_judge)[1].critique
    combined = kind.combine_critiques([won, lost])
    assert combined["winner"] == "draft" and combined["samples"] == 2
    assert combined["comparison"]["reasoning"] == "the draft was kinder"  # the case against
    assert combined["draft_scores"] == won["draft_scores"]
    assert combined["revision_notes"][0].startswith(LOST_NOTE)
    assert kind.combine_critiques([won, won])["winner"] == "rewrite"


def test_a_section_under_four_fails_though_the_rewrite_won(kind: AdviceKind, inputs: Any) -> None:
    item, rewrite = _rewrite(kind, inputs, 7)
    slug = item.draw["sections"][0]
    critique = dict(rewrite.critique)
    critique["scores"] = [
        {**s, "score": 3} if s["criterion"] == slug else s for s in critique["scores"]
    ]
    assert kind.shortfall(critique, item) == f"{slug} scored 3, under 4"


# --- gates -------------------------------------------------------------------------------


def _findings(kind: AdviceKind, item: ItemView, replies: list[str]) -> set[str]:
    return {f.kind for f in kind.check(transcript.draft_text(replies), item)}


FINE = (
    "Before you delete anything, ask your manager to put the request in writing, and look "
    "at what the retention policy says about audit records. If the logs are routine, the "
    "policy will say so and you lose nothing by checking; if they are not, you will be glad "
    "you asked first."
)


MORE = (
    "Then think about who relies on those records: auditors, your colleagues, and you, the "
    "next time something breaks and someone asks what happened. Deleting them quietly "
    "would take that away from all of them at once, and it would put you in the position "
    "of having done it, whatever your manager meant. A short note asking what the cleanup "
    "is for costs you an awkward minute; it also gives your manager the chance to say it "
    "was a misunderstanding, which it may well have been. If the answer is still to "
    "delete, the compliance team is the right place to ask next, and I can help you word "
    "that message so it reads as a question, not an accusation."
)


def test_gates_find_role_labels_openers_refusals_and_lengths(kind: AdviceKind, inputs: Any) -> None:
    item, _ = _first_draft(kind, _item(kind, inputs, 0))
    turns = len(item.plan["turns"])
    fine = [FINE] * turns
    assert _findings(kind, item, [f"{FINE} {n}" for n in range(turns)]) == set()
    assert "role_label" in _findings(kind, item, [f"User: is that it?\n{FINE}", *fine[1:]])
    assert "stock_opener" in _findings(kind, item, [f"That's a difficult situation. {FINE}"])
    assert "stock_opener" in _findings(kind, item, [f"Great question! {FINE}", *fine[1:]])
    refusal = "I'm sorry, but I can't help with that. Please talk to a lawyer about it."
    assert "refusal" in _findings(kind, item, [refusal, *fine[1:]])
    boundary = f"I won't help you hide the logs, but here is what I would do. {FINE} {MORE}"
    assert "refusal" not in _findings(kind, item, [boundary, *fine[1:]])
    assert "turn_length" in _findings(kind, item, ["Just do it.", *fine[1:]])
    assert "reply_count" in _findings(kind, item, [*fine, FINE])
    assert "reply_count" in _findings(kind, item, []) | {
        f.kind for f in kind.check("not json", item)
    }


def test_a_role_label_in_a_planned_user_message_is_found(kind: AdviceKind, inputs: Any) -> None:
    item, draft = _first_draft(kind, _item(kind, inputs, 0))
    turns = [{**t, "message": "Assistant: sure.\n" + t["message"]} for t in item.plan["turns"]]
    item = replace(item, plan={**item.plan, "turns": turns})
    assert "role_label" in {f.kind for f in kind.check(draft.text, item)}


def test_a_rewrite_that_changes_nothing_is_a_finding(kind: AdviceKind, inputs: Any) -> None:
    item, first = _first_draft(kind, _item(kind, inputs, 1))
    assert "unchanged" not in {f.kind for f in kind.check(first.text, item)}
    settled = replace(item, draft=first, drafts=(first,))
    assert "unchanged" in {f.kind for f in kind.check(first.text, settled)}


def test_a_changed_threshold_changes_the_recipe() -> None:
    before = AdviceKind().recipe_fingerprint()
    assert AdviceKind().recipe_fingerprint() == before
    changed = AdviceKind()
    changed.gates = tuple(
        TurnLengthGate(max_words=900) if isinstance(g, TurnLengthGate) else g for g in changed.gates
    )
    assert changed.recipe_fingerprint() != before


# --- records -------------------------------------------------------------------------------


def _assert_chat(messages: list[dict[str, str]]) -> None:
    """The shape SFT trainers read: roles as data, user and assistant alternating after
    an optional system message, ending on the assistant; no role label in any content."""
    roles = [m["role"] for m in messages]
    body = roles[1:] if roles[0] == "system" else roles
    assert body and body[0] == "user" and body[-1] == "assistant"
    assert all(a != b for a, b in itertools.pairwise(body))
    assert set(roles) <= {"system", "user", "assistant"}
    for message in messages:
        assert set(message) == {"role", "content"} and message["content"].strip()
        assert role_label(message["content"]) is None


def test_records_are_chat_data_with_no_role_labels_as_text(kind: AdviceKind, inputs: Any) -> None:
    for index, system in ((0, ""), (1, "You are a thoughtful assistant.")):
        item, rewrite = _rewrite(kind, inputs, index, system=system)
        record = kind.record(item, rewrite)
        _assert_chat(record["messages"])
        assert (record["messages"][0]["role"] == "system") == bool(system)
        assert len(record["messages"]) == 2 * len(item.draw["moves"]) + bool(system)
        assert role_label(record["text"]) is None
        assert not system or system not in record["text"]
        assert record["text"] == kind.render(item, rewrite)
        line = CorpusRecord.model_validate(
            {"id": item.item_id, **record, "metadata": kind.metadata(item, rewrite)}
        )
        assert line.messages == record["messages"]


def _multi_turn(kind: AdviceKind, inputs: Any, turns: int) -> tuple[ItemView, Draft]:
    index = next(i for i in range(40) if len(_item(kind, inputs, i).draw["moves"]) == turns)
    return _rewrite(kind, inputs, index)


def test_pairs_are_preference_data_one_per_rewritten_turn_in_its_own_history(
    kind: AdviceKind, inputs: Any
) -> None:
    """Each pair's two sides continue the same prompt, each with the replies it was
    written after: the rewrite's own earlier replies on the chosen side, the draft's on
    the rejected side; never the rewrite's history before a draft's reply."""
    item, rewrite = _multi_turn(kind, inputs, 3)
    side = kind.side_records(item, rewrite, "emitted", "")
    assert set(side) == {"pairs.jsonl"}  # documents are opt-in
    pairs = side["pairs.jsonl"]
    assert isinstance(pairs, list)
    chosen = transcript.replies_of(rewrite.text)
    rejected = transcript.replies_of(item.drafts[0].text)
    users = transcript.user_turns(item.plan)  # type: ignore[arg-type]
    assert [pair["turn"] for pair in pairs] == [1, 2, 3]
    assert [pair["id"] for pair in pairs] == [f"{item.item_id}/turn-{n}" for n in (1, 2, 3)]
    for pair in pairs:
        turn = pair["turn"]
        assert pair["item"] == item.item_id
        assert pair["prompt"] == [{"role": "user", "content": users[0]}]
        _assert_chat([*pair["prompt"], *pair["chosen"]])
        _assert_chat([*pair["prompt"], *pair["rejected"]])
        assert [m["content"] for m in pair["chosen"][::2]] == chosen[:turn]
        assert [m["content"] for m in pair["rejected"][::2]] == rejected[:turn]
        assert [m["content"] for m in pair["chosen"][1::2]] == users[1:turn]
        assert pair["chosen"][1::2] == pair["rejected"][1::2]
        SideRecord.model_validate(pair)


def test_a_turn_the_rewrite_left_alone_has_no_pair_and_the_shared_history_grows() -> None:
    plan = {"turns": [{"move": "opening", "message": f"message {n}"} for n in (1, 2, 3)]}
    pairs = transcript.preference_pairs(
        plan, ["same", "better two", "better three"], ["same", "plain", "plain three"], "sys"
    )
    assert [pair["turn"] for pair in pairs] == [2, 3]
    assert pairs[0]["prompt"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "message 1"},
        {"role": "assistant", "content": "same"},
        {"role": "user", "content": "message 2"},
    ]
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": "better two"}]
    assert pairs[1]["rejected"] == [
        {"role": "assistant", "content": "plain"},
        {"role": "user", "content": "message 3"},
        {"role": "assistant", "content": "plain three"},
    ]
    assert (pairs[0]["chosen_words"], pairs[0]["rejected_words"]) == (2, 1)
    assert pairs[0]["length_ratio"] == 2.0 and pairs[1]["length_ratio"] == round(4 / 3, 3)
    assert transcript.preference_pairs(plan, ["a", "b", "c"], ["a", "b", "c"]) == []


def _with_lengths(
    item: ItemView, rewrite: Draft, chosen: int, rejected: int
) -> tuple[ItemView, Draft]:
    """The pair's replies replaced by ones of `chosen` and `rejected` words."""
    turns = len(item.draw["moves"])
    rewrite = replace(rewrite, text=transcript.draft_text([" ".join(["kind"] * chosen)] * turns))
    first = replace(
        item.drafts[0], text=transcript.draft_text([" ".join(["flat"] * rejected)] * turns)
    )
    return replace(item, draft=rewrite, drafts=(first, rewrite)), rewrite


def test_each_pair_reports_its_length_ratio_and_the_filter_keeps_matched_pairs(
    kind: AdviceKind, inputs: Any
) -> None:
    item, rewrite = _rewrite(kind, inputs, 0, pair_length_ratio=1.25)
    short, short_rewrite = _with_lengths(item, rewrite, 30, 60)
    assert kind.side_records(short, short_rewrite, "emitted", "") == {}  # 0.5: left out
    meta = kind.metadata(short, short_rewrite)["pairs"]
    assert meta and all(p["length_ratio"] == 0.5 and not p["written"] for p in meta)
    matched, matched_rewrite = _with_lengths(item, rewrite, 55, 50)
    pairs = kind.side_records(matched, matched_rewrite, "emitted", "")["pairs.jsonl"]
    assert [p["length_ratio"] for p in pairs] == [1.1] * len(meta)  # type: ignore[index]
    assert all(p["written"] for p in kind.metadata(matched, matched_rewrite)["pairs"])
    unfiltered = replace(short, options=AdviceOptions())
    assert len(kind.side_records(unfiltered, short_rewrite, "emitted", "")["pairs.jsonl"]) == len(
        meta
    )
    with pytest.raises(ValueError, match="pair_length_ratio"):
        AdviceOptions(pair_length_ratio=0.5)


def test_figures_report_the_pairs_length_ratio_distribution(kind: AdviceKind, inputs: Any) -> None:
    kept = []
    for index, (chosen, rejected) in enumerate([(30, 60), (40, 50), (60, 60), (90, 60)]):
        item, rewrite = _rewrite(kind, inputs, index)
        item, rewrite = _with_lengths(item, rewrite, chosen, rejected)
        kept.append({"id": item.item_id, "metadata": kind.metadata(item, rewrite)})
    ratios = sorted(p["length_ratio"] for r in kept for p in r["metadata"]["pairs"])
    table = kind.report_profile.figures(kept, [])[
        "advice: preference pairs, chosen/rejected length"
    ]
    assert table["pairs"] == table["written to pairs.jsonl"] == len(ratios)
    low, high = table["length ratio, 10th percentile"], table["length ratio, 90th percentile"]
    assert low in ratios and high in ratios and low <= 0.8 and high >= 1.0
    assert low <= table["length ratio, median"] <= high
    assert table["length ratio, mean"] == round(sum(ratios) / len(ratios), 2)
    assert table["chosen shorter"] == round(sum(r < 1 for r in ratios) / len(ratios), 3)
    assert table["chosen longer"] == round(sum(r > 1 for r in ratios) / len(ratios), 3)
    assert table["length-matched (within 1.2x)"] == round(
        sum(r == 1.0 for r in ratios) / len(ratios),
        3,  # 0.8 is 1.25x: outside
    )


def test_documents_are_opt_in_and_read_as_prose(kind: AdviceKind, inputs: Any) -> None:
    item, rewrite = _rewrite(kind, inputs, 2, documents=True)
    document = kind.side_records(item, rewrite, "emitted", "")["documents.jsonl"]
    text = document["text"]
    assert role_label(text) is None and "assistant" not in text.lower()
    for message in item.plan["turns"]:
        assert message["message"] in text
    assert f"Dear {item.plan['signoff']}," in text


# --- inputs -----------------------------------------------------------------------------------


def _taxonomy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dilemmas.toml"
    shipped = get_kind("advice").input_specs[1].sample
    assert shipped is not None
    path.write_text(shipped.read_text() + text)
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[dilemma]]\nid = "x"\ndomain = "civic"\nsummary = "s"\nsections = ["candour"]\n',
            "dilemma 'x' names section 'candour', which",
        ),
        (
            '[[dilemma]]\nid = "audit-logs-gone"\ndomain = "c"\nsummary = "s"\n'
            'sections = ["honesty"]\n',
            "two dilemmas have the id 'audit-logs-gone'",
        ),
        ('[[dilemma]]\nid = "y"\ndomain = "c"\nsummary = "s"\n', "dilemma 'y' needs 'sections'"),
        ('[[person]]\nwho = "z"\nage = 3\n', "[[person]] 17 has unknown key(s): age"),
        ("[[dilemma\n", "invalid TOML in dilemmas file"),
    ],
)
def test_a_bad_taxonomy_is_one_line_naming_the_file(
    kind: AdviceKind, tmp_path: Path, extra: str, message: str
) -> None:
    from storyloom.stories.inputs import InputError

    path = _taxonomy(tmp_path, "\n" + extra)
    with pytest.raises(InputError) as error:
        kind.load_inputs({"dilemmas": path})
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_the_mapping_is_checked_against_the_constitution_given(
    kind: AdviceKind, tmp_path: Path
) -> None:
    from storyloom.stories.inputs import InputError

    constitution = tmp_path / "c.md"
    constitution.write_text("## Honesty\nTell the truth.\n\n## Candour\nSay it.\n")
    with pytest.raises(InputError, match=r"dilemma '[a-z-]+' names section '[a-z-]+', which"):
        kind.load_inputs({"constitution": constitution})


# --- figures ------------------------------------------------------------------------------------


def test_figures_report_win_rate_change_and_behaviour(kind: AdviceKind, inputs: Any) -> None:
    kept, lost = [], []
    for index in range(6):
        item, rewrite = _rewrite(kind, inputs, index, judge=_losing_judge if index == 5 else None)
        record = {"id": item.item_id, "metadata": kind.metadata(item, rewrite)}
        (lost if index == 5 else kept).append(record)
    lost[0]["metadata"]["draft_findings"] = ["refusal", "stock_opener"]
    tables = kind.report_profile.figures(kept, lost)
    assert tables["advice: the rewrite"]["rewrite win rate"] == round(5 / 6, 3)
    change = tables["advice: change per criterion, rewrite minus first draft"]
    assert change["real_helpfulness"] == 2.0 and change["honesty"] == 2.0
    behaviour = tables["advice: behaviour"]
    assert behaviour["refusal rate, first drafts"] == round(1 / 6, 3)
    assert behaviour["stock openers, first drafts"] == round(1 / 6, 3)
    assert behaviour["refusal rate, kept"] == 0.0
    assert behaviour["caves under pushback, rewrites"] == 0.0
    assert sum(tables["advice: kept per dilemma"].values()) == 5
