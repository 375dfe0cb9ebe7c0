"""`storyloom dedupe`: remove near-duplicates from any JSON-lines corpus."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from storyloom.cli.params import FiniteFloatRange, option_with_default, output_file_option
from storyloom.dedupe.index import DEFAULT_NUM_PERM, DEFAULT_SHINGLE_SIZE, DEFAULT_THRESHOLD
from storyloom.dedupe.semantic import (
    DEFAULT_COSINE,
    RECOMMENDED_MODEL,
    SemanticIndex,
    SemanticPassError,
)
from storyloom.dedupe.stream import (
    DEFAULT_MEMORY_BYTES,
    DedupeInputError,
    DedupeSummary,
    dedupe_jsonl,
    default_workers,
    same_file,
)

#: Longer shingles match only verbatim copies; more permutations buy no accuracy worth
#: their memory and time (each adds a hash to every kept document's signature).
MAX_SHINGLE_SIZE = 32
MAX_NUM_PERM = 1024
#: Below 16 MiB the index would spill every few hundred documents; a terabyte is more memory
#: than any machine this runs on has.
MIN_MEMORY = 16 << 20
MAX_MEMORY = 1 << 40
MAX_WORKERS = 512
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class ByteSize(click.ParamType):
    """A size such as 512M, 2G or 1.5GiB (powers of 1024), range-checked at parse time."""

    name = "size"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().removesuffix("ib").removesuffix("b")
        unit = text[-1:] if text[-1:] in _UNITS else ""
        number = text[: len(text) - len(unit)]
        try:
            amount = float(number)
        except ValueError:
            self.fail(f"{value!r} is not a size (examples: 512M, 2G).", param, ctx)
        size = amount * _UNITS[unit] if amount == amount else 0.0
        if not MIN_MEMORY <= size <= MAX_MEMORY:
            self.fail(f"{value!r} is not between 16M and 1T.", param, ctx)
        return int(size)


EXAMPLES = """
\b
Examples:
  storyloom dedupe outputs/default/corpus.jsonl clean.jsonl
  storyloom dedupe scraped.jsonl clean.jsonl --threshold 0.5 --clusters removed.jsonl
  storyloom dedupe posts.jsonl clean.jsonl --text-field body --id-field url --quiet
  storyloom dedupe new.jsonl clean.jsonl --against lab-corpus.jsonl --against run-1.jsonl
  storyloom dedupe huge.jsonl clean.jsonl --memory 2G --workers 8 --spill-dir /tmp
"""


@click.command(name="dedupe", epilog=EXAMPLES)
@click.argument(
    "input_path",
    metavar="IN.jsonl",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.argument("output_path", metavar="OUT.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@option_with_default(
    "--text-field", default="text", help="JSON field holding each document's text."
)
@option_with_default(
    "--id-field", default="id", help="JSON field reported as the document id in the clusters file."
)
@option_with_default(
    "--threshold",
    type=FiniteFloatRange(0.0, 1.0, min_open=True),
    default=DEFAULT_THRESHOLD,
    help="Estimated Jaccard similarity of word shingles at or above which a "
    "document is a near-duplicate.",
)
@option_with_default(
    "--shingle-size",
    type=click.IntRange(1, MAX_SHINGLE_SIZE),
    default=DEFAULT_SHINGLE_SIZE,
    help="Words per shingle.",
)
@option_with_default(
    "--num-perm",
    type=click.IntRange(8, MAX_NUM_PERM),
    default=DEFAULT_NUM_PERM,
    help="MinHash signature length.",
)
@output_file_option(
    "--clusters",
    "clusters_path",
    "Write each removed document here, with the kept document it duplicated.",
)
@click.option(
    "--against",
    "against",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="An existing corpus (repeatable): input documents near any of its documents are "
    "removed. It is only read, never written.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=None,
    help="Processes computing signatures [default: every core].",
)
@option_with_default(
    "--memory",
    type=ByteSize(),
    default=f"{DEFAULT_MEMORY_BYTES >> 20}M",
    help="Memory for the index; above it, signatures and buckets spill to disk.",
)
@click.option(
    "--spill-dir",
    type=click.Path(exists=True, file_okay=False, writable=True, path_type=Path),
    default=None,
    help="Where the index spills (a temporary folder, removed at the end) [default: beside "
    "OUT.jsonl].",
)
@click.option(
    "--semantic",
    "semantic_model",
    default=None,
    metavar="MODEL",
    help="Also remove near-duplicates of meaning: a model2vec model (a folder, or a name "
    f"such as {RECOMMENDED_MODEL}) embeds what MinHash kept. Needs storyloom[semantic].",
)
@option_with_default(
    "--semantic-threshold",
    type=FiniteFloatRange(0.0, 1.0, min_open=True),
    default=DEFAULT_COSINE,
    help="Cosine similarity of embeddings at or above which --semantic removes a document.",
)
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def dedupe(
    input_path: Path,
    output_path: Path,
    text_field: str,
    id_field: str,
    threshold: float,
    shingle_size: int,
    num_perm: int,
    clusters_path: Path | None,
    against: tuple[Path, ...],
    workers: int | None,
    memory: int,
    spill_dir: Path | None,
    semantic_model: str | None,
    semantic_threshold: float,
    quiet: bool,
) -> None:
    """Copy IN.jsonl to OUT.jsonl without near-duplicates, keeping each first occurrence.

    Streams the input, so corpora larger than memory work (the index spills to disk
    above --memory). OUT.jsonl appears only once the whole input was processed.
    """
    _check_paths(input_path, output_path, clusters_path)
    for existing in against:
        for written, flag in ((output_path, "OUT.jsonl"), (clusters_path, "--clusters")):
            if written is not None and same_file(existing, written):
                raise click.ClickException(
                    f"{flag} {written} is also given with --against, which is never "
                    "overwritten: choose another path"
                )
    try:  # loaded before the progress bar starts: a model that is not there is one line
        semantic = SemanticIndex(semantic_model, semantic_threshold) if semantic_model else None
    except SemanticPassError as error:
        raise click.ClickException(str(error)) from error
    console = Console(stderr=True, quiet=quiet)
    progress = Progress(
        TextColumn("[bold]dedupe"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    size = input_path.stat().st_size if input_path.is_file() else None  # a pipe: unknown
    task = progress.add_task("dedupe", total=size)
    try:
        with progress:
            summary = dedupe_jsonl(
                input_path,
                output_path,
                text_field=text_field,
                id_field=id_field,
                clusters_path=clusters_path,
                threshold=threshold,
                shingle_size=shingle_size,
                num_perm=num_perm,
                on_progress=lambda done: progress.update(task, completed=done),
                require_id=_given(click.get_current_context(), "id_field"),
                against=against,
                workers=workers or default_workers(),
                memory_bytes=memory,
                spill_dir=spill_dir,
                semantic=semantic,
            )
    except DedupeInputError as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:
        message = f"{error.filename or output_path}: {error.strerror}"
        raise click.ClickException(message) from error
    _print_summary(Console(quiet=quiet), summary, output_path, clusters_path)


def _given(context: click.Context, name: str) -> bool:
    """The user typed this option (a default `id` that no record has is no typo)."""
    return context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT


def _check_paths(input_path: Path, output_path: Path, clusters_path: Path | None) -> None:
    if same_file(input_path, output_path):
        raise click.ClickException(
            f"OUT.jsonl is the input file ({input_path}): choose another output path"
        )
    if not output_path.parent.is_dir():
        raise click.ClickException(f"OUT.jsonl: directory {output_path.parent} does not exist")
    if clusters_path is None:
        return
    if same_file(clusters_path, input_path) or same_file(clusters_path, output_path):
        raise click.ClickException(
            f"--clusters {clusters_path} is the same file as IN.jsonl "
            "or OUT.jsonl: choose another path"
        )
    if not clusters_path.parent.is_dir():
        raise click.ClickException(f"--clusters: directory {clusters_path.parent} does not exist")


def _print_summary(
    console: Console, summary: DedupeSummary, output_path: Path, clusters_path: Path | None
) -> None:
    table = Table(title="storyloom dedupe", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    share = summary.removed / summary.documents if summary.documents else 0.0
    rate = summary.documents / summary.seconds if summary.seconds else 0.0
    table.add_row("documents read", f"{summary.documents:,}")
    if summary.against_documents:
        table.add_row("documents compared against (--against)", f"{summary.against_documents:,}")
    table.add_row("kept", f"{summary.kept:,}")
    table.add_row("removed as near-duplicates", f"{summary.removed:,} ({share:.1%})")
    if summary.semantic_removed:
        table.add_row("of which by meaning (--semantic)", f"{summary.semantic_removed:,}")
    table.add_row("clusters (kept documents with removed copies)", f"{summary.clusters:,}")
    table.add_row(
        "time",
        f"{summary.seconds:.1f} s ({rate:,.0f} docs/s, "
        f"{summary.input_bytes / 1e6 / max(summary.seconds, 1e-9):.1f} MB/s)",
    )
    table.add_row("output", str(output_path))
    if clusters_path is not None:
        table.add_row("removed documents", str(clusters_path))
    console.print(table)
