"""One explicit Arrow type for every value of a column, learnt from all of its values.

Parquet wants one schema for every file of a table, and `datasets` gives back dicts and
lists only where the schema has structs and lists. A run's `metadata` differs between
items (an advice item's `shortfall` is null or a sentence; a story's scores name the
criteria in play), so the type is learnt in a first pass over every record: a field
keeps a struct or list type while its values agree, a key missing from one item is null
there, and a value whose shape varies (a string here, a list there; a free-form JSON
Schema) becomes Arrow's JSON type, which `datasets` loads as the `Json` feature: the
value itself, decoded, never a string to `json.loads`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

#: Arrow's canonical JSON extension type (a string in Parquet, `Json()` in `datasets`).
JSON = pa.json_()
#: A struct with more distinct keys than this is a map in disguise: kept as JSON.
MAX_STRUCT_FIELDS = 256
_INT64 = (-(2**63), 2**63)

#: A learnt type: None (only nulls seen), a scalar name ("bool", "int", "float",
#: "string", "json"), ("list", element) or ("struct", {field: learnt}).
Learnt = str | tuple[str, Any] | None
_SCALARS = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "string": pa.string()}


def learn(value: Any) -> Learnt:
    """The type of one value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if _INT64[0] <= value < _INT64[1] else "json"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return ("struct", {str(key): learn(item) for key, item in value.items()})
    if isinstance(value, list):
        return ("list", learn_all(value))
    return "json"


def learn_all(values: Iterable[Any]) -> Learnt:
    """The one type every value in `values` fits."""
    learnt: Learnt = None
    for value in values:
        learnt = merge(learnt, learn(value))
    return learnt


def merge(first: Learnt, second: Learnt) -> Learnt:
    if first is None:
        return second
    if second is None or first == second:
        return first
    if isinstance(first, str) and isinstance(second, str):
        return "float" if {first, second} == {"int", "float"} else "json"
    if isinstance(first, tuple) and isinstance(second, tuple) and first[0] == second[0]:
        if first[0] == "list":
            return ("list", merge(first[1], second[1]))
        fields = dict(first[1])
        for name, learnt in second[1].items():
            fields[name] = merge(fields.get(name), learnt)
        return ("struct", fields)
    return "json"


def arrow_type(learnt: Learnt) -> pa.DataType:
    """The Arrow type of a learnt type (a field never seen with a value is a string)."""
    if learnt is None:
        return pa.string()
    if isinstance(learnt, str):
        return _SCALARS.get(learnt, JSON)
    if learnt[0] == "list":
        return pa.list_(arrow_type(learnt[1]))
    fields = learnt[1]
    if not fields or len(fields) > MAX_STRUCT_FIELDS or "" in fields:
        return JSON  # Parquet has no empty struct; an empty field name reads back badly
    return pa.struct([(name, arrow_type(item)) for name, item in fields.items()])


def to_arrow(value: Any, kind: pa.DataType) -> Any:
    """`value` in the Python form `pa.Table.from_pylist` takes for `storage(kind)`: as it
    is, unless JSON is somewhere inside (Arrow fills a struct's missing fields with null
    and takes an int for a float)."""
    if value is None or not holds_json(kind):
        return value
    if kind == JSON:  # keys in their order: a tool's schema reads as its author wrote it
        return json.dumps(value, ensure_ascii=False)
    if pa.types.is_struct(kind):
        return {field.name: to_arrow(value.get(field.name), field.type) for field in kind}
    if pa.types.is_list(kind):
        return [to_arrow(item, kind.value_type) for item in value]
    return value


@functools.cache
def holds_json(kind: pa.DataType) -> bool:
    if kind == JSON:
        return True
    if pa.types.is_struct(kind):
        return any(holds_json(field.type) for field in kind)
    if pa.types.is_list(kind):
        return holds_json(kind.value_type)
    return False


def storage(kind: pa.DataType) -> pa.DataType:
    """`kind` with JSON as plain strings: what rows are built in before the cast."""
    if kind == JSON:
        return pa.string()
    if pa.types.is_struct(kind):
        return pa.struct([(field.name, storage(field.type)) for field in kind])
    if pa.types.is_list(kind):
        return pa.list_(storage(kind.value_type))
    return kind


def storage_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([(field.name, storage(field.type)) for field in schema])


def hf_features(schema: pa.Schema) -> list[dict[str, Any]]:
    """The schema as the `features` of a Hugging Face dataset card (the YAML `datasets`
    writes itself: `dtype`, `struct`, `list`, `json`)."""
    return [{"name": field.name, **hf_type(field.type)} for field in schema]


def hf_type(kind: pa.DataType) -> dict[str, Any]:
    if pa.types.is_struct(kind):
        return {"struct": hf_features(pa.schema(list(kind)))}
    if pa.types.is_list(kind):
        inner = hf_type(kind.value_type)
        return {"list": inner["dtype"] if set(inner) == {"dtype"} else _unwrap(inner)}
    return {"dtype": _dtype(kind)}


def _unwrap(inner: dict[str, Any]) -> Any:
    """A list's element as `datasets` writes it: a struct's fields, or a nested list."""
    return inner.get("struct", inner)


def _dtype(kind: pa.DataType) -> str:
    if kind == JSON:
        return "json"
    names = {
        pa.string(): "string",
        pa.int32(): "int32",
        pa.int64(): "int64",
        pa.float64(): "float64",
        pa.bool_(): "bool",
    }
    return names.get(kind, str(kind))
