"""Reading the files a user edits: one plain line naming the file and the problem.

Every kind's loaders raise `InputError` through these helpers, so the CLI can show the
message as it is.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from storyloom.core.jsonl import JsonlError, parse_line

T = TypeVar("T")


class InputError(ValueError):
    """A user-supplied input file is missing, unreadable or malformed."""


def read_text_file(path: Path, what: str) -> str:
    if not path.exists():
        raise InputError(f"{path}: {what} file not found")
    if path.is_dir():
        raise InputError(f"{path}: {what} file is a directory")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} file ({exc.strerror})") from exc
    if b"\x00" in raw:
        raise InputError(f"{path}: {what} file is binary, expected UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} file is not UTF-8 text") from exc
    text = text.removeprefix("\ufeff")  # a BOM would hide the first heading or key
    if not text.strip():
        raise InputError(f"{path}: {what} file is empty")
    return text


def jsonl_lines(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-blank line of a user's JSONL file (`text`, read from `path`) as its line
    number and object; a line that is not a JSON object names the file and the line."""
    for number, raw in enumerate(text.encode("utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, parse_line(path, number, raw)
        except JsonlError as error:
            raise InputError(str(error)) from None


#: A UTF-16 surrogate code point: after JSON parsing (which joins a valid escaped pair
#: into one character) any that is left is a lone half, which is no character at all.
_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_lone_surrogates(value: object, where: str) -> None:
    """JSON may escape half of a UTF-16 pair alone (`\\ud800`): it parses, but it is no
    character and no output can be written with it, so refuse it here by `where` (the
    file and line), not later as an encoding error that names neither."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            raise InputError(
                f"{where} holds a lone surrogate \\u{ord(found.group()):04x} (half of a UTF-16 "
                "pair, not a character); fix or remove that escape"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_lone_surrogates(key, where)
            refuse_lone_surrogates(item, where)
    elif isinstance(value, list):
        for item in value:
            refuse_lone_surrogates(item, where)


def read_toml(path: Path, what: str) -> dict[str, object]:
    text = read_text_file(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML in {what} file ({exc})") from exc


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def shipped_sample(package: str, name: str) -> Path:
    """The sample file `name` shipped in `package`'s `data/` folder, as a path a loader
    (and a user's error message) can use like any other file."""
    return Path(str(resources.files(package).joinpath("data", name)))


def shipped_samples(package: str, files: Mapping[str, str]) -> Callable[[str], Path]:
    """A kind's lookup of its shipped samples by input name, `files` naming each one's
    file in `package`'s `data/` folder (an unknown name is a KeyError)."""

    def sample(name: str) -> Path:
        return shipped_sample(package, files[name])

    return sample


def find(items: Iterable[T], key: Callable[[T], str], wanted: str) -> T:
    """The first of `items` whose `key` is `wanted`; a KeyError naming it if none is."""
    for item in items:
        if key(item) == wanted:
            return item
    raise KeyError(wanted)
