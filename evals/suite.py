"""Evaluation suites: scenarios, their variation dimensions, and the trials they expand to.

A suite is data (docs/evals.md): shipped ones live in `evals/data/`, a user's is a YAML or
JSONL file. Each scenario is one of three types: `agentic` (a deployed agent with tools
whose results the scenario scripts, and a harmful shortcut it may take), `choice` (multiple
choice, one true option) and `open` (an open question judged against a reference). A
`claims` suite is generated from a claims file (the documents kind's input).

A scenario's texts name variation dimensions as `{dimension}`; every combination of the
values of the dimensions it names is one trial template, whose id is
`<scenario id>@<dim>=<value>,...`. `Suite.texts()` yields each template with the whole
text a model would see, which is what a corpus is decontaminated against.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from storyloom.evals.suite_file import Record, read_suite_records
from storyloom.stories.inputs import InputError, fingerprint

ScenarioType = Literal["agentic", "choice", "open"]
SCENARIO_TYPES: tuple[ScenarioType, ...] = ("agentic", "choice", "open")
SUITE_DATA = "storyloom.evals"
SUITE_SUFFIXES = (".yaml", ".yml", ".jsonl")
#: The name a persona dimension's value may use for the model under test.
PERSONA_NAME = "persona_name"
DEFAULT_PERSONA_NAME = "Wren"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")


@dataclass(frozen=True)
class ToolResult:
    """What the simulated tool returns when a call's arguments contain `when`'s texts."""

    tool: str
    result: str
    when: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HarmCheck:
    """A tool call that is the harmful shortcut: this tool, each named argument holding
    at least one of its texts (case-insensitive)."""

    tool: str
    args_contain: Mapping[str, tuple[str, ...]]
    why: str
    #: Arguments that must hold none of their texts (e.g. `to` not the one person who may
    #: be told).
    args_lack: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    id: str
    family: str
    type: ScenarioType
    line: int
    system: str = ""
    user: str = ""
    tools: Mapping[str, str] = field(default_factory=dict)
    tool_results: tuple[ToolResult, ...] = ()
    default_result: str = "error: nothing found"
    harmful: tuple[HarmCheck, ...] = ()
    rubric: str = ""
    max_turns: int = 4
    options: tuple[str, ...] = ()
    answer: int = 0
    reference: str = ""
    #: Per dimension, this scenario's own text for a value (over the suite's default).
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialTemplate:
    """One scenario under one variation: what a trial of it shows the model."""

    id: str
    scenario: Scenario
    variation: Mapping[str, str]
    system: str
    user: str
    #: Choice scenarios: the options in the order shown, and the true one's index there.
    options: tuple[str, ...] = ()
    answer: int = 0
    tool_results: tuple[ToolResult, ...] = ()
    default_result: str = ""


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    #: sha256 (16 hex digits, like every fingerprint of the tool) of the canonical content.
    fingerprint: str
    source: str
    scenarios: tuple[Scenario, ...]
    dimensions: Mapping[str, Mapping[str, str]]
    persona_name: str = DEFAULT_PERSONA_NAME

    def templates(self, persona_name: str | None = None) -> Iterator[TrialTemplate]:
        """Every scenario under every variation, in file order."""
        name = persona_name or self.persona_name
        for scenario in self.scenarios:
            yield from _expand(self, scenario, name)

    def texts(self, persona_name: str | None = None) -> Iterator[tuple[str, str]]:
        """(template id, the whole text a model would see for it): system prompt with the
        tool protocol, user turn, every scripted tool result, options."""
        from storyloom.evals.prompts import template_text

        for template in self.templates(persona_name):
            yield template.id, template_text(template)


def shipped_suites() -> list[str]:
    folder = resources.files(SUITE_DATA).joinpath("data")
    return sorted(
        entry.name.rsplit(".", 1)[0]
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    )


def shipped_suite_path(name: str) -> Path:
    return Path(str(resources.files(SUITE_DATA).joinpath("data", f"{name}.yaml")))


def load_suite(ref: str) -> Suite:
    """A shipped suite by name, or a user's suite file by path."""
    if ref in shipped_suites():
        return _load(shipped_suite_path(ref), shipped=True)
    path = Path(ref)
    if not path.exists() and path.suffix.lower() not in SUITE_SUFFIXES:
        raise InputError(
            f"{ref}: no such suite file, and not a shipped suite "
            f"(shipped: {', '.join(shipped_suites())})"
        )
    if path.suffix.lower() not in SUITE_SUFFIXES:
        raise InputError(f"{path}: a suite file ends in .yaml, .yml or .jsonl")
    return _load(path, shipped=False)


def _load(path: Path, *, shipped: bool) -> Suite:
    header, records = read_suite_records(path)
    where = f"{path}: line {header.line}:"
    _only(header, {"name", "description", "dimensions", "persona_name"}, where, "suite")
    name = _text(header, "name", where, default=path.stem)
    dimensions = _dimensions(header.get("dimensions", {}), where)
    persona_name = _text(header, PERSONA_NAME, where, default=DEFAULT_PERSONA_NAME)
    content: list[Any] = [dict(header), [dict(record) for record in records]]
    scenarios: list[Scenario] = []
    for record in records:
        if record.get("type") == "claims":
            from storyloom.evals.claim_questions import claim_scenarios, claims_path

            claims_file = claims_path(path, record, shipped=shipped)
            generated, claims_text = claim_scenarios(path, claims_file, record)
            content.append(claims_text)
            scenarios.extend(generated)
        else:
            scenarios.append(parse_scenario(path, record, dimensions))
    seen: dict[str, int] = {}
    for scenario in scenarios:
        if scenario.id in seen:
            raise InputError(
                f"{path}: line {scenario.line}: scenario id {scenario.id!r} is also on line "
                f"{seen[scenario.id]}"
            )
        seen[scenario.id] = scenario.line
    canonical = _canonical(content)
    return Suite(
        name=name,
        description=_text(header, "description", where, default=""),
        fingerprint=fingerprint(canonical),
        source=str(path),
        scenarios=tuple(scenarios),
        dimensions=dimensions,
        persona_name=persona_name,
    )


def _canonical(content: list[Any]) -> str:
    import json

    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_FIELDS: dict[str, set[str]] = {
    "agentic": {
        "system",
        "user",
        "tools",
        "tool_results",
        "default_result",
        "harmful",
        "rubric",
        "max_turns",
    },
    "choice": {"system", "question", "options", "answer"},
    "open": {"system", "question", "reference", "rubric"},
}


def parse_scenario(
    path: Path, record: Record, dimensions: Mapping[str, Mapping[str, str]]
) -> Scenario:
    where = f"{path}: line {record.line}:"
    kind = record.get("type", "agentic")
    if kind not in SCENARIO_TYPES:
        raise InputError(
            f"{where} scenario type {kind!r} is not one of {', '.join(SCENARIO_TYPES)}, claims"
        )
    _only(record, {"id", "family", "type", "variants", *_FIELDS[kind]}, where, f"{kind} scenario")
    scenario_id = _text(record, "id", where)
    if not _ID.match(scenario_id):
        raise InputError(f"{where} scenario id {scenario_id!r} may hold only letters, digits, _./-")
    base: dict[str, Any] = {
        "id": scenario_id,
        "family": _text(record, "family", where),
        "type": kind,
        "line": record.line,
        "system": _text(record, "system", where, default=""),
        "variants": _dimensions(record.get("variants", {}), where, field_name="variants"),
    }
    unknown = sorted(set(base["variants"]) - set(dimensions))
    if unknown:
        raise InputError(
            f"{where} variants name dimension(s) the suite lacks: {', '.join(unknown)}"
        )
    if kind == "agentic":
        tools = _string_map(record.get("tools"), where, "tools")
        if not tools:
            raise InputError(f"{where} an agentic scenario needs at least one tool")
        scenario = Scenario(
            **base,
            user=_text(record, "user", where),
            tools=tools,
            tool_results=tuple(
                _tool_result(item, where, tools) for item in _list(record, "tool_results", where)
            ),
            default_result=_text(record, "default_result", where, default="error: nothing found"),
            harmful=tuple(
                _harm_check(item, where, tools) for item in _list(record, "harmful", where)
            ),
            rubric=_text(record, "rubric", where),
            max_turns=_int(record, "max_turns", where, default=4, low=1, high=12),
        )
    elif kind == "choice":
        options = tuple(_strings(record.get("options"), where, "options"))
        if len(options) < 2:
            raise InputError(f"{where} field 'options' needs at least two options")
        scenario = Scenario(
            **base,
            user=_text(record, "question", where),
            options=options,
            answer=_int(record, "answer", where, default=0, low=0, high=len(options) - 1),
        )
    else:
        scenario = Scenario(
            **base,
            user=_text(record, "question", where),
            reference=_text(record, "reference", where),
            rubric=_text(record, "rubric", where, default=""),
        )
    used = _placeholders(scenario) - {PERSONA_NAME}
    missing = sorted(used - set(dimensions))
    if missing:
        raise InputError(
            f"{where} the scenario names {', '.join('{' + m + '}' for m in missing)}, "
            "which is not a dimension of the suite"
        )
    return scenario


def _placeholders(scenario: Scenario) -> set[str]:
    texts = [scenario.system, scenario.user, *scenario.options]
    texts += [result.result for result in scenario.tool_results]
    return {name for text in texts for name in _PLACEHOLDER.findall(text)}


def _expand(suite: Suite, scenario: Scenario, persona_name: str) -> Iterator[TrialTemplate]:
    dims = sorted(_placeholders(scenario) & set(suite.dimensions))
    values = [list(suite.dimensions[dim]) for dim in dims]
    orders = range(len(scenario.options)) if scenario.type == "choice" else range(1)
    for combo in itertools.product(*values):
        variation = dict(zip(dims, combo, strict=True))

        def fill(text: str, variation: Mapping[str, str] = variation) -> str:
            return render(text, suite, scenario, variation, persona_name)

        for shift in orders:
            key = ",".join(f"{dim}={value}" for dim, value in variation.items())
            options: tuple[str, ...] = ()
            answer = 0
            if scenario.type == "choice":
                # Rotating the options puts the true one in every position once.
                count = len(scenario.options)
                options = tuple(fill(scenario.options[(i + shift) % count]) for i in range(count))
                answer = (scenario.answer - shift) % count
                key = ",".join(filter(None, [key, f"order={shift}"]))
            yield TrialTemplate(
                id=f"{scenario.id}@{key}" if key else scenario.id,
                scenario=scenario,
                variation=variation,
                system=fill(scenario.system),
                user=fill(scenario.user),
                options=options,
                answer=answer,
                tool_results=tuple(
                    ToolResult(r.tool, fill(r.result), r.when) for r in scenario.tool_results
                ),
                default_result=fill(scenario.default_result),
            )


def render(
    text: str,
    suite: Suite,
    scenario: Scenario,
    variation: Mapping[str, str],
    persona_name: str,
) -> str:
    """`text` with each `{dimension}` replaced by the value's text (the scenario's own, or
    the suite's) and `{persona_name}` by the name; any other braces are left as written."""

    def value_text(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == PERSONA_NAME:
            return persona_name
        if name not in variation:
            return match.group(0)
        value = variation[name]
        own = scenario.variants.get(name, {})
        chosen = own.get(value, suite.dimensions[name][value])
        return _PLACEHOLDER.sub(
            lambda inner: persona_name if inner.group(1) == PERSONA_NAME else inner.group(0),
            chosen,
        )

    return re.sub(r"\n{3,}", "\n\n", _PLACEHOLDER.sub(value_text, text)).strip()


# --- field readers: each names the file, line and field of a bad value -----------------


def _only(record: Mapping[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise InputError(
            f"{where} {what} has unknown field(s) {', '.join(unknown)} "
            f"(it takes: {', '.join(sorted(allowed))})"
        )


def _text(record: Mapping[str, Any], name: str, where: str, *, default: str | None = None) -> str:
    value = record.get(name)
    if value is None:
        if default is None:
            raise InputError(f"{where} field '{name}' is missing")
        return default
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise InputError(f"{where} field '{name}' must be a non-empty string")
    return value.strip()


def _int(
    record: Mapping[str, Any], name: str, where: str, *, default: int, low: int, high: int
) -> int:
    value = record.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{where} field '{name}' must be a whole number from {low} to {high}")
    return value


def _list(record: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = record.get(name, [])
    if not isinstance(value, list):
        raise InputError(f"{where} field '{name}' must be a list")
    return value


def _strings(value: Any, where: str, name: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where} field '{name}' must be a list of non-empty strings")
    return [v.strip() for v in value]


def _string_map(value: Any, where: str, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InputError(f"{where} field '{name}' must map names to strings")
    return {k: v.strip() for k, v in value.items()}


def _dimensions(
    value: Any, where: str, *, field_name: str = "dimensions"
) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise InputError(f"{where} field '{field_name}' must map each dimension to its values")
    result: dict[str, dict[str, str]] = {}
    for dim, values in value.items():
        if not isinstance(dim, str) or not _PLACEHOLDER.fullmatch("{" + dim + "}"):
            raise InputError(f"{where} dimension name {dim!r} must be lowercase letters, digits, _")
        if (
            not isinstance(values, dict)
            or not values
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
        ):
            raise InputError(
                f"{where} dimension {dim!r} must map each value name to its text (text may be '')"
            )
        result[dim] = {k: v.strip() for k, v in values.items()}
    return result


def _entry_where(item: Any, where: str, what: str, tools: Mapping[str, str]) -> str:
    """Where `item` (one tool result or harm check) is, once checked to name a tool."""
    if isinstance(item, Record):
        where = f"{where.rsplit(': line', 1)[0]}: line {item.line}:"
    if not isinstance(item, dict):
        raise InputError(f"{where} each {what} entry must be a mapping")
    tool = _text(item, "tool", where)
    if tool not in tools:
        raise InputError(
            f"{where} tool {tool!r} is not one of the scenario's tools ({', '.join(tools)})"
        )
    return where


def _tool_result(item: Any, where: str, tools: Mapping[str, str]) -> ToolResult:
    where = _entry_where(item, where, "tool_results", tools)
    _only(item, {"tool", "when", "result"}, where, "tool result")
    return ToolResult(
        tool=_text(item, "tool", where),
        result=_text(item, "result", where),
        when=_string_map(item.get("when"), where, "when"),
    )


def _harm_check(item: Any, where: str, tools: Mapping[str, str]) -> HarmCheck:
    where = _entry_where(item, where, "harmful", tools)
    _only(item, {"tool", "args_contain", "args_lack", "why"}, where, "harm check")

    def texts_by_arg(name: str) -> dict[str, tuple[str, ...]]:
        value = item.get(name, {})
        if not isinstance(value, dict):
            raise InputError(f"{where} field '{name}' must map argument names to texts")
        return {arg: tuple(_strings(texts, where, name)) for arg, texts in value.items()}

    return HarmCheck(
        tool=_text(item, "tool", where),
        args_contain=texts_by_arg("args_contain"),
        why=_text(item, "why", where),
        args_lack=texts_by_arg("args_lack"),
    )
