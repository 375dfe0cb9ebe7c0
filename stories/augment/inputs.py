"""The augment kind's inputs, loaded together: the user's source chats (`source.py`) and
the context library of tools and operator profiles (`library.py`), each with the content
fingerprint run.json freezes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storyloom.stories.augment.library import ContextLibrary, load_library
from storyloom.stories.augment.source import Source, load_source


@dataclass(frozen=True)
class AugmentInputs:
    source: Source
    library: ContextLibrary

    @property
    def fingerprints(self) -> dict[str, str]:
        return {
            "source": self.source.fingerprint,
            "tools": self.library.tools_fingerprint,
            "operators": self.library.operators_fingerprint,
        }


def load_augment_inputs(source: Path, tools: Path, operators: Path) -> AugmentInputs:
    """The source (required: there is no sample chat to wrap; the kind refuses to go
    without it) and the library files."""
    return AugmentInputs(load_source(source), load_library(tools, operators))
