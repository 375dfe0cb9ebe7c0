"""The `storyloom` command. The only place that turns errors into exit codes."""

from __future__ import annotations

import click

from storyloom.cli.batches_cmd import batches
from storyloom.cli.dedupe_cmd import dedupe
from storyloom.cli.generate_cmd import generate
from storyloom.cli.logs import install_log_scrubbing
from storyloom.cli.plan_cmd import plan
from storyloom.cli.stats_cmd import stats

EXAMPLES = """
\b
Examples:
  storyloom generate -n 3                      # offline, bundled SmolLM2-135M
  storyloom stats outputs/default --html report.html
  storyloom plan -n 100 --coverage-only        # premise coverage before any model call
  storyloom dedupe corpus.jsonl clean.jsonl    # near-duplicates out of any JSONL
  storyloom graph                              # the story workflow as Mermaid
  storyloom generate --help                    # every command has its own examples
"""

GRAPH_EXAMPLES = """
\b
Examples:
  storyloom graph                               # paste into any Mermaid viewer
  storyloom graph > workflow.mmd
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.version_option(package_name="storyloom")
def cli() -> None:
    """storyloom: constitution-grounded story corpora for alignment training.

    Generate stories with an LLM, check each against a constitution, remove
    near-duplicates, and report on the corpus. Runs resume where they stopped.
    """
    install_log_scrubbing()  # before any command logs: no log line carries a secret


@cli.command(name="graph", epilog=GRAPH_EXAMPLES)
def graph_command() -> None:
    """Print the story workflow as a Mermaid flowchart."""
    from storyloom.graph.builder import mermaid

    click.echo(mermaid())


cli.add_command(generate)
cli.add_command(plan)
cli.add_command(dedupe)
cli.add_command(stats)
cli.add_command(batches)
