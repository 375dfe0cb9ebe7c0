"""`--max-cost` shared by the workers of one run through a real `redis-server`: each
worker saw every worker's spend but only its own items in flight, so 2 workers spent
$1.20 and 3 workers $1.48 of a $1.00 cap. Calls and items now reserve their projected
cost atomically in Redis before they start, so the workers together stop within one
call's cost of the cap."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fast_retry import FAST_RETRY
from redis_server import RedisServer, running_redis_server

from storyloom.backends import pricing
from storyloom.backends.base import Completion, Usage
from storyloom.backends.demo import demo_reply
from storyloom.backends.scripted import ScriptedBackend
from storyloom.graph.budget import LocalReservations, call_projection
from storyloom.graph.ledger import UsageLedger
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.runner import RunOptions, RunReport, _Budget, make_context, run_items
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.shared import Shard, SharedRun
from storyloom.graph.sinks import RunSinks
from storyloom.stories.kind import LoadedInputs
from storyloom.stories.registry import get_kind
from storyloom.stories.story.inputs import StoryInputs

#: A model priced like a small Claude model, so scripted calls cost real-looking money.
MODEL = "priced-scripted"
CAP = 1.00


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with running_redis_server() as server:
        yield server


@pytest.fixture
def priced() -> Iterator[None]:
    pricing.set_price(MODEL, input=1.0, output=5.0)
    yield
    pricing._OVERRIDES.pop(MODEL, None)


def run_workers(
    tmp_path: Path, redis: RedisServer, inputs: StoryInputs, workers: int, name: str
) -> tuple[list[RunReport], list[ScriptedBackend], list[RunDir]]:
    """`workers` shards of one 200-item run, each in its own thread and event loop (as
    in its own process), sharing `redis` and a $1.00 cap."""
    kind = get_kind("story")
    loaded = LoadedInputs(
        value=inputs,
        paths={"constitution": "c", "persona": "p", "axes": "a"},
        fingerprints={
            "constitution": inputs.constitution.fingerprint,
            "persona": inputs.persona.fingerprint,
            "axes": inputs.axes.fingerprint,
        },
    )
    reports: list[RunReport | None] = [None] * workers
    backends = [
        ScriptedBackend(responder=demo_reply, model=MODEL, delay=0.03) for _ in range(workers)
    ]
    dirs = [RunDir(tmp_path / f"w{k}") for k in range(workers)]

    def work(k: int) -> None:
        run = dirs[k]
        run.prepare()
        shard = Shard(k, workers)
        settings = GenerationSettings(rewrite="always", judge_samples=3)
        config = RunConfig.create(name, kind, "scripted", MODEL, settings, loaded, shard=str(shard))
        config, _ = run.freeze_config(config, allow_change=True)
        shared = SharedRun.connect(redis.url, config)
        context = make_context(run, config, kind, inputs, backends[k], shared=shared)
        options = RunOptions(count=200, concurrency=8, max_cost=CAP, retry=FAST_RETRY, shard=shard)
        reports[k] = asyncio.run(run_items(run, context, options))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert all(report is not None for report in reports)
    return [r for r in reports if r is not None], backends, dirs


def ledger_total(dirs: list[RunDir]) -> float:
    return sum(
        json.loads(line)["usd"]
        for run in dirs
        if run.usage_path.exists()
        for line in run.usage_path.read_text().splitlines()
    )


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_sharing_a_cap_stop_within_one_call_of_it(
    tmp_path: Path, redis: RedisServer, story_inputs: StoryInputs, priced: None, workers: int
) -> None:
    reports, backends, dirs = run_workers(
        tmp_path, redis, story_inputs, workers, name=f"capped{workers}"
    )
    spent = ledger_total(dirs)
    one_call = max(call_projection(MODEL, r, batch=False) for b in backends for r in b.requests)
    assert all(report.stop_reason == "budget" for report in reports)
    assert spent <= CAP + one_call, f"{workers} workers spent ${spent:.4f} of ${CAP:.2f}"
    assert spent >= 0.8 * CAP, "the cap, not an early stop, ended the run"
    shared_spend = SharedRun(redis.client(), _config(f"capped{workers}", dirs[0])).spend()
    assert shared_spend == pytest.approx(spent)


class NotWalked(set[str]):
    """Finished ids that may be looked up but never walked."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("admission walked every finished item")

    def __or__(self, other):  # type: ignore[no-untyped-def]
        raise AssertionError("admission recombined every finished item")


def test_admitting_an_item_never_walks_the_finished_ones(tmp_path: Path, priced: None) -> None:
    """Issue 23: the mean item cost was recombined from every finished id before each
    item (60 ms at 100,000 finished); it is a running sum now."""
    ledger = UsageLedger(tmp_path / "usage.jsonl")
    sinks = RunSinks(tmp_path / "corpus.jsonl", tmp_path / "rejected.jsonl")
    for index in range(5):
        sinks.corpus.ids.add(f"run/{index}")
        usage = Usage(input_tokens=10_000 * (index + 1), output_tokens=0)
        ledger.record(item_id=f"run/{index}", node="write", completion=Completion("", MODEL, usage))
    budget = _Budget(ledger, sinks, 1.0, upfront=0.5, reservations=LocalReservations(ledger))
    sinks.corpus.ids = NotWalked(sinks.corpus.ids)
    sinks.rejected.ids = NotWalked()

    async def admit_twice() -> list[float | None]:
        stop = asyncio.Event()
        first = await budget.admit(stop)
        await budget.release("run/9", first or 0.0)
        return [first, await budget.admit(stop)]

    # the mean of the five finished items: (0.01 + 0.02 + ... + 0.05) / 5 = $0.03
    assert asyncio.run(admit_twice()) == [pytest.approx(0.03), pytest.approx(0.03)]


def _config(name: str, run: RunDir) -> RunConfig:
    config = RunConfig.model_validate_json((run.path / "run.json").read_text())
    assert config.name == name
    return config
