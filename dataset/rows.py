"""A run's records as dataset rows, and the one schema each table has.

Parquet wants one schema for every file of a table, and a run's `metadata` differs from
kind to kind (and grows over versions), so nested free-form values become JSON strings:
`metadata`, `tools`, findings, critiques. Chat `messages` stay a list of
`{role, content}` structs, the shape chat trainers read; a content that is not a string
(content blocks) and any extra field of a message (`tool_calls`) are JSON strings too.
JSONL exports keep every record as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from storyloom.dataset.tools import ToolsShape, shape_tools


def as_json(value: Any) -> str | None:
    """A nested value as compact JSON (None stays null)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class CorpusShape:
    """What the corpus holds, learnt in a first pass: whether it is chat and which
    fields its messages have."""

    chat: bool = False
    message_fields: tuple[str, ...] = ("role", "content")

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> CorpusShape:
        chat = False
        fields: dict[str, None] = {"role": None, "content": None}
        for record in records:
            messages = record.get("messages")
            if messages is not None or record.get("tools") is not None:
                chat = True
            for message in messages or ():
                fields.update(dict.fromkeys(message))
        return cls(chat, tuple(fields))

    def schema(self) -> pa.Schema:
        columns = [("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())]
        if self.chat:
            message = pa.struct([(name, pa.string()) for name in self.message_fields])
            columns += [("messages", pa.list_(message)), ("tools", pa.string())]
        return pa.schema(columns)

    def row(self, record: Mapping[str, Any], tools: ToolsShape) -> dict[str, Any]:
        row = {
            "id": record["id"],
            "text": record.get("text", ""),
            "metadata": as_json(record.get("metadata") or {}),
        }
        if self.chat:
            row["messages"] = [self._message(m) for m in record.get("messages") or ()]
            row["tools"] = as_json(shape_tools(record.get("tools") or (), tools))
        return row

    def _message(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: (None if message.get(name) is None else as_text(message[name]))
            for name in self.message_fields
        }


def jsonl_record(record: Mapping[str, Any], tools: ToolsShape) -> dict[str, Any]:
    """A corpus record for a JSONL export: as it is, tools in the asked shape."""
    if record.get("tools") is None:
        return dict(record)
    return {**record, "tools": shape_tools(record["tools"], tools)}


REJECTED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("findings", pa.string()),
        ("last_draft", pa.string()),
        ("metadata", pa.string()),
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
        ("findings", pa.string()),
        ("critique", pa.string()),
        ("review", pa.string()),
    ]
)


def hf_features(schema: pa.Schema) -> list[dict[str, Any]]:
    """The schema as the `features` of a Hugging Face dataset card."""
    return [{"name": f.name, **_hf_type(f.type)} for f in schema]


def _hf_type(kind: pa.DataType) -> dict[str, Any]:
    if pa.types.is_list(kind):
        item = kind.value_type
        if pa.types.is_struct(item):
            return {"list": [{"name": f.name, **_hf_type(f.type)} for f in item]}
        return {"sequence": _hf_type(item)["dtype"]}
    names = {pa.string(): "string", pa.int32(): "int32", pa.int64(): "int64", pa.bool_(): "bool"}
    return {"dtype": names.get(kind, str(kind))}


@dataclass(frozen=True)
class InferredShape:
    """The table of a kind's own file (`pairs.jsonl`, `flagged.jsonl`), whose fields only
    the kind knows: a column per top-level field, typed from what every record holds.
    Message lists stay `{role, content}` structs (so `pairs.jsonl` loads as preference
    pairs: `prompt`, `chosen`, `rejected`); anything mixed or nested is a JSON string."""

    columns: tuple[tuple[str, str], ...]
    message_fields: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> InferredShape:
        kinds: dict[str, set[str]] = {}
        fields: dict[str, dict[str, None]] = {}
        for record in records:
            for name, value in record.items():
                kind = _value_kind(value)
                kinds.setdefault(name, set()).add(kind)
                if kind == "messages":
                    for message in value:
                        fields.setdefault(name, {"role": None, "content": None}).update(
                            dict.fromkeys(message)
                        )
        columns = []
        for name, seen in kinds.items():
            known = seen - {"null"}
            columns.append((name, known.pop() if len(known) == 1 else "json"))
        return cls(tuple(columns), tuple((n, tuple(f)) for n, f in fields.items()))

    def schema(self) -> pa.Schema:
        fields = dict(self.message_fields)
        types = {"string": pa.string(), "int": pa.int64(), "bool": pa.bool_()}
        return pa.schema(
            [
                (
                    name,
                    pa.list_(pa.struct([(f, pa.string()) for f in fields[name]]))
                    if kind == "messages"
                    else types.get(kind, pa.string()),
                )
                for name, kind in self.columns
            ]
        )

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        fields = dict(self.message_fields)
        row: dict[str, Any] = {}
        for name, kind in self.columns:
            value = record.get(name)
            if value is None:
                row[name] = None
            elif kind == "messages":
                row[name] = [
                    {f: None if m.get(f) is None else as_text(m[f]) for f in fields[name]}
                    for m in value
                ]
            elif kind == "json":
                row[name] = as_json(value)
            else:
                row[name] = value
        return row


def _value_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "string"
    if (
        isinstance(value, list)
        and value
        and all(isinstance(m, Mapping) and "role" in m for m in value)
    ):
        return "messages"
    return "json"
