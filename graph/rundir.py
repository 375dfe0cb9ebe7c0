"""The run directory and its frozen config.

A run is a folder holding everything needed to continue it: the config it was started
with, LangGraph checkpoints, the corpus and rejected files, the dedupe indexes and the
usage ledger. The config is frozen at the first start; a later start with different
settings refuses to resume (naming what changed) unless told to.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from storyloom.core import layout
from storyloom.core.files import write_atomically
from storyloom.core.records import field_problem
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.inputs import StoryInputs


class RunDirError(ValueError):
    """The run directory cannot be used as asked."""


class InputFingerprint(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    fingerprint: str


class RunConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    backend: str
    model: str
    settings: GenerationSettings
    constitution: InputFingerprint
    persona: InputFingerprint
    axes: InputFingerprint
    #: Stories asked for by the latest start. Not frozen: raising -n extends a run.
    count: int = 0

    @classmethod
    def create(
        cls,
        name: str,
        backend: str,
        model: str,
        settings: GenerationSettings,
        inputs: StoryInputs,
        input_paths: dict[str, str],
        count: int = 0,
    ) -> RunConfig:
        return cls(
            name=name,
            count=count,
            backend=backend,
            model=model,
            settings=settings,
            constitution=InputFingerprint(
                path=input_paths["constitution"], fingerprint=inputs.constitution.fingerprint
            ),
            persona=InputFingerprint(
                path=input_paths["persona"], fingerprint=inputs.persona.fingerprint
            ),
            axes=InputFingerprint(path=input_paths["axes"], fingerprint=inputs.axes.fingerprint),
        )


def config_changes(old: RunConfig, new: RunConfig) -> list[str]:
    """What differs in a way that changes the stories (input paths may move freely, and
    the story count may grow)."""
    changes: list[str] = []

    def walk(prefix: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key in ("path", "count"):
                    continue
                walk(f"{prefix}.{key}" if prefix else key, a.get(key), b.get(key))
        elif a != b:
            if prefix.endswith("fingerprint"):
                changes.append(f"{prefix.rsplit('.', 1)[0]} file content")
            else:
                changes.append(f"{prefix}: {a!r} -> {b!r}")

    walk("", old.model_dump(), new.model_dump())
    return changes


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def config_path(self) -> Path:
        return self.path / layout.CONFIG_FILE

    @property
    def checkpoints_path(self) -> Path:
        return self.path / layout.CHECKPOINTS_FILE

    @property
    def corpus_path(self) -> Path:
        return self.path / layout.CORPUS_FILE

    @property
    def rejected_path(self) -> Path:
        return self.path / layout.REJECTED_FILE

    @property
    def usage_path(self) -> Path:
        return self.path / layout.USAGE_FILE

    @property
    def story_index_path(self) -> Path:
        return self.path / layout.index_file(layout.STORY_INDEX_STEM)

    @property
    def premise_index_path(self) -> Path:
        return self.path / layout.index_file(layout.PREMISE_INDEX_STEM)

    def story_id(self, index: int) -> str:
        return f"{self.name}/{index}"

    def prepare(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path}: run directory is a file")
        if self.path.is_dir() and not self.config_path.exists():
            found = [name for name in layout.OUTPUT_FILES if (self.path / name).exists()]
            if found:
                raise RunDirError(
                    f"{self.path}: holds {', '.join(found)} but no {layout.CONFIG_FILE}, so it "
                    "is not a storyloom run; refusing to touch it (choose another --run-dir)"
                )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"{self.path}: cannot create run directory ({exc.strerror})") from exc
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise RunDirError(f"{self.path}: run directory is not writable")

    def load_config(self) -> RunConfig | None:
        if not self.config_path.exists():
            return None
        try:
            return RunConfig.model_validate_json(self.config_path.read_text(encoding="utf-8"))
        except ValidationError as exc:  # hand-edited: name the field, on one line
            raise RunDirError(
                f"{self.config_path}: run config is unreadable ({field_problem(exc)})"
            ) from None
        except (ValueError, OSError) as exc:
            raise RunDirError(f"{self.config_path}: run config is unreadable ({exc})") from None

    def freeze_config(self, config: RunConfig, *, allow_change: bool) -> RunConfig:
        """Write the config on first start; on resume check it still matches."""
        old = self.load_config()
        if old is not None:
            changes = config_changes(old, config)
            if changes and not allow_change:
                raise RunDirError(
                    f"{self.config_path}: run config changed ({'; '.join(changes)}); "
                    "use a new --run-dir, or --allow-config-change to continue anyway"
                )
            if not changes:
                return old
        self._write_config(config)
        return config

    def record_count(self, count: int) -> None:
        """Note how many stories the run now asks for, once a start is under way (a start
        that fails on bad input leaves run.json untouched)."""
        config = self.load_config()
        if config is not None and config.count != count:
            self._write_config(config.model_copy(update={"count": count}))

    def _write_config(self, config: RunConfig) -> None:
        write_atomically(self.config_path, json.dumps(config.model_dump(), indent=2) + "\n")
