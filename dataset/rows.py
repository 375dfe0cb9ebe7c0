"""A run's records as dataset rows, and the one schema each table has.

The accepted items' table has one explicit Arrow schema, learnt from every record of
the run (`arrow_types`): `metadata` is a struct, chat `messages` a list of structs and
`tools` a list of structs in the shape asked for, with each tool's parameter schema (free
JSON Schema) as Arrow's JSON type, so `datasets` gives dicts and lists that go straight to
a chat template. Chat records' `text` (the words without roles, which dedupe and stats
read) is left out, or rendered with a role marker opening each turn. JSONL exports keep
each record's values as they are, with the same treatment of `tools` and `text`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from storyloom.dataset.arrow_types import (
    JSON,
    arrow_type,
    hf_features,
    learn,
    learn_all,
    merge,
    to_arrow,
)
from storyloom.dataset.tools import ToolsShape, shape_tools

__all__ = ["hf_features"]

#: What a chat record's `text` becomes: left out ("omit"), or the turns with role markers.
ChatText = Literal["omit", "roles"]
#: The field of a tool, per shape, that holds a free JSON Schema (kept as JSON).
SCHEMA_FIELDS = {"openai": ("function", "parameters"), "anthropic": ("input_schema",)}


def as_json(value: Any) -> str | None:
    """A nested value as compact JSON (None stays null)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def role_marker(role: str) -> str:
    return f"<|{role}|>"


def text_with_roles(messages: Sequence[Mapping[str, Any]]) -> str:
    """The conversation as one text: each turn opened by a line `<|role|>`, turns apart by
    a blank line (what the card states)."""
    return "\n\n".join(
        f"{role_marker(str(m.get('role')))}\n{as_text(m.get('content') or '')}" for m in messages
    )


def is_chat(record: Mapping[str, Any]) -> bool:
    return record.get("messages") is not None or record.get("tools") is not None


def chat_record(record: Mapping[str, Any], tools: ToolsShape, chat_text: ChatText) -> dict:
    """A chat record as exported: tools in the asked shape, `text` left out or rendered
    with role markers. A document record is returned as it is."""
    if not is_chat(record):
        return dict(record)
    out = {key: value for key, value in record.items() if key != "text"}
    if chat_text == "roles":
        out = {"id": record.get("id"), "text": text_with_roles(record.get("messages") or ()), **out}
    if record.get("tools") is not None:
        out["tools"] = shape_tools(record["tools"], tools)
    return out


@dataclass(frozen=True)
class CorpusShape:
    """The accepted items' table, learnt in a first pass over every record: whether it
    is chat, and the one Arrow type of `metadata`, `messages` and `tools`."""

    chat: bool
    #: Whether any record has tools (a chat kind without them gets no `tools` column).
    has_tools: bool
    metadata: pa.DataType
    messages: pa.DataType
    tools: pa.DataType
    tools_shape: ToolsShape
    chat_text: ChatText
    #: Top-level fields beyond the known ones (a newer version's), by learnt type.
    extra: tuple[tuple[str, pa.DataType], ...] = ()

    @classmethod
    def of(
        cls,
        records: Iterable[Mapping[str, Any]],
        tools: ToolsShape = "openai",
        chat_text: ChatText = "omit",
    ) -> CorpusShape:
        chat = has_tools = False
        metadata: Any = ("struct", {})
        message_fields: dict[str, Any] = {"role": "string", "content": "string"}
        tool: Any = None
        extra: dict[str, Any] = {}
        for record in records:
            chat = chat or is_chat(record)
            has_tools = has_tools or record.get("tools") is not None
            metadata = merge(metadata, learn(record.get("metadata") or {}))
            for message in record.get("messages") or ():
                for name, value in message.items():
                    seen = "string" if value is None or isinstance(value, str) else "json"
                    message_fields[name] = merge(message_fields.get(name), seen)
            shaped = shape_tools(record.get("tools") or (), tools)
            tool = merge(tool, learn_all(_without_schema(t, tools) for t in shaped))
            for name, value in record.items():
                if name not in KNOWN_FIELDS:
                    extra[name] = merge(extra.get(name), learn(value))
        message = pa.struct([(name, arrow_type(kind)) for name, kind in message_fields.items()])
        return cls(
            chat=chat,
            has_tools=has_tools,
            metadata=arrow_type(metadata),
            messages=pa.list_(message),
            tools=pa.list_(_tool_type(tool, tools)),
            tools_shape=tools,
            chat_text=chat_text,
            extra=tuple((name, arrow_type(kind)) for name, kind in extra.items()),
        )

    @property
    def has_text(self) -> bool:
        return not self.chat or self.chat_text == "roles"

    def schema(self) -> pa.Schema:
        columns: list[tuple[str, pa.DataType]] = [("id", pa.string())]
        if self.has_text:
            columns.append(("text", pa.string()))
        columns.append(("metadata", self.metadata))
        if self.chat:
            columns.append(("messages", self.messages))
        if self.has_tools:
            columns.append(("tools", self.tools))
        return pa.schema(columns + list(self.extra))

    def row(self, record: Mapping[str, Any], tools: ToolsShape | None = None) -> dict[str, Any]:
        shaped = chat_record(record, tools or self.tools_shape, self.chat_text)
        shaped["metadata"] = record.get("metadata") or {}
        return {field.name: to_arrow(shaped.get(field.name), field.type) for field in self.schema()}


#: The corpus record's own fields; any other top-level field gets a column of its own.
KNOWN_FIELDS = frozenset({"id", "text", "metadata", "messages", "tools"})


def _without_schema(tool: Mapping[str, Any], shape: ToolsShape) -> dict[str, Any]:
    """A tool with its JSON Schema left out of the learning (it is always JSON)."""
    path = SCHEMA_FIELDS[shape]
    if len(path) == 1:
        return {k: v for k, v in tool.items() if k != path[0]}
    inner = tool.get(path[0])
    if not isinstance(inner, Mapping):
        return dict(tool)
    return {**tool, path[0]: {k: v for k, v in inner.items() if k != path[1]}}


def _tool_type(learnt: Any, shape: ToolsShape) -> pa.DataType:
    """One tool's struct: the shape's own fields first, the JSON Schema as JSON, and any
    other field a tool carries as learnt."""
    if shape == "openai":
        function = _learnt_fields(_learnt_fields(learnt).get("function"))
        known = [("name", pa.string()), ("description", pa.string()), ("parameters", JSON)]
        inner = pa.struct(_fields_with(known, function))
        top = [("type", pa.string()), ("function", inner)]
        return pa.struct(_fields_with(top, _learnt_fields(learnt)))
    known = [("name", pa.string()), ("description", pa.string()), ("input_schema", JSON)]
    return pa.struct(_fields_with(known, _learnt_fields(learnt)))


def _learnt_fields(learnt: Any) -> dict[str, Any]:
    return dict(learnt[1]) if isinstance(learnt, tuple) and learnt[0] == "struct" else {}


def _fields_with(
    known: list[tuple[str, pa.DataType]], learnt: Mapping[str, Any]
) -> list[tuple[str, pa.DataType]]:
    names = {name for name, _ in known}
    return known + [(n, arrow_type(k)) for n, k in learnt.items() if n not in names]


REJECTED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("findings", JSON),
        ("last_draft", pa.string()),
        ("metadata", JSON),
    ]
)


def rejected_row(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "reason": record.get("reason", ""),
        "detail": record.get("detail", ""),
        "findings": as_json(record.get("findings") or []),
        "last_draft": as_text(record.get("last_draft", "")),
        "metadata": as_json(record.get("metadata") or {}),
    }


HISTORY_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("outcome", pa.string()),
        ("draft", pa.int32()),
        ("round", pa.int32()),
        ("best", pa.bool_()),
        ("passed", pa.bool_()),
        ("text", pa.string()),
        ("findings", JSON),
        ("critique", JSON),
        ("review", JSON),
    ]
)


#: A chat kind's draft as turns, in its history rows.
TURNS_FIELD = pa.field(
    "turns", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
)


@dataclass(frozen=True)
class InferredShape:
    """The table of a kind's own file (`pairs.jsonl`, `flagged.jsonl`), whose fields only
    the kind knows: a column per top-level field, its type learnt from every record (so
    `pairs.jsonl` loads as preference pairs: `prompt`, `chosen`, `rejected` as message
    lists)."""

    columns: tuple[tuple[str, pa.DataType], ...]

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> InferredShape:
        learnt: dict[str, Any] = {}
        for record in records:
            for name, value in record.items():
                learnt[name] = merge(learnt.get(name), learn(value))
        return cls(tuple((name, arrow_type(kind)) for name, kind in learnt.items()))

    def schema(self) -> pa.Schema:
        return pa.schema(list(self.columns))

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {name: to_arrow(record.get(name), kind) for name, kind in self.columns}
