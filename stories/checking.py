"""Running a kind's gates on loose text files (`storyloom check`), outside any run.

A gate reads what it needs from the item's draw (the persona name, the length band); a
file checked outside a run has only the values the user gave. The draw handed to the
gates therefore raises `MissingValue` for anything not given, and a gate that needs it
is reported as skipped, naming the value, instead of guessing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storyloom.stories.kind import CorpusKind, Finding, ItemView


class MissingValue(KeyError):
    """A draw value a gate needs and the user did not give."""


class _Given(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise MissingValue(key)


def given_draw(values: Mapping[str, Any]) -> dict[str, Any]:
    """A draw holding only `values` (nested maps too); any other key is `MissingValue`."""
    return _Given(
        {
            key: given_draw(value) if isinstance(value, Mapping) else value
            for key, value in values.items()
        }
    )


@dataclass(frozen=True)
class GateResult:
    gate: str
    findings: tuple[Finding, ...] = ()
    #: The draw value the gate needed and was not given (then it did not run).
    missing: str | None = None


def run_gates(
    kind: CorpusKind, inputs: Any, text: str, values: Mapping[str, Any]
) -> list[GateResult]:
    """Every gate of `kind` on `text`, in order, with only `values` known."""
    item = ItemView("check", 0, given_draw(values), inputs, settings=None)
    results: list[GateResult] = []
    for gate in kind.gates:
        try:
            results.append(GateResult(gate.name, tuple(gate.check(text, item))))
        except MissingValue as missing:
            results.append(GateResult(gate.name, missing=str(missing.args[0])))
    return results
