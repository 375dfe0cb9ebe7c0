"""`storyloom merge SHARD... --out DIR`: the shards of one run as one run directory."""

from __future__ import annotations

from pathlib import Path

import click

from storyloom.dataset.merge import merge_runs
from storyloom.dataset.runfiles import DatasetError

EXAMPLES = """
\b
Examples:
  storyloom merge outputs/w0 outputs/w1 outputs/w2 --out outputs/merged
  storyloom merge outputs/w* --out outputs/merged   # again later: rebuilt with what is new
  storyloom stats outputs/merged
"""


@click.command(epilog=EXAMPLES)
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the merged run (new, or this run's previous merge: its files are "
    "replaced, yours beside them kept).",
)
@click.option(
    "--no-checkpoints",
    is_flag=True,
    help="Leave the checkpoints out (faster; `inspect` and `--include-history` need them).",
)
def merge(shards: tuple[Path, ...], out: Path, no_checkpoints: bool) -> None:
    """Merge the shard run directories of one run (finished or still running) into one
    run directory: every item once, usage ledgers concatenated, kinds' own files merged
    by id. The shards are only read."""
    try:
        report = merge_runs(list(shards), out, checkpoints=not no_checkpoints)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc})") from exc
    sides = "".join(f", {count} in {name}" for name, count in report.side_records.items())
    click.echo(
        f"merged {report.shards} shard(s) into {out}: {report.items} items "
        f"({report.emitted} emitted, {report.rejected} rejected{sides}), "
        f"{report.usage_lines} usage lines, {report.threads} checkpoint threads"
    )
    if report.torn_bytes:
        click.echo(
            f"left out {report.torn_bytes} bytes of lines still being written "
            "(merge again later to take them)"
        )
