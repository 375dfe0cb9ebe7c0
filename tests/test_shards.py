"""One run across several workers (`--shard K/N --redis URL`): each worker takes its own
indexes into its own directory, a killed worker resumes its shard, near-duplicates are
caught across workers, and workers started with other settings are refused."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import generate_argv, scripted_env
from redis_server import RedisServer, running_redis_server

from storyloom.graph.indexes import RunIndexes
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.shared import Shard, SharedRun
from storyloom.stories.registry import get_kind

ITEMS = 30


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with running_redis_server() as server:
        yield server


def worker_argv(run_dir: Path, shard: str, redis: RedisServer, *extra: str) -> list[str]:
    return [
        *generate_argv(run_dir, ITEMS),
        *("--shard", shard, "--redis", redis.url, "--run-name", "big", *extra),
    ]


def ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def test_three_workers_one_killed_and_restarted_make_every_item_once(
    tmp_path: Path, redis: RedisServer
) -> None:
    dirs = [tmp_path / f"w{k}" for k in range(3)]
    workers = [
        subprocess.Popen(
            worker_argv(d, f"{k}/3", redis),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=scripted_env(0.05 if k == 1 else 0.0),
        )
        for k, d in enumerate(dirs)
    ]
    deadline = time.monotonic() + 60
    while not ids(dirs[1] / "corpus.jsonl") and time.monotonic() < deadline:
        time.sleep(0.05)
    workers[1].send_signal(signal.SIGKILL)
    for k, process in enumerate(workers):
        _, err = process.communicate(timeout=300)
        assert process.returncode == (-signal.SIGKILL if k == 1 else 0), err.decode()
    restarted = subprocess.run(
        worker_argv(dirs[1], "1/3", redis), capture_output=True, env=scripted_env(0), timeout=300
    )
    assert restarted.returncode == 0, restarted.stderr.decode()

    for k, run_dir in enumerate(dirs):
        mine = ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl")
        assert sorted(mine) == sorted(f"big/{i}" for i in range(k, ITEMS, 3))
        assert json.loads((run_dir / "run.json").read_text())["shard"] == f"{k}/3"


def test_a_worker_with_other_settings_is_refused(tmp_path: Path, redis: RedisServer) -> None:
    first = subprocess.run(
        worker_argv(tmp_path / "a", "0/2", redis, "--run-name", "checked"),
        capture_output=True,
        env=scripted_env(0),
        timeout=300,
    )
    assert first.returncode == 0, first.stderr.decode()
    other = subprocess.run(
        worker_argv(tmp_path / "b", "1/2", redis, "--run-name", "checked", "--seed", "9"),
        capture_output=True,
        env=scripted_env(0),
        timeout=300,
    )
    assert other.returncode == 1
    assert "shard 1/2: this worker's settings differ from the other workers'" in (
        other.stderr.decode()
    )
    assert not (tmp_path / "b" / "corpus.jsonl").exists()


def test_near_duplicates_are_caught_across_workers(tmp_path: Path, redis: RedisServer) -> None:
    kind = get_kind("story")
    inputs = kind.load_inputs({})
    story = " ".join(f"word{i} and the lantern by the harbour" for i in range(80))
    near = story.replace("word3 ", "wordthree ")
    matches = []
    for k, text in enumerate((story, near)):
        run = RunDir(tmp_path / f"shard{k}")
        run.prepare()
        config = RunConfig.create(
            "dup", kind, "scripted", "m", GenerationSettings(), inputs, shard=str(Shard(k, 2))
        )
        shared = SharedRun.connect(redis.url, config)
        indexes = RunIndexes(run, GenerationSettings(), kind, shared)
        matches.append(indexes.items(0).check_and_insert(f"dup/{k}", text))
    assert matches == [None, "dup/0"]


def test_shard_parsing() -> None:
    assert Shard.parse("2/5") == Shard(2, 5)
    for bad in ("5/5", "a/3", "3", "-1/3"):
        with pytest.raises(ValueError):
            Shard.parse(bad)
