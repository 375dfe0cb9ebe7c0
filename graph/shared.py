"""What the workers of one sharded run share through Redis: the settings they run with
(checked, so no worker mixes in items made otherwise), the near-duplicate indexes (so a
near-duplicate is caught across workers, check-and-insert still atomic), and the spend
the budget cap counts against.

Every key lives under `storyloom:<run name>:<recipe>:`, so two logical runs never meet.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import redis

from storyloom.core.secrets import remember_url_secrets, scrub, url_for_messages
from storyloom.graph.rundir import UNCOMPARED, RunConfig


class SharedRunError(ValueError):
    """The workers of one run disagree, or Redis cannot be reached."""


@dataclass(frozen=True)
class Shard:
    """Worker `number` of `count`: it takes the items whose index % count == number."""

    number: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        number, sep, count = text.partition("/")
        if not sep or not number.isdigit() or not count.isdigit():
            raise ValueError(f"{text!r} is not K/N (for example 0/3)")
        shard = cls(int(number), int(count))
        if not 0 <= shard.number < shard.count:
            raise ValueError(f"{text!r}: K must be at least 0 and less than N")
        return shard

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


class SharedRun:
    """One logical run's shared state in Redis."""

    def __init__(self, client: redis.Redis, config: RunConfig) -> None:
        self.client = client
        self.namespace = f"storyloom:{config.name}:{config.recipe}"

    @classmethod
    def connect(cls, url: str, config: RunConfig) -> SharedRun:
        remember_url_secrets(url)  # whatever redis-py or a traceback shows, never the password
        try:
            client = redis.Redis.from_url(url, socket_timeout=10)
            client.ping()
        except (redis.RedisError, ValueError) as error:
            raise SharedRunError(
                f"--redis: cannot reach {url_for_messages(url)} ({scrub(str(error))})"
            ) from None
        return cls(client, config)

    def check_same_run(self, config: RunConfig) -> None:
        """The first worker records what the run is; the others must match it."""
        mine = _comparable(config)
        key = f"{self.namespace}:config"
        self.client.set(key, json.dumps(mine, sort_keys=True), nx=True)
        theirs = json.loads(self.client.get(key) or b"{}")
        if theirs != mine:
            differs = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise SharedRunError(
                f"shard {config.shard}: this worker's {', '.join(differs)} differ from the "
                "other workers' of the same run; start every worker with the same seed, "
                "inputs and settings"
            )

    def index_namespace(self, name: str, group: int) -> str:
        return f"{self.namespace}:{name}:{group}"

    def add_spend(self, usd: float) -> None:
        if usd:
            self.client.incrbyfloat(f"{self.namespace}:spend", usd)

    def spend(self) -> float:
        value = self.client.get(f"{self.namespace}:spend")
        return float(value) if value else 0.0


def _comparable(config: RunConfig) -> dict[str, Any]:
    data = config.model_dump()
    kept = {k: v for k, v in data.items() if k not in UNCOMPARED and k != "shard"}
    kept["inputs"] = {name: entry["fingerprint"] for name, entry in data["inputs"].items()}
    return {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:12]
            if k == "settings" else v for k, v in kept.items()}  # fmt: skip
