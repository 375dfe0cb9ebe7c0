"""The run directory and its frozen config.

A run is a folder holding everything needed to continue it: the config it was started
with, LangGraph checkpoints, the corpus and rejected files, the dedupe indexes and the
usage ledger. The config is frozen at the first start; a later start with different
settings refuses to resume (naming what changed) unless told to.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storyloom.core import layout
from storyloom.core.files import write_atomically
from storyloom.core.records import field_problem
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.kind import CorpusKind, LoadedInputs


class RunDirError(ValueError):
    """The run directory cannot be used as asked."""


class ConfigChangedError(RunDirError):
    """The run was started with other settings, inputs or recipe; `changes` says which."""

    def __init__(self, path: Path, changes: list[str]) -> None:
        super().__init__(f"{path}: run config changed ({'; '.join(changes)})")
        self.changes = changes


class InputFingerprint(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    fingerprint: str


class RunConfig(BaseModel):
    """A run's identity and everything that shapes what it makes.

    The identity is `run_id` and `name` as first frozen, not the folder: a copied or
    renamed run directory resumes as the same run (its item ids keep `name`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: str
    kind_version: str
    #: The kind's recipe fingerprint (prompts, rubric, gate thresholds).
    recipe: str
    backend: str
    model: str
    settings: GenerationSettings
    inputs: dict[str, InputFingerprint]
    #: Items asked for by the latest start. Not frozen: raising -n extends a run.
    count: int = 0
    #: Facts found at start that do not change what is made (a backend's structured-output
    #: mode); recorded, never compared.
    notes: dict[str, str] = Field(default_factory=dict)
    #: "K/N" for worker K of a run split over N (`--shard`); "" for a whole run.
    shard: str = ""

    @classmethod
    def create(
        cls,
        name: str,
        kind: CorpusKind,
        backend: str,
        model: str,
        settings: GenerationSettings,
        inputs: LoadedInputs,
        count: int = 0,
        shard: str = "",
    ) -> RunConfig:
        return cls(
            name=name,
            shard=shard,
            kind=kind.name,
            kind_version=kind.version,
            recipe=kind.recipe_fingerprint(),
            count=count,
            backend=backend,
            model=model,
            settings=settings,
            inputs={
                name: InputFingerprint(path=inputs.paths[name], fingerprint=fingerprint)
                for name, fingerprint in inputs.fingerprints.items()
            },
        )


#: Fields that may differ between starts without changing what the run makes.
UNCOMPARED = frozenset({"path", "count", "notes", "name", "run_id"})


def config_changes(old: RunConfig, new: RunConfig) -> list[str]:
    """What differs in a way that changes the items (input paths may move freely, the
    count may grow, and the folder may be renamed)."""
    changes: list[str] = []

    def walk(prefix: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key in UNCOMPARED:
                    continue
                walk(f"{prefix}.{key}" if prefix else key, a.get(key), b.get(key))
        elif a != b:
            if prefix.endswith("fingerprint"):
                changes.append(f"{prefix.rsplit('.', 1)[0]} file content")
            elif prefix == "recipe":
                changes.append("the kind's recipe (prompts, rubric or gate thresholds)")
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
    def item_index_path(self) -> Path:
        return self.path / layout.index_file(layout.ITEM_INDEX_STEM)

    @property
    def plan_index_path(self) -> Path:
        return self.path / layout.index_file(layout.PLAN_INDEX_STEM)

    def item_id(self, index: int) -> str:
        """An item's id: the run's frozen name (not today's folder name) and its index."""
        config = self.load_config()
        return f"{config.name if config else self.name}/{index}"

    def item_ids(self) -> ItemIds:
        config = self.load_config()
        return ItemIds(config.name if config else self.name)

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

    def freeze_config(
        self, config: RunConfig, *, allow_change: bool, nothing_finished: bool = False
    ) -> tuple[RunConfig, list[str]]:
        """Write the config on first start; on resume check it still matches. Returns the
        config in force and the changes taken (a run in which nothing has finished yet
        takes new settings: a start refused for a wrong model can be fixed in place)."""
        old = self.load_config()
        if old is None:
            self._write_config(config)
            return config, []
        config = config.model_copy(
            update={"name": old.name, "run_id": old.run_id, "notes": {**old.notes, **config.notes}}
        )  # a renamed or copied run keeps its name (item ids) and identity
        changes = config_changes(old, config)
        if not changes:
            if config.notes != old.notes:
                self._write_config(old.model_copy(update={"notes": config.notes}))
            return old.model_copy(update={"notes": config.notes}), []
        if not (allow_change or nothing_finished):
            raise ConfigChangedError(self.config_path, changes)
        self._write_config(config)
        return config, changes

    def record_count(self, count: int) -> None:
        """Note how many items the run now asks for, once a start is under way (a start
        that fails on bad input leaves run.json untouched)."""
        config = self.load_config()
        if config is not None and config.count != count:
            self._write_config(config.model_copy(update={"count": count}))

    def _write_config(self, config: RunConfig) -> None:
        write_atomically(self.config_path, json.dumps(config.model_dump(), indent=2) + "\n")


@dataclass(frozen=True)
class ItemIds:
    """Item ids of one run: `<frozen run name>/<index>`."""

    name: str

    def __call__(self, index: int) -> str:
        return f"{self.name}/{index}"

    def index_of(self, item_id: str) -> int | None:
        prefix, _, number = item_id.rpartition("/")
        return int(number) if prefix == self.name and number.isdigit() else None
