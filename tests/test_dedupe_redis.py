"""The Redis-backed index against a real redis-server on loopback: several worker processes
share one index and never let two near-duplicates in."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from dedupe_corpus import build_corpus
from redis_server import RedisServer, running_redis_server

from storyloom.dedupe.index import NearDuplicateIndex, StaleIndexError

_WORKER = """
import json, sys, time
import redis
from storyloom.dedupe.index import NearDuplicateIndex

url, namespace, docs_path, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
docs = json.loads(open(docs_path, encoding="utf-8").read())
client = redis.Redis.from_url(url)
index = NearDuplicateIndex(redis_client=client, redis_namespace=namespace)
results = {}
for step, (key, text) in enumerate(docs):
    # A barrier per step: every worker checks its document at the same moment.
    client.incr(f"barrier:{namespace}:{step}")
    while int(client.get(f"barrier:{namespace}:{step}")) < workers:
        time.sleep(0.0002)
    results[key] = index.check_and_insert(key, text)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with running_redis_server() as running:
        yield running


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    connection = server.client()
    yield connection
    connection.flushdb()
    connection.close()


def variants(text: str, count: int) -> list[str]:
    """`count` near-duplicates of `text`: each has a few short spans of its words replaced."""
    words = text.split(" ")
    made = []
    for variant in range(count):
        edited = list(words)
        for start in range(variant * 7, len(edited) - 3, 60):
            edited[start : start + 3] = [f"v{variant}w{start}"] * 3
        made.append(" ".join(edited))
    return made


def test_several_worker_processes_share_one_index(
    server: RedisServer, client: redis.Redis, tmp_path: Path
) -> None:
    # Worker w gets variant w of every cluster, in the same cluster order, and a barrier makes
    # the workers check near-duplicates of one another at the same moment: a check-and-insert
    # that was not atomic would let several variants of a cluster in.
    workers_count, clusters = 3, 60
    bases = build_corpus(clusters, seed=12, words_per_doc=200, duplicate_fraction=0.0).texts
    cluster_variants = [variants(base, workers_count) for base in bases]
    namespace = f"test:{uuid.uuid4().hex}"
    workers = []
    for worker in range(workers_count):
        docs = [
            [f"c{cluster}v{worker}", cluster_variants[cluster][worker]]
            for cluster in range(clusters)
        ]
        docs_path = tmp_path / f"docs{worker}.json"
        docs_path.write_text(json.dumps(docs), encoding="utf-8")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER,
                    server.url,
                    namespace,
                    str(docs_path),
                    str(workers_count),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [worker_process.communicate(timeout=300) for worker_process in workers]
    assert all(worker_process.returncode == 0 for worker_process in workers), outputs
    results = [json.loads(stdout) for stdout, _ in outputs]

    index = NearDuplicateIndex(redis_client=client, redis_namespace=namespace)
    for cluster in range(clusters):
        inside = [f"c{cluster}v{worker}" in index for worker in range(workers_count)]
        assert sum(inside) == 1, (cluster, inside)
    assert len(index) == clusters
    for worker_results in results:
        for key, duplicate_of in worker_results.items():
            if duplicate_of is None:
                assert key in index
            else:
                assert key not in index and duplicate_of in index
                assert duplicate_of.split("v")[0] == key.split("v")[0]  # same cluster


def test_redis_index_behaves_like_the_memory_index(client: redis.Redis) -> None:
    corpus = build_corpus(40, seed=2, words_per_doc=300, duplicate_fraction=0.25)
    shared = NearDuplicateIndex(redis_client=client, redis_namespace="same")
    local = NearDuplicateIndex()
    for number, text in enumerate(corpus.texts):
        assert shared.check_and_insert(str(number), text) == local.check_and_insert(
            str(number), text
        )
    assert len(shared) == len(local)
    assert shared.check_and_insert("0", corpus.texts[0]) is None  # replay: not its own dup
    another_worker = NearDuplicateIndex(redis_client=client, redis_namespace="same")
    assert len(another_worker) == len(local)
    assert another_worker.find_duplicate(corpus.texts[5]) == local.find_duplicate(corpus.texts[5])


def test_a_namespace_written_with_other_parameters_is_refused(client: redis.Redis) -> None:
    NearDuplicateIndex(redis_client=client, redis_namespace="ns", shingle_size=5)
    with pytest.raises(StaleIndexError, match="shingle_size: stored 5, wanted 4"):
        NearDuplicateIndex(redis_client=client, redis_namespace="ns", shingle_size=4)
    NearDuplicateIndex(redis_client=client, redis_namespace="ns", threshold=0.6)  # reusable


def test_a_client_that_decodes_responses_is_refused(server: RedisServer) -> None:
    decoding = redis.Redis(host=server.host, port=server.port, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses=False"):
        NearDuplicateIndex(redis_client=decoding)
    decoding.close()
