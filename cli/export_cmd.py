"""`storyloom export RUN_DIR --out DIR`: the run as Parquet or JSONL files with a card."""

from __future__ import annotations

from pathlib import Path

import click

from storyloom.cli.params import option_with_default
from storyloom.dataset.export import ExportOptions, export_run
from storyloom.dataset.runfiles import DatasetError

EXAMPLES = """
\b
Examples:
  storyloom export outputs/merged --out datasets/stories
  storyloom export outputs/run --format jsonl --include-rejected --out datasets/all
  storyloom export outputs/aug --tools-shape openai --out datasets/aug   # chat kinds
  python -c 'import datasets; print(datasets.load_dataset("parquet",
      data_files="datasets/stories/data/*.parquet"))'
"""


@click.command(epilog=EXAMPLES)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the dataset (new, or this run's previous export: its files are "
    "replaced, yours beside them kept).",
)
@option_with_default(
    "--format",
    "form",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    help="File format of the tables.",
)
@click.option(
    "--include-rejected", is_flag=True, help="Add the rejected items (config 'rejected')."
)
@click.option(
    "--include-history",
    is_flag=True,
    help="Add every draft with its findings and critique (config 'history'; needs checkpoints).",
)
@option_with_default(
    "--tools-shape",
    type=click.Choice(["anthropic", "openai"]),
    default="anthropic",
    help="Tool definitions of chat kinds as written, or as OpenAI functions.",
)
@option_with_default(
    "--rows-per-file", type=click.IntRange(min=1), default=100_000, help="Rows in each data file."
)
@option_with_default(
    "--license",
    "license_id",
    default="other",
    help="License identifier for the card's header (the Hub's ids: cc-by-4.0, apache-2.0, …).",
)
@click.option("--no-stats", is_flag=True, help="Leave the key figures of `stats` out of the card.")
def export(
    run_dir: Path,
    out: Path,
    form: str,
    include_rejected: bool,
    include_history: bool,
    tools_shape: str,
    rows_per_file: int,
    license_id: str,
    no_stats: bool,
) -> None:
    """Export RUN_DIR (a run or a merge, finished or still running) as a dataset that
    `datasets.load_dataset` reads, with a dataset card (README.md)."""
    options = ExportOptions(
        form=form,  # type: ignore[arg-type]
        include_rejected=include_rejected,
        include_history=include_history,
        tools=tools_shape,  # type: ignore[arg-type]
        rows_per_file=rows_per_file,
        license=license_id,
        stats=not no_stats,
    )
    try:
        report = export_run(run_dir, out, options)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc})") from exc
    tables = ", ".join(f"{name} {rows} rows" for name, rows in report.rows.items())
    click.echo(f"exported {run_dir} to {out}: {tables}; {len(report.files)} file(s) + README.md")
    if report.without_history:
        click.echo(f"{report.without_history} item(s) had no checkpoint, so no history")
