"""Benchmark `storyloom export` (Parquet, no stats) against a baseline commit's export, in
the same run, on the same corpus.

    .venv/bin/python bench/export.py                       # 2,000 items per kind
    .venv/bin/python bench/export.py --items 10000 --base main

A scripted run of each kind (3 items) is made once, then its corpus is repeated to
`--items` records (new ids) with its run.json. Each export runs in a child process, which
imports its code first and times `export_run` alone (seconds and peak memory): this
tree's, and the `--base` commit's `dataset/` modules loaded from git (the shared code is
this tree's). Timings on a busy machine move together; compare the two columns.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The modules of `dataset/` the export is made of, in import order.
EXPORT_MODULES = ("tools", "rows", "files", "card", "export")

CHILD = r"""
import json, resource, subprocess, sys, time, types
from pathlib import Path

repo, base, run, out = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
if base:
    for name in json.loads(sys.argv[5]):
        source = subprocess.check_output(
            ["git", "show", f"{base}:dataset/{name}.py"], cwd=repo, text=True
        )
        module = types.ModuleType(f"storyloom.dataset.{name}")
        module.__file__ = f"{base}:dataset/{name}.py"
        sys.modules[module.__name__] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
from storyloom.dataset.export import ExportOptions, export_run

start = time.perf_counter()
export_run(run, out, ExportOptions(stats=False))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


def make_run(kind: str, items: int, work: Path) -> Path:
    small = work / f"{kind}-small"
    extra: list[str] = []
    if kind == "augment":
        sys.path.insert(0, str(REPO / "tests" / "support"))
        from augment_source import write_source

        extra = ["--source", str(write_source(work / "chats.jsonl", 4))]
    subprocess.run(
        [sys.executable, "-m", "storyloom.cli", "generate", "--kind", kind, "-n", "3",
         "--backend", "scripted", "--run-dir", str(small), *extra],
        check=True, capture_output=True,
    )  # fmt: skip
    records = [json.loads(line) for line in (small / "corpus.jsonl").open()]
    run = work / kind
    run.mkdir()
    shutil.copy(small / "run.json", run / "run.json")
    with (run / "corpus.jsonl").open("w") as corpus:
        for index in range(items):
            record = records[index % len(records)]
            metadata = {**record["metadata"], "index": index}
            corpus.write(json.dumps({**record, "id": f"{kind}/{index}", "metadata": metadata}))
            corpus.write("\n")
    return run


def timed(base: str, run: Path, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO), base, str(run), str(out),
         json.dumps(EXPORT_MODULES)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--base", default="HEAD~3", help="the baseline commit")
    parser.add_argument("--kinds", default="story,augment")
    args = parser.parse_args()
    print(f"export of {args.items} items, Parquet, --no-stats; baseline {args.base}")
    print(f"{'kind':10} {'this tree s':>12} {'baseline s':>11} {'this MB':>8} {'base MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for kind in args.kinds.split(","):
            run = make_run(kind, args.items, work)
            new = timed("", run, work / "out-new")
            old = timed(args.base, run, work / "out-old")
            print(
                f"{kind:10} {new['seconds']:12.2f} {old['seconds']:11.2f} "
                f"{new['peak_mb']:8.0f} {old['peak_mb']:8.0f}"
            )


if __name__ == "__main__":
    main()
