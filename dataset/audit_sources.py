"""What `storyloom audit` compares: a corpus (a run directory or a corpus JSONL file) and
the evaluation items it is measured against (a shipped suite by name, a suite file, or a
JSONL file of {"id", "text"} records).

Suites come from `storyloom.evals.suite.load_suite` when this install has it; a plain
JSONL file never needs it, so any evaluation set can be audited (and the audit works
before, or without, the evaluation suites).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from storyloom.core import layout
from storyloom.dataset.runfiles import DatasetError, read_records


class AuditInputError(DatasetError):
    """A corpus or an evaluation set cannot be read; one line naming the file and problem."""


class SuiteLike(Protocol):
    """What the audit needs of an evaluation suite (`storyloom.evals.suite.Suite`)."""

    name: str
    fingerprint: str

    def texts(self) -> Any: ...


@dataclass(frozen=True)
class EvalSet:
    """Every text a model sees in an evaluation, by item id, under the suite's name."""

    name: str
    fingerprint: str
    items: tuple[tuple[str, str], ...]


def eval_set_of(suite: SuiteLike) -> EvalSet:
    items = tuple((str(item_id), str(text)) for item_id, text in suite.texts())
    return EvalSet(str(suite.name), str(suite.fingerprint), items)


def load_against(ref: str) -> EvalSet:
    """`ref` as an evaluation set: a `.jsonl` file of {"id", "text"} records, else a suite
    (a shipped suite's name or a suite file) through the evaluation suites' loader."""
    path = Path(ref)
    if path.suffix == ".jsonl" and _plain_records(path):
        return _jsonl_eval_set(path)
    try:
        from storyloom.evals.suite import load_suite
    except ImportError:
        if path.exists():
            raise AuditInputError(
                f"{ref}: not a JSONL file of {{'id', 'text'}} records, and this install has "
                "no evaluation suites to read it as one"
            ) from None
        raise AuditInputError(
            f"{ref}: no such file, and this install has no evaluation suites to name"
        ) from None
    try:
        return eval_set_of(load_suite(ref))
    except (ValueError, LookupError, OSError) as error:
        raise AuditInputError(_one_line(error, ref)) from None


def _plain_records(path: Path) -> bool:
    """Whether a `.jsonl` file holds {"id", "text"} records rather than a suite (whose
    first line is the suite's header); a file that cannot be told apart is read as
    records, whose reader names what is wrong with it."""
    try:
        with path.open("rb") as handle:
            first = next((line for line in handle if line.strip()), b"")
        record = json.loads(first)
    except (OSError, ValueError):
        return True
    return not isinstance(record, dict) or "text" in record or "name" not in record


def _one_line(error: Exception, ref: str) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    return message if ref in message else f"{ref}: {message}"


def _jsonl_eval_set(path: Path) -> EvalSet:
    if not path.is_file():
        raise AuditInputError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AuditInputError(f"{path}: cannot read ({error.strerror or error})") from None
    items: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AuditInputError(f"{path}: line {number} is not a JSON object") from None
        if not isinstance(record, dict):
            raise AuditInputError(f"{path}: line {number} is not a JSON object")
        item_id, text = record.get("id"), record.get("text")
        if not isinstance(item_id, str | int) or isinstance(item_id, bool) or item_id == "":
            raise AuditInputError(f'{path}: line {number} has no "id" (a string)')
        if not isinstance(text, str):
            raise AuditInputError(f'{path}: line {number} has no "text" (a string)')
        if str(item_id) in seen:
            raise AuditInputError(f"{path}: line {number} repeats the id {str(item_id)!r}")
        seen.add(str(item_id))
        items.append((str(item_id), text))
    if not items:
        raise AuditInputError(f"{path}: no records (expected one {{'id', 'text'}} per line)")
    fingerprint = hashlib.sha256(data).hexdigest()[:16]
    return EvalSet(path.stem, fingerprint, tuple(items))


def corpus_file(run: Path) -> Path:
    """The corpus JSONL of `run`: a run directory's corpus.jsonl, or the file itself."""
    if run.is_dir():
        if not layout.is_run_directory(run):
            raise AuditInputError(f"{run}: not a run directory (no {layout.CONFIG_FILE})")
        return run / layout.CORPUS_FILE
    if not run.is_file():
        raise AuditInputError(f"{run}: no such run directory or corpus file")
    return run


def corpus_items(path: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(id, text, record) of every whole line; a chat record without `text` is read as its
    messages' contents (the words a trainer sees)."""
    for number, record in enumerate(read_records(path), start=1):
        item_id = record.get("id")
        text = record.get("text")
        if not isinstance(text, str):
            messages = record.get("messages")
            if not isinstance(messages, list):
                raise AuditInputError(f'{path}: record {number} has no "text" or "messages"')
            text = "\n\n".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
        yield (str(item_id) if item_id is not None else f"line-{number}", text, record)
