"""The user's source chats: one JSON object a line, each turn kept exactly as given.

Two shapes are read: `messages` (the OpenAI / Hugging Face chat shape: a list of
`{"role", "content", ...}` objects) and a `prompt` / `response` pair (one user turn, one
assistant turn). The parsed messages are never modified; each turn's content hash is
taken at load so a gate can prove the emitted turns are byte-identical to the source.
A chat with its own system message is refused: augment writes the system prompt, and the
source's response was made under the source's own, which we could not keep unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from storyloom.core.jsonl import JsonlError, JsonlReader
from storyloom.stories.inputs import (
    InputError,
    fingerprint,
    read_text_file,
    refuse_lone_surrogates,
)

TURN_ROLES = ("user", "assistant", "tool")
Shape = Literal["messages", "prompt_response"]


def content_bytes(content: Any) -> bytes:
    """A turn's content as the bytes its hash is taken over: a string's UTF-8 bytes; any
    other JSON value (a list of content blocks) in canonical JSON."""
    if isinstance(content, str):
        return content.encode("utf-8")
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def content_hash(content: Any) -> str:
    return hashlib.sha256(content_bytes(content)).hexdigest()


def message_hash(message: Mapping[str, Any]) -> str:
    """The whole turn (role, content and any tool-call fields) in canonical JSON."""
    return hashlib.sha256(content_bytes(dict(message))).hexdigest()


@dataclass(frozen=True)
class SourceChat:
    """One source record: its id, where it came from, and its turns as parsed."""

    id: str
    line: int
    shape: Shape
    messages: tuple[Mapping[str, Any], ...]
    #: `message_hash` of each turn, taken when the file was read.
    turn_hashes: tuple[str, ...]
    #: `content_hash` of the response (the last assistant turn), taken when read.
    response_hash: str

    @property
    def response(self) -> Mapping[str, Any]:
        """The last assistant turn: the response the data teaches."""
        return self.messages[-1]


@dataclass(frozen=True)
class Source:
    path: str
    chats: tuple[SourceChat, ...]
    fingerprint: str

    def __len__(self) -> int:
        return len(self.chats)


def load_source(path: Path) -> Source:
    """Every chat of `path`, or an `InputError` naming the file and the first bad line."""
    text = read_text_file(path, "source")
    reader = JsonlReader(path)
    chats: list[SourceChat] = []
    lines_by_id: dict[str, int] = {}
    try:
        for number, record in reader.numbered():
            refuse_lone_surrogates(record, f"{path}: line {number}:")
            chat = _chat(path, number, record)
            if chat.id in lines_by_id:
                raise InputError(
                    f"{path}: line {number}: id {chat.id!r} is already used on line "
                    f"{lines_by_id[chat.id]}"
                )
            lines_by_id[chat.id] = number
            chats.append(chat)
    except JsonlError as exc:
        raise InputError(str(exc)) from exc
    if reader.torn_bytes:
        last = text.count("\n") + 1
        raise InputError(f"{path}: line {last} is not valid JSON (the line is cut off)")
    if not chats:
        raise InputError(f"{path}: source file holds no chats")
    return Source(str(path), tuple(chats), fingerprint(text))


def _chat(path: Path, number: int, record: Mapping[str, Any]) -> SourceChat:
    where = f"{path}: line {number}:"
    raw_id = record.get("id", number)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id) == "":
        raise InputError(f"{where} 'id' must be a non-empty string or a whole number")
    if "messages" in record:
        messages, shape = _messages(where, record["messages"]), "messages"
    elif "prompt" in record or "response" in record:
        messages, shape = _pair(where, record), "prompt_response"
    else:
        raise InputError(f"{where} needs 'messages' or a 'prompt' and 'response'")
    return SourceChat(
        id=str(raw_id),
        line=number,
        shape=shape,  # type: ignore[arg-type]
        messages=messages,
        turn_hashes=tuple(message_hash(m) for m in messages),
        response_hash=content_hash(messages[-1].get("content")),
    )


def _pair(where: str, record: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    for key in ("prompt", "response"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where} '{key}' must be a non-empty string")
    return (
        {"role": "user", "content": record["prompt"]},
        {"role": "assistant", "content": record["response"]},
    )


def _messages(where: str, value: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where} 'messages' must be a non-empty list")
    for position, message in enumerate(value, start=1):
        _check_turn(f"{where} message {position}", message)
    roles = [m["role"] for m in value]
    if "user" not in roles:
        raise InputError(f"{where} the chat has no user turn")
    if roles[-1] != "assistant":
        raise InputError(f"{where} the chat must end with the assistant's response")
    return tuple(value)


def _check_turn(where: str, message: Any) -> None:
    if not isinstance(message, dict):
        raise InputError(f"{where} is not an object")
    role = message.get("role")
    if role == "system":
        raise InputError(
            f"{where} is a system message; augment writes the system prompt itself, so give "
            "chats without one"
        )
    if role not in TURN_ROLES:
        raise InputError(f"{where} has role {role!r}; expected one of {', '.join(TURN_ROLES)}")
    content = message.get("content")
    has_calls = bool(message.get("tool_calls"))
    if isinstance(content, str):
        if not content.strip() and not has_calls:
            raise InputError(f"{where} has empty content")
    elif isinstance(content, list):
        if not content and not has_calls:
            raise InputError(f"{where} has empty content")
    elif not (content is None and has_calls):
        raise InputError(f"{where} 'content' must be a string or a list of content blocks")


def turn_texts(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The words of each turn as text (content blocks' `text` fields joined)."""
    return [content_text(m.get("content")) for m in messages]


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(block.get("text", "")) if isinstance(block, dict) else str(block)
            for block in content
        ]
        return "\n".join(p for p in parts if p)
    return ""
