"""Item ids that appear more than once across a run's corpus and rejected files.

`generate` refuses to resume such a run; `stats` still reports on it (it may be a copy
being inspected), but says which lines repeat an id, since every count above then
includes those items twice (finished can exceed planned).
"""

from __future__ import annotations

from pathlib import Path

#: Repeats named one by one; the rest are counted, so a badly damaged file stays readable.
SHOWN = 5


class DuplicateIds:
    """Remembers where each id was first seen and describes every later sighting."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[Path, int]] = {}
        self.repeats = 0
        self.warnings: list[str] = []

    def add(self, item_id: str | None, path: Path, line: int) -> None:
        if not item_id:
            return
        first = self._first.setdefault(item_id, (path, line))
        if first == (path, line):
            return
        self.repeats += 1
        if self.repeats <= SHOWN:
            where = f"line {first[1]}" if first[0] == path else f"{first[0]}: line {first[1]}"
            self.warnings.append(
                f"{path}: line {line} repeats item id {item_id!r} (first on {where}); "
                "the counts include it twice"
            )

    def summary(self) -> list[str]:
        """The warnings to show: each repeat up to SHOWN, then how many more."""
        hidden = self.repeats - SHOWN
        more = [f"{hidden} more repeated item id(s) not listed"] if hidden > 0 else []
        return [*self.warnings, *more]
