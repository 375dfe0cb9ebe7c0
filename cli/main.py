"""The `storyloom` command. The only place that turns errors into exit codes."""

from __future__ import annotations

import click

from storyloom.cli.dedupe_cmd import dedupe
from storyloom.cli.generate_cmd import generate
from storyloom.cli.plan_cmd import plan
from storyloom.cli.stats_cmd import stats


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="storyloom")
def cli() -> None:
    """storyloom: constitution-grounded story corpora for alignment training.

    \b
    Quick start (offline, bundled SmolLM2-135M):
      storyloom generate -n 3
      storyloom stats outputs/default
    """


@cli.command(name="graph")
def graph_command() -> None:
    """Print the story workflow as a Mermaid flowchart."""
    from storyloom.graph.builder import mermaid

    click.echo(mermaid())


cli.add_command(generate)
cli.add_command(plan)
cli.add_command(dedupe)
cli.add_command(stats)
