"""The one way `merge` and `export` write their output folder: built aside, then put in
place, touching only the files the command wrote there before.

The folder keeps a manifest (`.storyloom-output.json`) of the files the command wrote and
of the run they came from. A rebuild is only of the same run's output; it replaces the
files the manifest lists and nothing else, so what the user added beside them
(`REVIEW-NOTES.md`, `analysis/`, `.git/`, `LICENSE`) stays as it is, and a new file that
would land on one of theirs is refused by name. A folder with no manifest is the user's:
an empty one is used, any other refused.

The new output is always built completely in a hidden folder beside `out` first, so a
failure or a kill while building leaves the previous output as it was. When the folder
holds only the command's own files the two are swapped by two renames (a kill between
them leaves the previous output whole in a hidden `.NAME.*.old` folder beside it);
otherwise each new file is renamed into place, with the manifest listing old and new
files until the old ones are gone, so a kill part-way leaves nothing unaccounted for.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from storyloom.core.files import write_atomically
from storyloom.dataset.runfiles import DatasetError

MANIFEST = ".storyloom-output.json"
#: How many of the user's files a refusal names before "and N more".
_NAMED = 5


class OutputDirError(DatasetError):
    """The output folder cannot be used as asked; the message names it."""


@dataclass(frozen=True)
class OutputOwner:
    """Which command writes the folder, and from which run (a rebuild must match)."""

    command: str
    #: The run's name (a merge: each shard's); a rebuild must share one with the previous.
    runs: frozenset[str]
    #: What else makes two runs the same (JSON-able), compared with a previous output's.
    identity: Any
    #: Names how two identities differ (for the refusal), or None when they do not.
    difference: Callable[[Any, Any], str | None]


@dataclass(frozen=True)
class Manifest:
    command: str
    runs: frozenset[str]
    identity: Any
    files: frozenset[str]


def read_manifest(out: Path) -> Manifest | None:
    """The manifest of a previous output in `out`, None when there is none; a damaged
    one is an error (a guess could delete a file of the user's)."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files, runs = data["files"], data["runs"]
        manifest = Manifest(
            str(data["command"]), frozenset(map(str, runs)), data["identity"], frozenset(files)
        )
        if not all(isinstance(f, str) and _is_inside(f) for f in files):
            raise ValueError("a listed file lies outside the folder")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OutputDirError(
            f"{path}: the list of files this folder's output is made of is damaged "
            f"({error}); move the folder aside and choose a new one"
        ) from None
    return manifest


def _is_inside(relative: str) -> bool:
    path = PurePosixPath(relative)
    return bool(relative) and not path.is_absolute() and ".." not in path.parts


def check_output_dir(
    out: Path,
    inputs: Iterable[Path],
    owner: OutputOwner,
    *,
    is_previous: Callable[[Path], bool] = lambda _: False,
) -> str | None:
    """Refuse an output that is, holds or sits inside an input; a non-empty folder
    without this command's manifest (`is_previous` recognises an output of an earlier
    version, which kept no manifest); and another run's output."""
    target = out.resolve()
    for source in inputs:
        resolved = source.resolve()
        if target == resolved:
            return f"{out}: is an input of this command; choose a new folder for the output"
        if resolved in target.parents:
            return f"{out}: is inside the input {source}; choose an output outside every input"
        if target in resolved.parents:
            return f"{out}: holds the input {source}; choose an output outside every input"
    if out.exists() and not out.is_dir():
        return f"{out}: is a file; choose a folder for the output"
    if not out.is_dir() or not any(out.iterdir()):
        return None
    manifest = read_manifest(out)
    if manifest is None:
        if is_previous(out):
            return (
                f"{out}: holds a {owner.command} output of an earlier storyloom that kept no "
                f"list of the files it wrote ({MANIFEST}), so a rebuild cannot tell them from "
                "yours; move it aside (or delete it yourself) and run again"
            )
        return (
            f"{out}: exists and is not empty (and was not made by this command); "
            "choose a new folder"
        )
    if manifest.command != owner.command:
        return f"{out}: holds the output of `{manifest.command}`, not of `{owner.command}`"
    difference = owner.difference(manifest.identity, owner.identity)
    if difference is None and manifest.runs & owner.runs:
        return None
    found = ", ".join(repr(name) for name in sorted(manifest.runs))
    why = f" ({difference})" if difference else ""
    return (
        f"{out}: holds the {owner.command} of another run, {found}{why}; a rebuild replaces "
        "only the same run's own output: choose a new folder"
    )


def build_and_swap(out: Path, owner: OutputOwner, build: Callable[[Path], None]) -> None:
    """Run `build(folder)` on a fresh hidden folder beside `out`, then put its files in
    `out` in place of the previous output's (see the module's docstring). On any error
    before that, the hidden folder is removed and `out` is left as it was."""
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=parent))
    staging.chmod(0o755)  # mkdtemp's 0o700 would hide the output from other users
    try:
        build(staging)
        written = _files(staging)
        previous = read_manifest(out) if out.is_dir() else None
        theirs = _files(out) - {MANIFEST} - (previous.files if previous else frozenset())
        if clash := sorted(written & theirs):
            raise OutputDirError(
                f"{out}: would write over {_some(clash)}, which this command did not write "
                "there; move those aside or choose a new folder"
            )
        _write_manifest(staging, owner, written)
        if not theirs:
            _swap(out, staging, parent)
            return
        assert previous is not None  # a folder of the user's was refused before building
        _install(out, staging, owner, written, previous.files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _files(folder: Path) -> frozenset[str]:
    """Every file under `folder` (a symlink counts as a file: never followed), and every
    empty folder (as `name/`), relative."""
    found = set()
    for root, dirs, names in os.walk(folder):
        base = Path(root)
        if not dirs and not names and base != folder:
            found.add(base.relative_to(folder).as_posix() + "/")
        links = [d for d in dirs if (base / d).is_symlink()]
        for name in (*names, *links):
            found.add((base / name).relative_to(folder).as_posix())
    return frozenset(found)


def _some(paths: list[str]) -> str:
    shown = ", ".join(paths[:_NAMED])
    return shown if len(paths) <= _NAMED else f"{shown} and {len(paths) - _NAMED} more"


def _write_manifest(folder: Path, owner: OutputOwner, files: Iterable[str]) -> None:
    data = {
        "command": owner.command,
        "runs": sorted(owner.runs),
        "identity": owner.identity,
        "files": sorted(files),
        "note": "the files storyloom wrote here; a rebuild replaces these and nothing else",
    }
    write_atomically(folder / MANIFEST, json.dumps(data, indent=2) + "\n")


def _swap(out: Path, staging: Path, parent: Path) -> None:
    """Two renames: the folder holds nothing but the previous output."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
        os.replace(out, old / "previous")
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _install(
    out: Path, staging: Path, owner: OutputOwner, written: frozenset[str], old: frozenset[str]
) -> None:
    """File by file, beside the user's files: the manifest first lists old and new, so a
    kill part-way leaves every file of ours listed for the next rebuild."""
    _write_manifest(out, owner, old | written)
    for relative in sorted(written):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, target)
    for relative in sorted(old - written):
        target = out / relative
        if target.is_symlink() or target.is_file():
            target.unlink()
        _remove_empty_parents(target.parent, out)
    _write_manifest(out, owner, written)


def _remove_empty_parents(folder: Path, out: Path) -> None:
    while folder != out and out in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
