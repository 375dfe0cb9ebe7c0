"""`storyloom inspect RUN_DIR ID`: one item's whole journey, from its checkpoints."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from storyloom.cli.params import check_report_paths, force_option, output_file_option
from storyloom.core.report_files import signed_html, write_report
from storyloom.dataset.inspect_html import journey_html
from storyloom.dataset.inspect_terminal import render_journey
from storyloom.dataset.journey import load_journey
from storyloom.dataset.runfiles import DatasetError

EXAMPLES = """
\b
Examples:
  storyloom inspect outputs/default 7                   # item 7 of the run
  storyloom inspect outputs/merged w1/7 --full          # every draft in full
  storyloom inspect outputs/default 7 --html item7.html # one self-contained page
"""


# An ITEM such as `-1` is an item (that no run has), not an unknown option.
@click.command(epilog=EXAMPLES, context_settings={"ignore_unknown_options": True})
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("item")
@output_file_option(
    "--html", "html_path", "Also write the journey as one self-contained HTML page."
)
@click.option("--full", is_flag=True, help="Print every draft in full (default: a preview).")
@force_option
def inspect(run_dir: Path, item: str, html_path: Path | None, full: bool, force: bool) -> None:
    """Show ITEM's journey in RUN_DIR (an id like `run/7`, or just its index): the draw,
    the plan, every draft with its gate findings, critique and review, what changed
    between drafts, and each call's tokens and cost. The run is only read."""
    if item.startswith("-") and not item[1:].isdigit():  # a negative index is an item
        raise click.UsageError(f"No such option: {item}")
    check_report_paths([html_path], [run_dir], force=force)
    try:
        journey = load_journey(run_dir, item)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    render_journey(journey, Console(), full=full)
    if html_path is not None:
        try:
            write_report(html_path, signed_html("inspect", journey_html(journey)))
        except OSError as exc:
            raise click.ClickException(f"{html_path}: cannot write ({exc.strerror})") from exc
        click.echo(f"wrote {html_path}")
