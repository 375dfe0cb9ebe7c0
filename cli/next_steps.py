"""What to look at after a run: the commands a first-time user needs next, with this
run's own directory and one of its items filled in."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from rich.console import Console
from rich.text import Text

from storyloom.graph.rundir import RunDir


def next_steps(run: RunDir, *, on_bundled_model: bool) -> list[str]:
    """The lines to print: `stats`, `inspect` on an item the run made (an emitted one if
    any), and, on the bundled model, how to switch to a capable one."""
    where = shlex.quote(str(run.path))
    lines = [f"storyloom stats {where}        # what the run made, in one screen"]
    item = _first_item_id(run.corpus_path) or _first_item_id(run.rejected_path)
    if item is not None:
        lines.append(
            f"storyloom inspect {where} {shlex.quote(item)}   # one item: drafts, gates, judgments"
        )
    if on_bundled_model:
        lines.append(
            "The bundled 135M model is for smoke runs: expect its items rejected. For a real "
            "corpus set ANTHROPIC_API_KEY (the anthropic backend), or use --backend openai "
            "--base-url URL for a model you serve, or --model-path for a larger GGUF."
        )
    return lines


def print_next_steps(console: Console, run: RunDir, *, on_bundled_model: bool) -> None:
    console.print(Text("Next:", style="bold"))
    for line in next_steps(run, on_bundled_model=on_bundled_model):
        console.print(Text(f"  {line}"), soft_wrap=True)


def _first_item_id(path: Path) -> str | None:
    """The id on the first readable line of a JSONL output, or None (missing, empty or
    damaged: a hint is not the place to report damage)."""
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    return None
                item = record.get("id") if isinstance(record, dict) else None
                return item if isinstance(item, str) else None
    except OSError:
        return None
    return None
