"""A run's `run.json` read as a plain dict, for the commands that read a run without the
workflow's models (shards and merges may carry fields this version does not know)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_config_object(path: Path, error: type[ValueError]) -> dict[str, Any]:
    """`path` as a dict; `error` with one line naming the file when it cannot be read or
    holds something other than a JSON object (each command raises its own error type)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: run config is unreadable ({exc})") from exc
    if not isinstance(config, dict):
        raise error(f"{path}: run config is not a JSON object")
    return config
