"""The context library: tool definitions (JSON Schema, grouped by domain) and operator
profiles. Samples ship in `data/`; a user's file replaces the sample (copy it and add).

Every tool is checked when the file loads: an Anthropic-style name, a description, and an
`input_schema` that is a valid JSON Schema (the Draft 2020-12 meta-schema, via
`jsonschema`) of type object whose `required` names only its own properties. The same
check runs again as a gate on every example, so a library edited mid-run cannot slip
through.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from storyloom.stories.inputs import (
    InputError,
    fingerprint,
    read_text_file,
    refuse_lone_surrogates,
    shipped_samples,
)

SAMPLES = {"tools": "tools.json", "operators": "operators.toml"}
#: Anthropic's tool-name rule (OpenAI's is the same pattern).
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
RISKS = ("low", "high")
_TOOL_KEYS = {"domain", "name", "description", "input_schema", "risk"}
_OPERATOR_TEXT = ("id", "organization", "assistant_name", "role", "audience")
_OPERATOR_LISTS = ("domains", "duties", "house_rules")


#: The shipped sample of input `name` ('tools' or 'operators').
sample_path = shipped_samples("storyloom.stories.augment", SAMPLES)


@dataclass(frozen=True)
class Tool:
    name: str
    domain: str
    description: str
    input_schema: Mapping[str, Any]
    #: "high": a tool that acts on the world (sends, pays, runs, deletes).
    risk: str = "low"

    def anthropic(self) -> dict[str, Any]:
        """The Messages API shape: `name`, `description`, `input_schema`."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": json.loads(json.dumps(self.input_schema)),
        }


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a usable tool input schema, or None when it is."""
    if not isinstance(schema, dict):
        return "input_schema must be a JSON object"
    return _schema_problem(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=1024)
def _schema_problem(blob: str) -> str | None:
    schema = json.loads(blob)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        return f"input_schema is not a valid JSON Schema at {where}: {exc.message}"
    if schema.get("type") != "object":
        return 'input_schema must have "type": "object"'
    properties = schema.get("properties", {})
    missing = [name for name in schema.get("required", []) if name not in properties]
    if missing:
        return f"input_schema requires {', '.join(missing)} but does not define it"
    return None


def tool_problem(tool: Mapping[str, Any]) -> str | None:
    """Why a tool definition is unusable (name, description, schema), or None."""
    name = tool.get("name")
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        return "name must be 1-64 letters, digits, '_' or '-'"
    description = tool.get("description")
    if not isinstance(description, str) or not description.strip():
        return "needs a non-empty description"
    return schema_problem(tool.get("input_schema"))


@dataclass(frozen=True)
class OperatorProfile:
    """Who deploys the assistant, for whom, and which tool domains fit (primary first)."""

    id: str
    organization: str
    assistant_name: str
    role: str
    audience: str
    domains: tuple[str, ...]
    duties: tuple[str, ...]
    house_rules: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization": self.organization,
            "assistant_name": self.assistant_name,
            "role": self.role,
            "audience": self.audience,
            "domains": list(self.domains),
            "duties": list(self.duties),
            "house_rules": list(self.house_rules),
        }


@dataclass(frozen=True)
class ContextLibrary:
    tools: tuple[Tool, ...]
    operators: tuple[OperatorProfile, ...]
    tools_fingerprint: str
    operators_fingerprint: str

    def tool(self, name: str) -> Tool:
        return self._tools_by_name[name]

    def operator(self, operator_id: str) -> OperatorProfile:
        return self._operators_by_id[operator_id]

    def domain_tools(self, domain: str) -> tuple[Tool, ...]:
        return self._tools_by_domain.get(domain, ())

    @cached_property
    def _tools_by_name(self) -> dict[str, Tool]:
        return {t.name: t for t in self.tools}

    @cached_property
    def _operators_by_id(self) -> dict[str, OperatorProfile]:
        return {o.id: o for o in self.operators}

    @cached_property
    def _tools_by_domain(self) -> dict[str, tuple[Tool, ...]]:
        grouped: dict[str, list[Tool]] = {}
        for tool in self.tools:
            grouped.setdefault(tool.domain, []).append(tool)
        return {domain: tuple(tools) for domain, tools in grouped.items()}


def load_tools(path: Path) -> tuple[tuple[Tool, ...], str]:
    text = read_text_file(path, "tools")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    refuse_lone_surrogates(data, f"{path}:")
    entries = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InputError(f'{path}: expected {{"tools": [...]}} with at least one tool')
    tools: list[Tool] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        label = f"{path}: tool #{number}"
        if not isinstance(entry, dict):
            raise InputError(f"{label} is not an object")
        label = f"{path}: tool #{number} ({entry.get('name')!r})"
        unknown = sorted(set(entry) - _TOOL_KEYS)
        if unknown:
            raise InputError(f"{label} has unknown key(s): {', '.join(unknown)}")
        problem = tool_problem(entry)
        if problem:
            raise InputError(f"{label}: {problem}")
        domain, risk = entry.get("domain"), entry.get("risk", "low")
        if not isinstance(domain, str) or not domain.strip():
            raise InputError(f"{label}: needs a non-empty 'domain'")
        if risk not in RISKS:
            raise InputError(f"{label}: 'risk' must be one of {', '.join(RISKS)}")
        if entry["name"] in seen:
            raise InputError(f"{label}: a tool of that name is already defined")
        seen.add(entry["name"])
        tools.append(
            Tool(entry["name"], domain.strip(), entry["description"], entry["input_schema"], risk)
        )
    return tuple(tools), fingerprint(text)


def load_operators(path: Path, domains: set[str]) -> tuple[tuple[OperatorProfile, ...], str]:
    text = read_text_file(path, "operators")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML in operators file ({exc})") from exc
    entries = data.get("operator")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected at least one [[operator]] table")
    operators: list[OperatorProfile] = []
    for number, entry in enumerate(entries, start=1):
        operators.append(_operator(path, number, entry, domains))
    ids = [o.id for o in operators]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise InputError(f"{path}: two operators have the id {duplicate!r}")
    return tuple(operators), fingerprint(text)


def _operator(path: Path, number: int, entry: Any, domains: set[str]) -> OperatorProfile:
    label = f"{path}: operator #{number}"
    if not isinstance(entry, dict):
        raise InputError(f"{label} is not a table")
    unknown = sorted(set(entry) - {*_OPERATOR_TEXT, *_OPERATOR_LISTS})
    if unknown:
        raise InputError(f"{label} has unknown key(s): {', '.join(unknown)}")
    for key in _OPERATOR_TEXT:
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise InputError(f"{label} needs a non-empty '{key}'")
    label = f"{path}: operator {entry['id']!r}"
    lists: dict[str, tuple[str, ...]] = {}
    for key in _OPERATOR_LISTS:
        value = entry.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise InputError(f"{label}: '{key}' must be a list of non-empty strings")
        lists[key] = tuple(v.strip() for v in value)
    if not lists["domains"]:
        raise InputError(f"{label}: 'domains' must name at least one tool domain")
    strange = [d for d in lists["domains"] if d not in domains]
    if strange:
        raise InputError(
            f"{label} names tool domain(s) the tools file does not have: {', '.join(strange)}"
        )
    return OperatorProfile(
        **{key: entry[key].strip() for key in _OPERATOR_TEXT},
        domains=lists["domains"],
        duties=lists["duties"],
        house_rules=lists["house_rules"],
    )


def load_library(tools_path: Path, operators_path: Path) -> ContextLibrary:
    tools, tools_fingerprint = load_tools(tools_path)
    operators, operators_fingerprint = load_operators(operators_path, {t.domain for t in tools})
    return ContextLibrary(tools, operators, tools_fingerprint, operators_fingerprint)
