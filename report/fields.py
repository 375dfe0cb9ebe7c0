"""Defensive reads of record fields: a missing or odd-typed field is `None` or empty,
never an exception, because formats gain and change fields over time."""

from __future__ import annotations

from typing import Any


def metadata(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("metadata")
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {key: item for key, item in value.items() if isinstance(item, str) and item}


def score_map(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    scores: dict[str, int] = {}
    for key, item in value.items():
        score = as_int(item)
        if score is not None:
            scores[str(key)] = score
    return scores


def finding_kinds(record: dict[str, Any]) -> list[str]:
    """Kinds from a rejected line's `findings` ([{kind, message}]) or its metadata."""
    findings = record.get("findings")
    if isinstance(findings, list) and findings:
        kinds = [f.get("kind") for f in findings if isinstance(f, dict)]
        return [kind for kind in kinds if isinstance(kind, str) and kind]
    return str_list(metadata(record).get("gate_findings"))


def text_at(record: dict[str, Any], dotted: str) -> Any:
    """`text` or a nested field such as `document.body`."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
