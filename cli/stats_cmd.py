"""`storyloom stats`: corpus statistics for a run directory or any corpus JSONL."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from storyloom.cli.kind_options import kind_option
from storyloom.cli.params import (
    check_report_paths,
    force_option,
    option_with_default,
    output_file_option,
)
from storyloom.report.compute import DEFAULT_SAMPLE, StatsOptions, compute_stats
from storyloom.report.jsonl import ReportInputError
from storyloom.report.output import write_html, write_json
from storyloom.report.source import open_input
from storyloom.report.terminal import render_terminal


def _axes(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise click.BadParameter(
            f"expected two different axis names like 'setting,dilemma', got {value!r}"
        )
    return parts[0], parts[1]


#: Documents the sampled metrics hold in memory (and compare pairwise) at most.
MAX_SAMPLE = 1_000_000

EXAMPLES = """
\b
Examples:
  storyloom stats outputs/default                # a run, finished or still going
  storyloom stats outputs/default --full         # every table, not only the summary
  storyloom stats outputs/default --html report.html --json stats.json
  storyloom stats clean.jsonl --text-field text  # any corpus JSONL
  storyloom stats outputs/default --axes theme,tone --sample 500
  storyloom stats records.jsonl --kind story     # a bare corpus read as a kind
"""


@click.command(name="stats", epilog=EXAMPLES)
@click.argument("source", type=click.Path(path_type=Path))
@output_file_option("--json", "json_path", "Write the full statistics as JSON to this file.")
@output_file_option(
    "--html", "html_path", "Write a self-contained HTML report with plots to this file."
)
@option_with_default(
    "--text-field",
    default="text",
    help="Field holding the document text (dots reach nested fields: a.b).",
)
@click.option(
    "--axes",
    "axes",
    default=None,
    help="Two dimensions for the coverage heat map [default: the kind's first two].",
)
@option_with_default(
    "--sample",
    default=DEFAULT_SAMPLE,
    type=click.IntRange(2, MAX_SAMPLE),
    help="Documents sampled for distinct-n, phrases, similarity and names.",
)
@click.option("--full", is_flag=True, help="Print every table, not only the one-screen summary.")
@force_option
@kind_option
def stats(
    source: Path,
    json_path: Path | None,
    html_path: Path | None,
    text_field: str,
    axes: str | None,
    sample: int,
    full: bool,
    kind: str | None,
    force: bool,
) -> None:
    """Statistics of RUN_DIR (a run, finished or in progress) or of CORPUS.jsonl.

    A bare corpus is read as --kind, else as the kind its first record names
    (`metadata.kind`), else as stories."""
    try:
        options = StatsOptions(text_field=text_field, heatmap_axes=_axes(axes), sample=sample)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    check_report_paths((json_path, html_path), [source], force=force)
    try:
        report = compute_stats(open_input(source, kind), options)
    except ReportInputError as exc:
        raise click.ClickException(str(exc)) from exc
    render_terminal(report, Console(), full=full)
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for path, write in ((json_path, write_json), (html_path, write_html)):
        if path is None:
            continue
        try:
            write(report, path)
        except OSError as exc:
            raise click.ClickException(f"{path}: cannot write ({exc.strerror})") from exc
        click.echo(f"wrote {path}")
