"""The largest reply an output schema allows, in tokens: what a task's `max_tokens` must
cover, so no reply a schema permits is cut by design.

Counted from the JSON schema pydantic sends: every string at its `maxLength`, every list
at its `maxItems`, every property present, plus the JSON punctuation and key names, at
`CHARS_PER_TOKEN` characters a token (English prose runs near four; JSON keys and
quotes run shorter, so the overhead is counted at twice the rate).
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel

CHARS_PER_TOKEN = 4
#: A number, boolean or null, as characters.
_SCALAR_CHARS = 8


class UnboundedSchema(ValueError):
    """A string without `maxLength` or a list without `maxItems`: no largest reply."""


def largest_reply_tokens(schema: type[BaseModel]) -> int:
    """Tokens of the largest reply `schema` allows (prose, plus JSON overhead counted at
    two characters a token)."""
    root = schema.model_json_schema()
    prose, overhead = _largest(root, root, "reply")
    return math.ceil(prose / CHARS_PER_TOKEN + overhead / (CHARS_PER_TOKEN / 2))


def _largest(node: dict[str, Any], root: dict[str, Any], where: str) -> tuple[int, int]:
    """(prose characters, JSON overhead characters) of the largest value of `node`."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _largest(root["$defs"][name], root, where)
    for union in ("anyOf", "oneOf"):
        if union in node:
            return max(_largest(option, root, where) for option in node[union])
    if "enum" in node or "const" in node:
        values = node.get("enum", [node.get("const")])
        return 0, max(len(json.dumps(value)) for value in values)
    kind = node.get("type")
    if kind == "string":
        if "maxLength" not in node:
            raise UnboundedSchema(f"{where}: a string with no maxLength")
        return int(node["maxLength"]), 2
    if kind == "array":
        if "maxItems" not in node:
            raise UnboundedSchema(f"{where}: a list with no maxItems")
        prose, overhead = _largest(node.get("items", {}), root, f"{where}[]")
        count = int(node["maxItems"])
        return prose * count, overhead * count + count + 2
    if kind == "object":
        prose = overhead = 2
        for key, value in node.get("properties", {}).items():
            value_prose, value_overhead = _largest(value, root, f"{where}.{key}")
            prose += value_prose
            overhead += value_overhead + len(key) + 4
        return prose, overhead
    return 0, _SCALAR_CHARS
