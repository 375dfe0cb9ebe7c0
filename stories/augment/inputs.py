"""The augment kind's inputs, loaded together: the user's source chats (`source.py`) and
the context library of tools and operator profiles (`library.py`), each with the content
fingerprint run.json freezes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storyloom.stories.augment.library import ContextLibrary, load_library, sample_path
from storyloom.stories.augment.source import Source, load_source
from storyloom.stories.inputs import InputError
from storyloom.stories.kind import LoadedInputs


@dataclass(frozen=True)
class AugmentInputs:
    source: Source
    library: ContextLibrary


def load_augment_inputs(paths: Mapping[str, Path | None]) -> LoadedInputs:
    """The source (required: there is no sample chat to wrap) and the library files (the
    shipped samples where not given)."""
    source_path = paths.get("source")
    if source_path is None:
        raise InputError("the augment kind needs --source FILE (JSONL chats to wrap)")
    tools_path = paths.get("tools") or sample_path("tools")
    operators_path = paths.get("operators") or sample_path("operators")
    source = load_source(Path(source_path))
    context_library = load_library(Path(tools_path), Path(operators_path))
    return LoadedInputs(
        value=AugmentInputs(source, context_library),
        paths={
            "source": str(source_path),
            "tools": str(tools_path),
            "operators": str(operators_path),
        },
        fingerprints={
            "source": source.fingerprint,
            "tools": context_library.tools_fingerprint,
            "operators": context_library.operators_fingerprint,
        },
    )
