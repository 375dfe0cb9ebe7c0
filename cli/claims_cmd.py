"""`storyloom claims extract`: draft the claims file of the documents kind with a model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from storyloom.backends.base import BackendError
from storyloom.backends.registry import BackendOptionError, BackendSpec, create_backend
from storyloom.cli.backend_flags import backend_flags
from storyloom.cli.params import output_file_option
from storyloom.core.layout import overwrite_problem
from storyloom.stories.constitution import Constitution, load_constitution
from storyloom.stories.documents.extract import ExtractError, extract_claims, write_claims
from storyloom.stories.documents.inputs import Claim, documents_sample, load_claims
from storyloom.stories.inputs import InputError

EXAMPLES = """
\b
Examples:
  storyloom claims extract --constitution mine.md --out claims.jsonl --backend anthropic
  storyloom claims extract --out claims.jsonl --backend scripted   # placeholder claims
  storyloom claims extract --out claims.jsonl --force              # replace a draft
"""


@click.group(name="claims", epilog=EXAMPLES)
def claims() -> None:
    """The claims file of the documents kind: what its documents teach."""


@claims.command(name="extract", epilog=EXAMPLES)
@click.option(
    "--constitution",
    type=click.Path(path_type=Path),
    default=None,
    help="Constitution Markdown (## sections) [default: the shipped sample].",
)
@output_file_option(
    "--out",
    "out",
    "The claims JSONL to write (review and edit it before generating).",
    required=True,
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@backend_flags("model", "model_path")
def extract(constitution: Path | None, out: Path, force: bool, backend: BackendSpec) -> None:
    """Ask a model for 5-15 claims per constitution section (each with the reason it
    holds and a hard case) and write them as a claims file for you to review."""
    source = constitution or documents_sample("constitution")
    problem = overwrite_problem(out, [source])
    if problem:
        raise click.ClickException(problem)
    if out.exists() and not force:
        raise click.ClickException(f"{out}: already exists; pass --force to replace it")
    if not out.parent.is_dir():
        raise click.ClickException(f"{out}: cannot write (folder {out.parent} does not exist)")
    try:
        loaded = load_constitution(source)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        found = asyncio.run(_extract(backend, loaded))
    except (ExtractError, BackendError, BackendOptionError) as exc:
        raise click.ClickException(f"claims extract: {exc}") from None
    write_claims(out, found)
    load_claims(out, loaded)  # what extract writes must load as `generate` reads it
    sections = len(loaded.sections)
    click.echo(f"wrote {len(found)} claims for {sections} sections to {out}; review them, then")
    click.echo(f"  storyloom generate --kind documents --constitution {source} --claims {out}")


async def _extract(spec: BackendSpec, constitution: Constitution) -> list[Claim]:
    """`--backend scripted` answers with the documents kind's placeholder claims (the
    request's metadata names the kind)."""
    backend = create_backend(spec)
    try:
        return await extract_claims(backend, constitution)
    finally:
        await backend.aclose()
