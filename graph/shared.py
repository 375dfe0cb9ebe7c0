"""What the workers of one sharded run share through Redis: the settings they run with
(checked, so no worker mixes in items made otherwise), the near-duplicate indexes (so a
near-duplicate is caught across workers, check-and-insert still atomic), and the spend
the budget cap counts against.

Every key lives under `storyloom:<run name>:<recipe>:`, so two logical runs never meet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import redis

from storyloom.core.secrets import remember_url_secrets, scrub, url_for_messages
from storyloom.graph.budget import Pool
from storyloom.graph.rundir import UNCOMPARED, RunConfig

#: Seconds a worker counts as alive after its last sign of life; a killed worker's
#: reservations stop counting after this (it refreshes every third of it).
ALIVE_SECONDS = 30

#: Reserve `ARGV[2]` USD for worker `ARGV[1]` in the hash `KEYS[2]` if the spend
#: (`KEYS[1]`), the reservations there of every live worker (`ARGV[5]..worker` exists)
#: and it (only when `ARGV[4]` is 1) fit within `ARGV[3]`: one atomic step, so two
#: workers never both take the last of the budget (`graph.budget.Reservations`).
_HELD_BY_LIVE_WORKERS = """
local function held_by_live(hash, alive, except)
  local held = 0
  local entries = redis.call('HGETALL', hash)
  for i = 1, #entries, 2 do
    if entries[i] ~= except and redis.call('EXISTS', alive .. entries[i]) == 1 then
      held = held + tonumber(entries[i + 1])
    end
  end
  return held
end
"""
_RESERVE = (
    _HELD_BY_LIVE_WORKERS
    + """
local spend = tonumber(redis.call('GET', KEYS[1]) or '0')
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local taken = spend + mine + held_by_live(KEYS[2], ARGV[5], ARGV[1])
if ARGV[4] == '1' and taken + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
if ARGV[4] ~= '1' and taken >= tonumber(ARGV[3]) then return 0 end
redis.call('HINCRBYFLOAT', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
)
_OTHERS_HOLD = (
    _HELD_BY_LIVE_WORKERS
    + """
return tostring(held_by_live(KEYS[1], ARGV[2], ARGV[1]))
"""
)


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
        if not sep or not _ascii_digits(number) or not _ascii_digits(count):
            raise ValueError(f"{text!r} is not K/N (for example 0/3)")
        shard = cls(int(number), int(count))
        if not 0 <= shard.number < shard.count:
            raise ValueError(f"{text!r}: K must be at least 0 and less than N")
        return shard

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def _ascii_digits(text: str) -> bool:
    """0-9 only: `str.isdigit` also takes other scripts' digits, which int() reads."""
    return text.isascii() and text.isdigit()


class SharedRun:
    """One logical run's shared state in Redis."""

    def __init__(self, client: redis.Redis, config: RunConfig) -> None:
        self.client = client
        self.namespace = f"storyloom:{config.name}:{config.recipe}"
        #: This worker's field in the reservation hashes.
        self.worker = config.shard or "whole run"
        self._reserve = client.register_script(_RESERVE)
        self._others_hold = client.register_script(_OTHERS_HOLD)
        self._alive_prefix = f"{self.namespace}:alive:"

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

    def _reserved_key(self, pool: Pool) -> str:
        return f"{self.namespace}:reserved:{pool}"

    def try_reserve(self, pool: Pool, usd: float, cap: float, *, must_fit: bool = True) -> bool:
        self.heartbeat()
        keys = [f"{self.namespace}:spend", self._reserved_key(pool)]
        args = [self.worker, repr(usd), repr(cap), "1" if must_fit else "0", self._alive_prefix]
        return bool(self._reserve(keys=keys, args=args))

    def release(self, pool: Pool, usd: float) -> None:
        if usd:
            self.client.hincrbyfloat(self._reserved_key(pool), self.worker, -usd)

    def others_hold(self, pool: Pool) -> bool:
        """Whether another live worker holds a reservation in `pool` (which it will
        release, leaving room)."""
        held = self._others_hold(
            keys=[self._reserved_key(pool)], args=[self.worker, self._alive_prefix]
        )
        return float(held) > 1e-9

    def heartbeat(self) -> None:
        """This worker is alive: its reservations count (and others may wait on them).
        Best effort: a Redis that is down fails the next reservation, which says so."""
        with contextlib.suppress(redis.RedisError):
            self.client.set(self._alive_prefix + self.worker, 1, ex=ALIVE_SECONDS)

    def clear_reservations(self) -> None:
        """Drop what an earlier process of this worker held (it was killed, or stopped
        mid-call): its spend is booked, its reservations would block the others."""
        with contextlib.suppress(redis.RedisError):  # best effort: they also expire
            for pool in ("items", "calls"):
                self.client.hdel(self._reserved_key(pool), self.worker)
            self.client.delete(self._alive_prefix + self.worker)


def _comparable(config: RunConfig) -> dict[str, Any]:
    data = config.model_dump()
    kept = {k: v for k, v in data.items() if k not in UNCOMPARED and k != "shard"}
    kept["inputs"] = {name: entry["fingerprint"] for name, entry in data["inputs"].items()}
    return {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:12]
            if k == "settings" else v for k, v in kept.items()}  # fmt: skip
