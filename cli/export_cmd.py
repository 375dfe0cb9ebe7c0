"""`storyloom export RUN_DIR --out DIR`: the run as Parquet or JSONL files with a card."""

from __future__ import annotations

from pathlib import Path

import click

from storyloom.cli.params import FiniteFloatRange, OptionError, option_with_default
from storyloom.dataset.arms import DEFAULT_HOLDOUT_SHARE, ArmsOptions, export_arms
from storyloom.dataset.export import ExportOptions, export_run
from storyloom.dataset.runfiles import DatasetError

EXAMPLES = """
\b
Examples:
  storyloom export outputs/merged --out datasets/stories
  storyloom export outputs/run --format jsonl --include-rejected --out datasets/all
  storyloom export outputs/aug --tools-shape anthropic --out datasets/aug  # chat kinds
  storyloom export outputs/advice --arms --holdout dilemma --out datasets/arms
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
    type=click.Choice(["openai", "anthropic"]),
    default="openai",
    help="Tool definitions of chat kinds as OpenAI functions (what Hugging Face chat "
    "templates take), or as Anthropic's tools.",
)
@option_with_default(
    "--chat-text",
    type=click.Choice(["omit", "roles"]),
    default="omit",
    help="Chat records' `text`: left out (`messages` holds the conversation), or the "
    "turns with a role marker line (<|user|>) opening each.",
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
@click.option(
    "--arms",
    is_flag=True,
    help="Write the ablation arms instead: final items vs first drafts (and chat vs document "
    "where the kind renders both), same ids, token totals matched.",
)
@click.option(
    "--holdout",
    metavar="KEY",
    help="Set aside whole groups of KEY (an axis such as dilemma or setting, or section) "
    "as a test split.",
)
@option_with_default(
    "--holdout-share",
    type=FiniteFloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=DEFAULT_HOLDOUT_SHARE,
    help="About this share of the items goes to the --holdout test split.",
)
def export(
    run_dir: Path,
    out: Path,
    form: str,
    include_rejected: bool,
    include_history: bool,
    tools_shape: str,
    chat_text: str,
    rows_per_file: int,
    license_id: str,
    no_stats: bool,
    arms: bool,
    holdout: str | None,
    holdout_share: float,
) -> None:
    """Export RUN_DIR (a run or a merge, finished or still running) as a dataset that
    `datasets.load_dataset` reads, with a dataset card (README.md)."""
    if arms or holdout:
        if include_rejected or include_history:
            raise OptionError(
                "--include-rejected and --include-history are tables of the whole run; "
                "the arms (--arms, --holdout) hold emitted items only"
            )
        options = ArmsOptions(
            form=form,  # type: ignore[arg-type]
            rows_per_file=rows_per_file,
            holdout=holdout,
            holdout_share=holdout_share,
            tools=tools_shape,  # type: ignore[arg-type]
        )
        _export_arms(run_dir, out, options, arms=arms)
        return
    options = ExportOptions(
        form=form,  # type: ignore[arg-type]
        include_rejected=include_rejected,
        include_history=include_history,
        tools=tools_shape,  # type: ignore[arg-type]
        chat_text=chat_text,  # type: ignore[arg-type]
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


def _export_arms(run_dir: Path, out: Path, options: ArmsOptions, *, arms: bool) -> None:
    try:
        report = export_arms(run_dir, out, options, arms=arms)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc})") from exc
    for split in report.splits:
        totals = ", ".join(f"{name} {split.tokens[name]:,}" for name in report.arms)
        click.echo(
            f"{split.name}: {len(split.ids)} item(s) in each arm, "
            f"{len(split.set_aside)} set aside to match tokens "
            f"({totals}; spread {split.spread:.2%})"
        )
    if report.held_out:
        click.echo(f"held out ({options.holdout}): {', '.join(report.held_out)}")
    click.echo(f"exported {run_dir} to {out}: {len(report.files)} file(s) + README.md")
