"""The file names of a run directory: one list that the workflow writes and every reader
(report, summary, the output-path guards) imports, so a new file is named once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CONFIG_FILE = "run.json"
CHECKPOINTS_FILE = "checkpoints.sqlite"
CORPUS_FILE = "corpus.jsonl"
REJECTED_FILE = "rejected.jsonl"
USAGE_FILE = "usage.jsonl"
LOCK_FILE = "run.lock"
#: The dedupe journals of items and of plans (the file names of the first runs, kept).
ITEM_INDEX_STEM = "dedupe-stories"
PLAN_INDEX_STEM = "dedupe-premises"
#: Suffix of the file beside an output that keeps the bytes of a torn last line.
TORN_SUFFIX = ".torn"

#: Files whose presence makes a directory look like it holds a run's output.
OUTPUT_FILES = (CORPUS_FILE, REJECTED_FILE, USAGE_FILE, CHECKPOINTS_FILE)
#: The `--batch` journal (see `backends.batch_journal`), with SQLite's -wal and -shm.
BATCH_JOURNAL_FILE = "batches.sqlite"


def index_file(stem: str, variant: int = 0) -> str:
    """A dedupe journal's name: `dedupe-stories.jsonl`, then `-v1`, `-v2`… per variant."""
    suffix = f"-v{variant}" if variant else ""
    return f"{stem}{suffix}.jsonl"


def is_run_file(directory: Path, name: str) -> bool:
    """Whether `name` is (or belongs to) one of a run's own files in `directory`."""
    if name in (CONFIG_FILE, LOCK_FILE, *OUTPUT_FILES):
        return True
    if name.startswith((f"{CHECKPOINTS_FILE}-", f"{CONFIG_FILE}.", BATCH_JOURNAL_FILE)):
        return True  # SQLite's -wal/-shm, run.json.tmp
    if name.endswith(".jsonl"):  # dedupe journals and a kind's own outputs
        return True
    return name.endswith(TORN_SUFFIX) and name[: -len(TORN_SUFFIX)] in OUTPUT_FILES


def is_side_output(name: str) -> bool:
    """Whether a kind may name its own output file `name` (`pairs.jsonl`): a plain JSONL
    file name that is none of the run's own files."""
    return (
        name.endswith(".jsonl")
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
        and name not in OUTPUT_FILES
        and not name.startswith((ITEM_INDEX_STEM, PLAN_INDEX_STEM))
    )


def is_run_directory(directory: Path) -> bool:
    return (directory / CONFIG_FILE).is_file()


def overwrite_problem(output: Path, inputs: Iterable[Path]) -> str | None:
    """Why writing `output` would destroy something the user has, or None.

    A command never writes over one of its own inputs (under any spelling: the paths
    are resolved) nor over any file of a run directory.
    """
    target = output.resolve()
    for source in inputs:
        if target == source.resolve():
            return f"{output}: is an input of this command; choose another output file"
    if is_run_directory(target.parent) and is_run_file(target.parent, target.name):
        return f"{output}: is a file of the run in {target.parent}; choose another output file"
    return None
