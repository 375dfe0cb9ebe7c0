"""The on-disk form of an index: a JSON-lines journal of signatures behind a header.

The header records the parameters that shaped the signatures, so a journal written with
other ones is recognised as stale instead of silently compared against. Entries are appended
one whole line at a time with fsync (a failed append is cut back, see `storyloom.core.files`), so
after a crash the journal holds every insert that completed; a torn last line (an insert
that never completed) is cut off when the journal is opened, so the next append starts on
a clean line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.core.files import append_whole, atomic_writer
from storyloom.core.jsonl import cut_torn_tail
from storyloom.dedupe.signatures import SIGNATURE_DTYPE

FORMAT = "storyloom-dedupe-index"
FORMAT_VERSION = 1


class StaleIndexError(ValueError):
    """The file is not an index, or was written with parameters other than the ones asked for."""


def encode_signature(signature: np.ndarray) -> str:
    return base64.b64encode(signature.astype(SIGNATURE_DTYPE, copy=False).tobytes()).decode()


def decode_signature(encoded: str | bytes, num_perm: int) -> np.ndarray:
    raw = base64.b64decode(encoded) if isinstance(encoded, str) else encoded
    signature = np.frombuffer(raw, dtype=SIGNATURE_DTYPE)
    if signature.size != num_perm:
        raise ValueError(f"a stored signature has {signature.size} slots, expected {num_perm}")
    return signature.astype(np.uint64)


def header_line(params: Mapping[str, Any]) -> str:
    return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "params": dict(params)})


def read_params(path: Path) -> dict[str, Any] | None:
    """The parameters a journal was written with, or None when it has no complete header."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return None
    if not first.endswith(b"\n"):
        return None
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    if header.get("version") != FORMAT_VERSION or not isinstance(header.get("params"), dict):
        return None
    return header["params"]


def mismatches(
    stored: Mapping[str, Any], wanted: Mapping[str, Any], fields: Iterable[str]
) -> list[str]:
    return [
        f"{name}: stored {stored.get(name)!r}, wanted {wanted.get(name)!r}"
        for name in fields
        if stored.get(name) != wanted.get(name)
    ]


class Journal:
    """Append-only signature log at `path` for parameters `params`.

    `identity_fields` name the parameters that must match for stored signatures to be reused.
    """

    def __init__(
        self, path: Path, params: Mapping[str, Any], identity_fields: Iterable[str], num_perm: int
    ) -> None:
        self.path = path
        self.params = dict(params)
        self._num_perm = num_perm
        fields = list(identity_fields)
        if not path.exists() or path.stat().st_size == 0 or _only_a_torn_header(path):
            write_atomically(path, self.params, [])
            return
        stored = read_params(path)
        if stored is None:
            raise StaleIndexError(f"{path} is not a storyloom dedupe index")
        problems = mismatches(stored, self.params, fields)
        if problems:
            raise StaleIndexError(
                f"{path} was written with other parameters ({'; '.join(problems)})"
            )
        # A journal is rebuilt from the outputs when needed, so its torn bytes are not kept.
        cut_torn_tail(path, keep_aside=False)

    def entries(self) -> Iterator[tuple[str, np.ndarray]]:
        # Bytes, so undecodable garbage is reported like any other damaged entry.
        with self.path.open("rb") as handle:
            next(handle)  # the header
            for number, line in enumerate(handle, start=2):
                try:
                    entry = json.loads(line)
                    yield entry["key"], decode_signature(entry["signature"], self._num_perm)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                    message = f"{self.path}:{number}: unreadable entry ({error})"
                    raise StaleIndexError(message) from error

    def append(self, key: str, signature: np.ndarray) -> None:
        """Append one entry durably; on failure (e.g. a full disk) the journal is left as it
        was and the OSError propagates, so no fragment can damage the next entry."""
        self.append_many([(key, signature)])

    def append_many(self, entries: Iterable[tuple[str, np.ndarray]]) -> None:
        """`append` for several entries: one write and one fsync, all of them or none."""
        lines = (
            json.dumps({"key": key, "signature": encode_signature(signature)}) + "\n"
            for key, signature in entries
        )
        append_whole(self.path, "".join(lines).encode("utf-8"))


def write_atomically(
    path: Path, params: Mapping[str, Any], entries: Iterable[tuple[str, np.ndarray]]
) -> None:
    """Write a whole journal to a temporary file and rename it over `path`, so a reader never
    sees a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path, mode="w") as handle:
        handle.write(header_line(params) + "\n")  # type: ignore[arg-type]
        for key, signature in entries:
            line = json.dumps({"key": key, "signature": encode_signature(signature)}) + "\n"
            handle.write(line)  # type: ignore[arg-type]


def _only_a_torn_header(path: Path) -> bool:
    """A crash while the header was written leaves a prefix of it and no newline; anything
    else without a newline is some other file, which is not ours to overwrite."""
    opening = header_line({})[: len('{"format": "') + len(FORMAT) + 1].encode()
    with path.open("rb") as handle:
        content = handle.read(1 << 16)
    if b"\n" in content or path.stat().st_size >= 1 << 16:
        return False
    return opening.startswith(content) or content.startswith(opening)
