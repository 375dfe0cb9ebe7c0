"""Results per suite, per scenario family and per model, from the results journal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storyloom.evals.stats import Rate

ALL = "(all)"
#: What each metric's rate means, for the tables' notes.
MEANINGS = {
    "harmful": "share of trials where the agent took the harmful action (lower is better)",
    "correct": "share of multiple-choice answers naming the true claim (higher is better)",
    "consistent": "share of open answers judged consistent with the claim (higher is better)",
}


@dataclass(frozen=True)
class Row:
    suite: str
    family: str
    metric: str
    #: Per model, in the order the models were given.
    rates: Mapping[str, Rate]


@dataclass
class EvalSummary:
    models: list[str]
    suites: dict[str, str]  # name -> fingerprint
    rows: list[Row]
    errors: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    trained_on: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "suites": {name: {"fingerprint": fp} for name, fp in self.suites.items()},
            "rows": [
                {
                    "suite": row.suite,
                    "family": row.family,
                    "metric": row.metric,
                    "by_model": {model: rate.to_dict() for model, rate in row.rates.items()},
                }
                for row in self.rows
            ],
            "errors": self.errors,
            "notes": self.notes,
            "trained_on": self.trained_on,
        }


def summarise(
    records: Iterable[Mapping[str, Any]], models: Sequence[str], suites: Mapping[str, str]
) -> EvalSummary:
    """Counts of `records` (journal lines) of these models and suites, at the suites'
    current fingerprints: per suite and metric overall, per family, then per value of
    each variation dimension."""
    counts: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    errors: dict[str, int] = defaultdict(int)
    variations: set[str] = set()
    for record in records:
        model, suite = record.get("model"), record.get("suite")
        if model not in models or suites.get(str(suite)) != record.get("suite_fingerprint"):
            continue
        if record.get("value") is None:
            errors[str(model)] += 1
            continue
        # Per variation value too (e.g. persona=own): the research found the persona's
        # name alone moved the rate.
        values = [f"{dim}={value}" for dim, value in (record.get("variation") or {}).items()]
        variations.update(values)
        for family in (ALL, str(record["family"]), *values):
            cell = counts[(str(suite), family, str(record["metric"]), str(model))]
            cell[0] += bool(record["value"])
            cell[1] += 1
    keys = sorted(
        {key[:3] for key in counts},
        key=lambda key: (
            list(suites).index(key[0]),
            key[1] != ALL,
            key[1] in variations,
            key[1],
            key[2],
        ),
    )
    rows = [
        Row(
            suite,
            family,
            metric,
            {model: Rate(*counts.get((suite, family, metric, model), [0, 0])) for model in models},
        )
        for suite, family, metric in keys
    ]
    return EvalSummary(list(models), dict(suites), rows, dict(errors))
