"""Time to admit one item under `--max-cost`, against how many items have finished.

    .venv/bin/python bench/budget_admission.py
    .venv/bin/python bench/budget_admission.py --finished 2000 --finished 1000000

The baseline is the former admission check (the mean item cost recombined from every
finished id before each item), measured in the same run beside the running sum that
replaced it, so load from other processes weighs on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

from storyloom.graph.budget import LocalReservations
from storyloom.graph.ledger import UsageLedger
from storyloom.graph.runner import _Budget
from storyloom.graph.sinks import RunSinks


def former_mean(ledger: UsageLedger, finished: Collection[str]) -> tuple[float, int]:
    """The check before the running sum (`UsageLedger.mean_item_usd`), for the baseline."""
    per_item = ledger._per_item_usd
    spent = [per_item[i] for i in finished if i in per_item]
    return (sum(spent) / len(spent) if spent else 0.0), len(spent)


def measure(finished: int, rounds: int) -> tuple[float, float]:
    """Seconds per admission: the former check, and the running sum (admit + release)."""
    with tempfile.TemporaryDirectory() as folder:
        usage = Path(folder) / "usage.jsonl"
        with usage.open("w") as handle:
            for index in range(finished):
                entry = {"time": 0, "story_id": f"run/{index}", "node": "write",
                         "model": "claude-haiku-4-5", "input_tokens": 1000,
                         "output_tokens": 500, "usd": 0.0035}  # fmt: skip
                handle.write(json.dumps(entry) + "\n")
        ledger = UsageLedger(usage)
        sinks = RunSinks(Path(folder) / "corpus.jsonl", Path(folder) / "rejected.jsonl")
        sinks.corpus.ids.update(f"run/{index}" for index in range(finished))
        budget = _Budget(ledger, sinks, 1e9, 0.01, LocalReservations(ledger))

        started = time.perf_counter()
        for _ in range(rounds):
            former_mean(ledger, sinks.corpus.ids | sinks.rejected.ids)
        former = (time.perf_counter() - started) / rounds

        async def admit_all() -> None:
            stop = asyncio.Event()
            for _ in range(rounds):
                reserved = await budget.admit(stop)
                await budget.release("run/new", reserved or 0.0)

        started = time.perf_counter()
        asyncio.run(admit_all())
        running = (time.perf_counter() - started) / rounds
    return former, running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--finished", type=int, action="append", help="finished items")
    parser.add_argument("--rounds", type=int, default=20, help="admissions timed per size")
    args = parser.parse_args()
    sizes = args.finished or [2_000, 20_000, 100_000]
    print(f"{'finished':>10} {'former check':>14} {'running sum':>13}")
    for size in sizes:
        former, running = measure(size, args.rounds)
        print(f"{size:>10,} {former * 1e3:>11.3f} ms {running * 1e6:>10.1f} µs")


if __name__ == "__main__":
    main()
