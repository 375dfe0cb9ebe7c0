"""The `storyloom` command. The only place that turns errors into exit codes."""

from __future__ import annotations

import click

from storyloom.cli.audit_cmd import audit
from storyloom.cli.batches_cmd import batches
from storyloom.cli.calibrate_cmd import calibrate
from storyloom.cli.check_cmd import check
from storyloom.cli.claims_cmd import claims
from storyloom.cli.dedupe_cmd import dedupe
from storyloom.cli.eval_cmd import eval_command
from storyloom.cli.export_cmd import export
from storyloom.cli.generate_cmd import generate
from storyloom.cli.inspect_cmd import inspect
from storyloom.cli.kind_options import kind_option
from storyloom.cli.logs import install_log_scrubbing
from storyloom.cli.merge_cmd import merge
from storyloom.cli.plan_cmd import plan
from storyloom.cli.stats_cmd import stats
from storyloom.stories.registry import get_kind, loadable_kinds

EXAMPLES = """
\b
Examples:
  storyloom generate -n 3                      # offline, bundled SmolLM2-135M
  storyloom stats outputs/default --html report.html
  storyloom plan -n 100 --coverage-only        # premise coverage before any model call
  storyloom dedupe corpus.jsonl clean.jsonl    # near-duplicates out of any JSONL
  storyloom graph                              # the story workflow as Mermaid
  storyloom kinds                              # the corpus kinds this install has
  storyloom check story.md --persona-name Wren  # the gates on your own texts
  storyloom calibrate --backend anthropic       # the judge against the gold set
  storyloom eval runs/e1 --backend scripted     # held-out suites against models
  storyloom generate --help                    # every command has its own examples
"""

GRAPH_EXAMPLES = """
\b
Examples:
  storyloom graph                               # paste into any Mermaid viewer
  storyloom graph > workflow.mmd
  storyloom graph --kind story                  # one kind's workflow
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.version_option(package_name="storyloom")
def cli() -> None:
    """storyloom: constitution-grounded training corpora for alignment, of four kinds:
    stories, documents, advice chats and augmented chat data (`storyloom kinds`).

    Generate items with an LLM, check each against a constitution, remove
    near-duplicates, and report on the corpus. Runs resume where they stopped.
    """
    install_log_scrubbing()  # before any command logs: no log line carries a secret


@cli.command(name="graph", epilog=GRAPH_EXAMPLES)
@kind_option
def graph_command(kind: str | None) -> None:
    """Print a kind's workflow as a Mermaid flowchart."""
    from storyloom.graph.builder import mermaid

    click.echo(mermaid(get_kind(kind or "story")))


KINDS_EXAMPLES = """
\b
Examples:
  storyloom kinds                               # every kind, one line each
  storyloom generate --kind story -n 50         # then make one
"""


@cli.command(name="kinds", epilog=KINDS_EXAMPLES)
def kinds_command() -> None:
    """List the corpus kinds, one line each, with their inputs and options; a plug-in
    that cannot be loaded is listed as broken, with its error."""
    kinds, broken = loadable_kinds()
    for name in sorted({*kinds, *broken}):
        if name in broken:
            click.echo(f"{name:<10} BROKEN: {broken[name]}")
            continue
        kind = kinds[name]
        inputs = ", ".join(spec.name for spec in kind.input_specs) or "none"
        options = ", ".join(kind.options_model.model_fields) or "none"
        click.echo(f"{name:<10} {kind.summary} [inputs: {inputs}; options: {options}]")


cli.add_command(generate)
cli.add_command(plan)
cli.add_command(dedupe)
cli.add_command(stats)
cli.add_command(batches)
cli.add_command(check)
cli.add_command(calibrate)
cli.add_command(merge)
cli.add_command(export)
cli.add_command(inspect)
cli.add_command(claims)
cli.add_command(audit)
cli.add_command(eval_command)
