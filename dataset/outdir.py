"""The one way `merge` and `export` write their output folder: built aside, then swapped in.

A folder the user already has is never overwritten unless this tool made it (a previous
output of the same command), and even then the new one is built completely beside it
before the old one goes, so a failure or a kill while building leaves the previous output
as it was. The swap is two renames; a kill in the instant between them leaves the previous
output whole in a hidden `.NAME.*.old` folder beside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from storyloom.dataset.runfiles import DatasetError


class OutputDirError(DatasetError):
    """The output folder cannot be used as asked; the message names it."""


def check_output_dir(
    out: Path, inputs: Iterable[Path], *, is_previous: Callable[[Path], bool]
) -> str | None:
    """Refuse an output that is, holds or sits inside an input, and an existing non-empty
    folder that is not a previous output of this command."""
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
    if out.is_dir() and any(out.iterdir()) and not is_previous(out):
        return (
            f"{out}: exists and is not empty (and was not made by this command); "
            "choose a new folder"
        )
    return None


def build_and_swap(out: Path, build: Callable[[Path], None]) -> None:
    """Run `build(folder)` on a fresh hidden folder beside `out`, then put it in `out`'s
    place. On any error the hidden folder is removed and `out` is left as it was."""
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=parent))
    staging.chmod(0o755)  # mkdtemp's 0o700 would hide the output from other users
    try:
        build(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
        os.replace(out, old / "previous")
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
