"""Checkpoint size against the run's JSONL output, per kind and rewrite mode.

Runs `storyloom generate --backend scripted` (placeholder text of realistic length) and
prints, for each run: items, the checkpoint database's bytes, the JSONL output's bytes
(corpus, rejected and the kind's own files), their ratio, and bytes per item. Every
draft, critique and plan stays recoverable: they are in the database's text store.

    .venv/bin/python bench/checkpoint_size.py            # 100 items per run
    .venv/bin/python bench/checkpoint_size.py --items 300 --kinds story documents
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from storyloom.core import layout


def run_size(run_dir: Path) -> tuple[int, int]:
    database = run_dir / layout.CHECKPOINTS_FILE
    outputs = [
        path
        for path in run_dir.glob("*.jsonl")
        if path.name in (layout.CORPUS_FILE, layout.REJECTED_FILE)
        or layout.is_side_output(path.name)
    ]
    return database.stat().st_size, sum(path.stat().st_size for path in outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--kinds", nargs="+", default=["story", "documents"])
    args = parser.parse_args()
    print(f"{'kind':<10} {'rewrite':<8} {'items':>6} {'checkpoints':>12} {'jsonl':>10} "
          f"{'ratio':>6} {'ckpt/item':>10}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            for rewrite in ("on-fail", "always"):
                run_dir = Path(tmp) / f"{kind}-{rewrite}"
                argv = [
                    sys.executable, "-m", "storyloom.cli", "generate", "--kind", kind,
                    "-n", str(args.items), "--backend", "scripted", "--rewrite", rewrite,
                    "--run-dir", str(run_dir), "--concurrency", "8",
                ]  # fmt: skip
                subprocess.run(argv, check=True, capture_output=True)
                database, output = run_size(run_dir)
                print(
                    f"{kind:<10} {rewrite:<8} {args.items:>6} {database:>12,} {output:>10,} "
                    f"{database / output:>6.2f} {database // args.items:>10,}"
                )


if __name__ == "__main__":
    main()
