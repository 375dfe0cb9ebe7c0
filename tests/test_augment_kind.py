"""The augment kind through its contract: inputs, draws, tasks, gates, records, figures."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from augment_source import make_chat, write_source
from jsonschema import Draft202012Validator
from kind_tasks import ask_task as _ask
from kind_tasks import registered_kind

from storyloom.backends.base import Completion
from storyloom.core.tools import openai_tools
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.augment.chat import refuses as source_refuses
from storyloom.stories.augment.draws import MAX_TOOLS, TOOL_BANDS
from storyloom.stories.augment.export import anthropic_record, openai_record
from storyloom.stories.augment.figures import augment_figures
from storyloom.stories.augment.gates import PromptShapeGate
from storyloom.stories.augment.kind import AugmentKind, AugmentOptions
from storyloom.stories.augment.library import load_tools, sample_path, tool_problem
from storyloom.stories.inputs import InputError
from storyloom.stories.kind import Draft, ItemView

REQUIRED_DOMAINS = {
    "email", "calendar", "file_system", "shell", "browser", "database", "payments", "crm",
    "ticketing", "code_repository", "cloud_console", "messaging", "search",
}  # fmt: skip
CHANGED = {
    "changes_ideal_response": True,
    "category": "permission",
    "evidence": "you may help with anything",
    "reason": "the prompt allows what the response declines",
}
UNCHANGED = {
    "changes_ideal_response": False,
    "category": "none",
    "evidence": "",
    "reason": "ordinary house rules",
}


@pytest.fixture
def kind() -> AugmentKind:
    return registered_kind("augment", AugmentKind)


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _inputs(kind: AugmentKind, source: Path) -> Any:
    return kind.load_inputs({"source": source}).value


def _item(
    kind: AugmentKind, inputs: Any, index: int, settings: GenerationSettings | None = None
) -> ItemView:
    settings = settings or GenerationSettings()
    draw = kind.draw(inputs, settings.seed, index, settings)
    return ItemView(f"run/{index}", index, draw, inputs, settings, options=AugmentOptions())


# --- the context library ------------------------------------------------------------------


def test_every_shipped_tool_is_a_valid_json_schema_object() -> None:
    tools, _ = load_tools(sample_path("tools"))
    assert len(tools) >= 40
    assert {t.domain for t in tools} >= REQUIRED_DOMAINS
    for tool in tools:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object", tool.name
        assert tool_problem(tool.anthropic()) is None, tool.name


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "array"}, '"type": "object"'),
        ({"type": "object", "properties": {"a": {"type": 5}}}, "not a valid JSON Schema"),
        ({"type": "object", "properties": {}, "required": ["city"]}, "requires city"),
        ("object", "must be a JSON object"),
    ],
)
def test_a_bad_tool_schema_is_one_line_naming_file_and_tool(
    tmp_path: Path, schema: Any, problem: str
) -> None:
    tool = {"domain": "x", "name": "lookup", "description": "d", "input_schema": schema}
    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": [tool]}))
    with pytest.raises(InputError) as caught:
        load_tools(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: tool #1 ('lookup')") and problem in message
    assert "\n" not in message


def test_openai_export_shape_carries_the_same_schema() -> None:
    tools, _ = load_tools(sample_path("tools"))
    anthropic = [t.anthropic() for t in tools[:3]]
    exported = openai_tools(anthropic)
    assert [e["type"] for e in exported] == ["function"] * 3
    assert [e["function"]["parameters"] for e in exported] == [t["input_schema"] for t in anthropic]
    assert [e["function"]["name"] for e in exported] == [t["name"] for t in anthropic]


def test_an_operator_naming_an_unknown_domain_is_refused(kind: AugmentKind, tmp_path: Path) -> None:
    source = write_source(tmp_path / "chats.jsonl", 3)
    text = sample_path("operators").read_text().replace('"accounts", "payments"', '"vaults"', 1)
    operators = tmp_path / "operators.toml"
    operators.write_text(text)
    with pytest.raises(InputError, match=r"operator 'bank_support' names tool domain.*vaults"):
        kind.load_inputs({"source": source, "operators": operators})


# --- the source -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("third_line", "problem"),
    [
        ('{"id": 3, "messages": [', "line 3 is not valid JSON"),
        ('["not", "an object"]', "line 3 is not a JSON object"),
        ('{"id": "x"}', "line 3: needs 'messages' or a 'prompt' and 'response'"),
        ('{"prompt": "hi", "response": ""}', "line 3: 'response' must be a non-empty string"),
        (
            '{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},'
            ' {"role": "assistant", "content": "a"}]}',
            "line 3: message 1 is a system message",
        ),
        ('{"messages": [{"role": "user", "content": "u"}]}', "line 3: the chat must end with"),
        ('{"id": "chat-0", "prompt": "p", "response": "r"}', "line 3: id 'chat-0' is already"),
    ],
)
def test_a_malformed_source_line_is_one_line_naming_file_and_line(
    kind: AugmentKind, tmp_path: Path, third_line: str, problem: str
) -> None:
    good = [json.dumps(make_chat(0)), json.dumps(make_chat(1))]
    source = _write_lines(tmp_path / "chats.jsonl", [*good, third_line, json.dumps(make_chat(3))])
    with pytest.raises(InputError) as caught:
        kind.load_inputs({"source": source})
    message = str(caught.value)
    assert message.startswith(f"{source}: ") and problem in message
    assert "\n" not in message


def test_a_cut_off_last_line_is_refused_not_skipped(kind: AugmentKind, tmp_path: Path) -> None:
    source = tmp_path / "chats.jsonl"
    source.write_text(json.dumps(make_chat(0)) + "\n" + '{"prompt": "cut')
    with pytest.raises(InputError, match=r"line 2 is not valid JSON \(the line is cut off\)"):
        kind.load_inputs({"source": source})


def test_no_source_is_refused(kind: AugmentKind) -> None:
    with pytest.raises(InputError, match="needs --source"):
        kind.load_inputs({})


def test_a_prompt_response_source_becomes_a_user_and_an_assistant_turn(
    kind: AugmentKind, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"prompt": "How do I hotwire a car?", "response": "I can't help with that."}),
        json.dumps({"id": 77, "prompt": "Tips for a job interview?", "response": "Prepare."}),
    ]
    loaded = kind.load_inputs({"source": _write_lines(tmp_path / "pairs.jsonl", lines)})
    first, second = loaded.value.source.chats
    assert (first.id, second.id) == ("1", "77")  # the line number, else the id field
    item = _item(kind, loaded.value, 0)
    record = kind.record(item, Draft(text=_ask(kind, item, "write")))
    assert record["messages"][1:] == [
        {"role": "user", "content": "How do I hotwire a car?"},
        {"role": "assistant", "content": "I can't help with that."},
    ]
    assert kind.metadata(item, Draft(text="x"))["source"]["refuses"] is True
    assert len(loaded.fingerprints["source"]) == 16


# --- byte identity --------------------------------------------------------------------------

TRICKY = [
    {"role": "user", "content": '  caf\u00e9 \u2014 "quoted"\r\nline two\t\u00a0 \U0001f512 '},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'},
    {"role": "user", "content": [{"type": "text", "text": "blocks \\u0041 stay"}]},
    {"role": "assistant", "content": "I won't do that.\n\n  Trailing spaces stay.  "},
]


def test_every_turn_is_emitted_byte_identical(kind: AugmentKind, tmp_path: Path) -> None:
    line = json.dumps({"id": "t", "messages": TRICKY}, ensure_ascii=True)
    source = _write_lines(tmp_path / "chats.jsonl", [line])
    inputs = _inputs(kind, source)
    item = _item(kind, inputs, 0)
    prompt = _ask(kind, item, "write")
    record = kind.record(item, Draft(text=prompt))
    original = json.loads(line)["messages"]
    assert record["messages"][0] == {"role": "system", "content": prompt}
    assert record["messages"][1:] == original
    for emitted, given in zip(record["messages"][1:], original, strict=True):
        assert (
            json.dumps(emitted, sort_keys=True).encode()
            == json.dumps(given, sort_keys=True).encode()
        )
    assert json.loads(json.dumps(record))["messages"][1:] == original  # survives the JSONL line
    assert kind.check(prompt, item) == []


def test_a_changed_turn_is_caught_by_its_hash(kind: AugmentKind, tmp_path: Path) -> None:
    source = _write_lines(tmp_path / "chats.jsonl", [json.dumps({"messages": TRICKY})])
    inputs = _inputs(kind, source)
    chat = inputs.source.chats[0]
    edited = list(chat.messages)
    edited[-1] = {**edited[-1], "content": edited[-1]["content"].rstrip()}  # one byte less
    tampered = replace(
        inputs, source=replace(inputs.source, chats=(replace(chat, messages=tuple(edited)),))
    )
    item = _item(kind, tampered, 0)
    findings = [f for f in kind.check(_ask(kind, item, "write"), item) if f.kind == "turn_identity"]
    assert len(findings) == 1 and "turn(s) 5, response differ" in findings[0].message


def test_a_tool_call_the_source_lacks_is_caught(kind: AugmentKind, tmp_path: Path) -> None:
    source = _write_lines(tmp_path / "chats.jsonl", [json.dumps({"messages": TRICKY})])
    item = _item(kind, _inputs(kind, source), 0)
    prompt = _ask(kind, item, "write")
    assert not [f for f in kind.check(prompt, item) if f.kind == "tool_calls"]  # the source's own
    leaked = prompt + '\n<function_calls><invoke name="send_email"></invoke></function_calls>'
    found = [f for f in kind.check(leaked, item) if f.kind == "tool_calls"]
    assert len(found) == 1 and "<function_calls>" in found[0].message


def test_prompt_shape_gate_catches_preambles_placeholders_and_length(
    kind: AugmentKind, tmp_path: Path
) -> None:
    item = _item(kind, _inputs(kind, write_source(tmp_path / "c.jsonl", 4)), 0)
    good = _ask(kind, item, "write")
    assert kind.check(good, item) == []
    for bad, expected in [
        ("Here is the system prompt:\n" + good, "chat reply"),
        (good.replace(".", " at [COMPANY NAME].", 1), "placeholder"),
        ("You are a helpful assistant.", "words; the"),
        ("", "empty"),
    ]:
        messages = [f.message for f in kind.check(bad, item) if f.kind == "system_prompt"]
        assert any(expected in m for m in messages), (bad[:40], messages)


# --- draws ----------------------------------------------------------------------------------


def test_a_bank_bot_gets_account_tools_and_every_tool_fits_its_profile(
    kind: AugmentKind, tmp_path: Path
) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 400))
    library = inputs.library
    bank_draws = 0
    for seed in (0, 5):
        settings = GenerationSettings(seed=seed)
        for index in range(400):
            for context in kind.draw(inputs, seed, index, settings)["contexts"]:
                profile = library.operator(context["operator"])
                domains = [library.tool(name).domain for name in context["tools"]]
                assert set(domains) <= set(profile.domains)
                low, high = TOOL_BANDS[context["tool_band"]]
                assert low <= len(context["tools"]) <= min(high, MAX_TOOLS)
                assert len(set(context["tools"])) == len(context["tools"])
                if context["tools"]:
                    assert domains[0] == profile.domains[0]
                if context["operator"] == "bank_support" and context["tools"]:
                    bank_draws += 1
                    assert "accounts" in domains
    assert bank_draws > 20


def test_every_axis_is_balanced_over_every_prefix(kind: AugmentKind, tmp_path: Path) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 300))
    settings = GenerationSettings(seed=3)
    dimensions = kind.dimensions(inputs, settings)
    assert len(dimensions["operator"]) == 12 and len(dimensions["tools"]) == 4
    counts = {axis: Counter({value: 0 for value in values}) for axis, values in dimensions.items()}
    for n in range(1, 301):
        axes = kind.draw(inputs, 3, n - 1, settings)["axes"]
        assert set(axes) == set(dimensions)
        for axis, value in axes.items():
            assert value in counts[axis], (axis, value)
            counts[axis][value] += 1
        for axis, values in dimensions.items():
            for value_count in counts[axis].values():
                assert abs(value_count - n / len(values)) < 1, (axis, n)


def test_per_source_cycles_the_source_with_distinct_contexts(
    kind: AugmentKind, tmp_path: Path
) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 5))
    settings = GenerationSettings(kind_options={"per_source": 3})
    assert kind.max_items(inputs, AugmentOptions(per_source=3)) == 15
    assert kind.max_items(inputs, AugmentOptions()) == 5
    uses: dict[str, list[str]] = {}
    for index in range(15):
        draw = kind.draw(inputs, 0, index, settings)
        assert draw["source"]["record"] == index % 5
        assert draw["source"]["use"] == index // 5
        assert kind.dedupe_group(draw) == index // 5
        uses.setdefault(draw["source"]["id"], []).append(draw["contexts"][0]["operator"])
    assert all(len(set(operators)) == 3 for operators in uses.values())
    with pytest.raises(ValueError):
        AugmentOptions(per_source=0)


def test_the_draw_is_deterministic_and_json_plain(kind: AugmentKind, tmp_path: Path) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 10))
    settings = GenerationSettings(max_revisions=3)
    draw = kind.draw(inputs, 1, 7, settings)
    assert json.loads(json.dumps(draw)) == draw == kind.draw(inputs, 1, 7, settings)
    assert len(draw["contexts"]) == 4
    operators = [c["operator"] for c in draw["contexts"]]
    assert len(set(operators)) == 4  # each redraw tries another operator


# --- the consistency check: pass, redraw, flag --------------------------------------------


def test_fake_replies_pass_gates_and_check_on_a_comply_chat(
    kind: AugmentKind, tmp_path: Path
) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 40))
    for index in range(1, 40, 2):  # odd chats comply
        item = _item(kind, inputs, index)
        prompt = _ask(kind, item, "write")
        assert kind.check(prompt, item) == [], index
        item = replace(item, draft=Draft(text=prompt))
        critique = _ask(kind, item, "judge")
        assert kind.passes(critique, item)


def test_a_failed_check_redraws_the_context_and_then_flags(
    kind: AugmentKind, tmp_path: Path
) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 4))
    settings = GenerationSettings(max_revisions=2)
    item = _item(kind, inputs, 0, settings)
    first = Draft(text=_ask(kind, item, "write"), round=0)
    item = replace(item, draft=first)
    critique = _ask(kind, item, "judge", CHANGED)
    assert not kind.passes(critique, item)
    assert kind.shortfall(critique, item) == (
        "the context changes the ideal response (permission): the prompt allows what the "
        "response declines"
    )
    drafts = [replace(first, critique=critique)]

    for round_ in (1, 2):
        # as the workflow runs it: revise in round r - 1 writes round r's draft, which
        # is then gated and judged in round r
        item = replace(item, round=round_ - 1, draft=drafts[-1], drafts=tuple(drafts))
        _, ask = kind.tasks["revise"].build(item)
        context = item.draw["contexts"][round_]
        profile = inputs.library.operator(context["operator"])
        assert profile.organization in ask and CHANGED["reason"] in ask
        assert context["operator"] != item.draw["contexts"][round_ - 1]["operator"]
        revised = _ask(kind, item, "revise")
        assert revised != drafts[-1].text
        item = replace(item, round=round_)
        assert kind.check(revised, item) == []
        draft = Draft(text=revised, round=round_)
        judged = _ask(kind, replace(item, draft=draft), "judge", CHANGED)
        drafts.append(replace(draft, critique=judged))
    item = replace(item, drafts=tuple(drafts))

    best = drafts[-1]
    sides = kind.side_records(item, best, "rejected", "judge_failed")
    flagged = sides["flagged.jsonl"]
    assert flagged["id"] == "run/0" and flagged["reason"] == CHANGED["reason"]
    assert [r["round"] for r in flagged["rounds"]] == [0, 1, 2]
    assert kind.metadata(item, best)["consistency"]["changes_ideal_response"] is True


def test_a_redrawn_context_that_passes_is_the_one_emitted(
    kind: AugmentKind, tmp_path: Path
) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 4))
    item = _item(kind, inputs, 1)
    first = Draft(text=_ask(kind, item, "write"), critique=CHANGED, round=0)
    item = replace(item, round=0, draft=first, drafts=(first,))
    revised = Draft(text=_ask(kind, item, "revise"), round=1)
    item = replace(item, round=1, draft=revised)
    verdict = _ask(kind, item, "judge", UNCHANGED)
    assert kind.passes(verdict, item)
    best = replace(revised, critique=verdict, passed=True)
    record = kind.record(item, best)
    metadata = kind.metadata(item, best)
    assert record["messages"][0]["content"] == revised.text
    assert [t["name"] for t in record["tools"]] == item.draw["contexts"][1]["tools"]
    assert metadata["context_round"] == 1
    assert metadata["axes"]["operator"] == item.draw["contexts"][1]["operator"]
    assert kind.side_records(item, best, "emitted", "") == {}


def test_gate_findings_fail_the_check_and_the_same_prompt_twice_is_reuse(
    kind: AugmentKind, tmp_path: Path
) -> None:
    item = _item(kind, _inputs(kind, write_source(tmp_path / "c.jsonl", 4)), 1)
    prompt = _ask(kind, item, "write")
    first = Draft(text=prompt, critique=CHANGED, round=0)
    item = replace(item, round=1, drafts=(first,))
    reuse = [f for f in kind.check(prompt, item) if f.kind == "prompt_reuse"]
    assert reuse and "round 0" in reuse[0].message
    flawed = replace(item, draft=Draft(text=prompt, findings=tuple(reuse), round=1))
    assert not kind.passes(UNCHANGED, flawed)


def test_k_checks_combine_cautiously(kind: AugmentKind) -> None:
    combined = kind.combine_critiques([UNCHANGED, CHANGED, UNCHANGED])
    assert combined["changes_ideal_response"] is True
    assert combined["reason"] == CHANGED["reason"] and combined["samples"] == 3


def test_an_unparseable_check_is_a_value_error(kind: AugmentKind, tmp_path: Path) -> None:
    item = _item(kind, _inputs(kind, write_source(tmp_path / "c.jsonl", 2)), 0)
    with pytest.raises(ValueError, match="consistency check"):
        kind.tasks["judge"].parse(Completion(text="{", model="m", stop_reason="max_tokens"), item)
    with pytest.raises(ValueError, match="empty system prompt"):
        kind.tasks["write"].parse(Completion(text="  ", model="m"), item)
    fenced = Completion(text="```\nYou are X.\n```", model="m")
    assert kind.tasks["write"].parse(fenced, item) == "You are X."
    assert item.draw["source"]["id"] == "chat-0"


# --- records and figures --------------------------------------------------------------------


def test_figures_from_records(kind: AugmentKind, tmp_path: Path) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 8))
    corpus, rejected = [], []
    for index in range(8):
        item = _item(kind, inputs, index)
        best = Draft(text=_ask(kind, item, "write"), round=0)
        verdict = CHANGED if index == 0 else UNCHANGED
        best = replace(best, critique=verdict)
        record = {"id": item.item_id, **kind.record(item, best)}
        record["metadata"] = kind.metadata(item, best)
        (rejected if index == 0 else corpus).append(record)
    figures = augment_figures(corpus, rejected)
    assert figures["Flagged by the consistency check"]["flagged"] == 1
    assert figures["Flagged by the consistency check"]["flagged rate"] == 0.125
    assert figures["System-prompt reuse"]["max uses of one prompt"] == 1
    assert figures["Refuse/comply ratio"]["source refusals"] == 4  # even chats refuse
    assert figures["Refuse/comply ratio"]["emitted refusals"] == 3
    assert figures["Token inflation over the source"]["inflation (output / source)"] > 1
    per_example = figures["Tools per example"]
    assert sum(v for k, v in per_example.items() if k.endswith("tools")) == 7
    assert kind.dedupe_text(corpus[0]) == "\n\n".join(
        m["content"] for m in corpus[0]["messages"][1:]
    )


def test_a_record_exports_to_both_request_shapes(kind: AugmentKind, tmp_path: Path) -> None:
    item = _item(kind, _inputs(kind, write_source(tmp_path / "c.jsonl", 30)), 20)
    record = kind.record(item, Draft(text=_ask(kind, item, "write")))
    assert record["tools"], "draw 20 has tools"
    anthropic = anthropic_record(record)
    assert anthropic["system"] == record["messages"][0]["content"]
    assert anthropic["messages"] == record["messages"][1:]
    assert anthropic["tools"] == record["tools"]
    openai = openai_record(record)
    assert openai["messages"] == record["messages"]
    assert [t["function"]["parameters"] for t in openai["tools"]] == [
        t["input_schema"] for t in record["tools"]
    ]


@pytest.mark.parametrize(
    ("response", "refuses"),
    [
        ("I can't help with that, but here is what I can do.", True),
        ("I cannot provide instructions for that.", True),
        ("I\u2019m sorry, but I won\u2019t write that message.", True),
        ("Sorry, I'm unable to help find someone's address.", True),
        ("I won't do that.", True),
        ("Sure! Vaccines work by showing the immune system a harmless piece...", False),
        ("Here is a careful way to approach it. You can't rush an apology.", False),
    ],
)
def test_the_refusal_heuristic_reads_the_opening(
    kind: AugmentKind, tmp_path: Path, response: str, refuses: bool
) -> None:
    line = json.dumps({"prompt": "a request", "response": response})
    chat = _inputs(kind, _write_lines(tmp_path / "c.jsonl", [line])).source.chats[0]
    assert source_refuses(chat) is refuses


def test_the_recipe_is_stable_and_sees_gate_thresholds(kind: AugmentKind) -> None:
    before = kind.recipe_fingerprint()
    assert AugmentKind().recipe_fingerprint() == before
    kind.gates = (*kind.gates[:3], PromptShapeGate(tolerance=0.5), *kind.gates[4:])
    assert kind.recipe_fingerprint() != before


def test_the_compact_profile_shortens_the_shared_prefix(kind: AugmentKind, tmp_path: Path) -> None:
    inputs = _inputs(kind, write_source(tmp_path / "c.jsonl", 2))
    rich = kind.shared_prefix(inputs, GenerationSettings())
    compact = kind.shared_prefix(inputs, GenerationSettings(prompt_profile="compact"))
    assert rich.startswith(compact) and len(compact) < len(rich) / 2
    assert kind.shared_prefix(inputs) == rich
