"""`storyloom audit RUN --against SUITE_OR_FILE`: how close a corpus is to the evaluations
it will be judged by. Exit 0 clear, 1 when a pair is flagged, 2 on bad input."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from storyloom.cli.check_cmd import BadInput
from storyloom.cli.params import (
    FiniteFloatRange,
    check_report_paths,
    force_option,
    option_with_default,
    output_file_option,
)
from storyloom.core.report_files import json_report, signed_html, write_report
from storyloom.dataset.audit import (
    MIN_SHARED_NGRAMS,
    NGRAM_SIZE,
    AuditSettings,
    audit_corpus,
)
from storyloom.dataset.audit_drop import drop_problem, write_without
from storyloom.dataset.audit_report import print_summary, render_html
from storyloom.dataset.audit_sources import corpus_file, corpus_items, load_against
from storyloom.dataset.runfiles import DatasetError
from storyloom.dedupe.index import DEFAULT_THRESHOLD

EXAMPLES = """
\b
Examples:
  storyloom audit outputs/default --against honeypots
  storyloom audit outputs/docs --against my_eval.jsonl --json audit.json --html audit.html
  storyloom audit outputs/docs --against honeypots --drop clean.jsonl
  storyloom audit corpus.jsonl --against a.jsonl --against b.jsonl --threshold 0.3
"""


@click.command(name="audit", epilog=EXAMPLES)
@click.argument("run", metavar="RUN", type=click.Path(path_type=Path))
@click.option(
    "--against",
    "against",
    multiple=True,
    required=True,
    help="An evaluation suite (a shipped suite's name or a suite file) or a JSONL file of "
    '{"id", "text"} records; repeat for several.',
)
@option_with_default(
    "--threshold",
    type=FiniteFloatRange(0.0, 1.0, min_open=True),
    default=DEFAULT_THRESHOLD,
    help="MinHash similarity (word 5-shingles, as dedupe) at or above which a pair is flagged.",
)
@option_with_default(
    "--ngram",
    "ngram_size",
    type=click.IntRange(5, 50),
    default=NGRAM_SIZE,
    help="Words per n-gram of the long n-gram overlap.",
)
@option_with_default(
    "--min-shared",
    type=click.IntRange(min=1),
    default=MIN_SHARED_NGRAMS,
    help="Shared n-grams at or above which a pair is flagged.",
)
@output_file_option("--json", "json_path", "Write every figure and flagged pair as JSON.")
@output_file_option("--html", "html_path", "Write a self-contained HTML page.")
@output_file_option(
    "--drop", "drop_path", "Write the corpus without the flagged items to this JSONL file."
)
@option_with_default(
    "--show", type=click.IntRange(min=0), default=5, help="Flagged pairs shown per suite."
)
@force_option
def audit(
    run: Path,
    against: tuple[str, ...],
    threshold: float,
    ngram_size: int,
    min_shared: int,
    json_path: Path | None,
    html_path: Path | None,
    drop_path: Path | None,
    show: int,
    force: bool,
) -> None:
    """Measure how close RUN's corpus (a run directory or a corpus JSONL file) is to each
    evaluation set: shared long n-grams and MinHash near-neighbours between every corpus
    item and every evaluation item, the distribution of each item's nearest-neighbour
    similarity, and the flagged pairs side by side.

    Exit status: 0 clear, 1 when a pair is flagged (too close), 2 on bad input.
    """
    settings = AuditSettings(
        threshold=threshold, ngram_size=ngram_size, min_shared_ngrams=min_shared
    )
    try:
        corpus = corpus_file(run)
        check_report_paths((json_path, html_path), [corpus], force=force)
        if drop_path is not None and (problem := drop_problem(drop_path, corpus)):
            raise BadInput(problem)
        eval_sets = [load_against(ref) for ref in against]
        items = ((item_id, text) for item_id, text, _ in corpus_items(corpus))
        summary = audit_corpus(items, eval_sets, settings, corpus=str(corpus))
    except DatasetError as error:
        raise BadInput(str(error)) from error
    print_summary(Console(highlight=False), summary, show=show)
    figures = summary.as_json()
    try:
        if json_path is not None:
            write_report(json_path, json_report("audit", figures))
        if html_path is not None:
            write_report(html_path, signed_html("audit", render_html(summary)))
        if drop_path is not None:
            kept, dropped = write_without(corpus, drop_path, summary.flagged_ids, figures)
            click.echo(
                f"wrote {drop_path}: {kept} item(s) kept, {dropped} flagged item(s) left out"
            )
    except DatasetError as error:
        raise BadInput(str(error)) from error
    except OSError as error:
        raise click.ClickException(f"{error.filename}: cannot write ({error.strerror})") from error
    if summary.too_close:
        click.get_current_context().exit(1)
