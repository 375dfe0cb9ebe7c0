"""`audit --drop OUT`: the corpus without the items of flagged pairs.

OUT is never the corpus it was audited from, never a run's file, and never a file this
tool did not write: a previous `--drop` output is recognised by the record written beside
it (`OUT.audit.json`, holding the SHA-256 of the OUT it describes), so an existing file
is replaced only when it is, byte for byte, what an earlier audit wrote.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from storyloom.core.files import atomic_writer, write_atomically
from storyloom.core.layout import overwrite_problem
from storyloom.dataset.audit_sources import AuditInputError
from storyloom.dataset.runfiles import read_records

MARKER = "storyloom audit --drop"


def record_path(out: Path) -> Path:
    return out.with_name(out.name + ".audit.json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _previous_output(out: Path) -> bool:
    """Whether `out` and its record are exactly what an earlier `--drop` wrote."""
    try:
        record = json.loads(record_path(out).read_text(encoding="utf-8"))
        return (
            isinstance(record, dict)
            and record.get("written_by") == MARKER
            and record.get("output_sha256") == _sha256(out)
        )
    except (OSError, ValueError):
        return False


def drop_problem(out: Path, corpus: Path) -> str | None:
    """Why `--drop OUT` must not write `out`, or None."""
    if out.exists() and out.is_dir():
        return f"{out}: is a folder; --drop takes a file name"
    if not out.parent.is_dir():
        return f"{out}: folder {out.parent} does not exist"
    if problem := overwrite_problem(out, [corpus]):
        return problem
    record = record_path(out)
    if problem := overwrite_problem(record, [corpus]):
        return problem
    if out.exists() and not _previous_output(out):
        return f"{out}: exists and was not written by storyloom audit --drop; choose a new file"
    if not out.exists() and record.exists():
        return f"{record}: exists and was not written for {out}; choose a new file"
    return None


def write_without(
    corpus: Path, out: Path, flagged_ids: set[str], summary: dict[str, Any]
) -> tuple[int, int]:
    """Write every record of `corpus` whose id is not flagged to `out`, then the record
    beside it; (kept, dropped)."""
    if problem := drop_problem(out, corpus):
        raise AuditInputError(problem)
    kept = dropped = 0
    with atomic_writer(out) as handle:
        for record in read_records(corpus):
            if str(record.get("id")) in flagged_ids:
                dropped += 1
                continue
            kept += 1
            handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    note = {
        "written_by": MARKER,
        "input": str(corpus),
        "output_sha256": _sha256(out),
        "kept": kept,
        "dropped": sorted(flagged_ids),
        "audit": summary,
    }
    write_atomically(record_path(out), json.dumps(note, ensure_ascii=False, indent=1) + "\n")
    return kept, dropped
