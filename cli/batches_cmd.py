"""`storyloom batches RUN_DIR [--cancel]`: a `--batch` run's batches, from its journal."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from storyloom.backends.batch_journal import BatchJournal, Submission, batch_journal_path

EXAMPLES = """
\b
Examples:
  storyloom batches outputs/default            # each batch: id, state, request counts
  storyloom batches outputs/default --cancel   # cancel those still in progress
"""


@click.command(epilog=EXAMPLES)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--cancel", is_flag=True, help="Cancel the run's batches still in progress.")
def batches(run_dir: Path, cancel: bool) -> None:
    """List a batch run's Message Batches and their counts (asks the API when
    ANTHROPIC_API_KEY is set); `--cancel` cancels those in progress. Canceled rows are
    submitted again by the next `generate --batch` of the run."""
    path = batch_journal_path(run_dir)
    if not path.exists():
        raise click.ClickException(
            f"{path}: no batch journal here (was the run made with --batch?)"
        )
    journal = BatchJournal(path)
    try:
        subs = journal.submissions()
    finally:
        journal.close()
    key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if cancel and not key:
        raise click.ClickException("--cancel needs ANTHROPIC_API_KEY")
    remote = asyncio.run(_remote(subs, key, cancel)) if key else {}
    if not subs:
        click.echo("no batches yet")
    for sub in subs:
        click.echo(_line(sub, remote.get(sub.batch_id or "")))
    unknown = sum(isinstance(batch, _Unknown) for batch in remote.values())
    if unknown:
        raise click.ClickException(
            f"the API does not know {unknown} of the run's batches (404): they were made "
            "with another key or workspace, or have expired (results are kept 29 days)"
        )


class _Unknown:
    """A batch the API answered 404 for."""


async def _remote(subs: list[Submission], key: str, cancel: bool) -> dict[str, Any]:
    """Each journaled batch as the API sees it (`_Unknown` when it answers 404); an API
    that cannot be reached or fails is one plain line, not a traceback."""
    import anthropic

    from storyloom.core.secrets import scrub

    found: dict[str, Any] = {}
    async with anthropic.AsyncAnthropic(api_key=key, max_retries=2) as client:
        try:
            for sub in subs:
                if sub.batch_id is None:
                    continue
                try:
                    batch = await client.messages.batches.retrieve(sub.batch_id)
                    if cancel and batch.processing_status == "in_progress":
                        batch = await client.messages.batches.cancel(sub.batch_id)
                except anthropic.NotFoundError:
                    batch = _Unknown()
                found[sub.batch_id] = batch
        except anthropic.APIConnectionError as exc:  # a timeout is one too
            raise click.ClickException(
                scrub(f"could not reach the Anthropic API at {client.base_url} ({exc.message}); "
                      "the run's batches are unaffected: run this again later")
            ) from None  # fmt: skip
        except anthropic.APIStatusError as exc:
            raise click.ClickException(
                scrub(f"the Anthropic API refused to list the run's batches "
                      f"({exc.status_code}): {exc.api_message or exc.message}")
            ) from None  # fmt: skip
    return found


def _line(sub: Submission, batch: Any) -> str:
    name = sub.batch_id or f"(intent {sub.id}, no batch id yet)"
    if batch is None:
        return f"{name}  {sub.status}  {sub.size} requests"
    if isinstance(batch, _Unknown):
        return f"{name}  unknown to the API (404)  {sub.size} requests, journaled {sub.status}"
    c = batch.request_counts
    return (
        f"{name}  {batch.processing_status}  {sub.size} requests: "
        f"{c.processing} processing, {c.succeeded} succeeded, {c.errored} errored, "
        f"{c.canceled} canceled, {c.expired} expired"
    )
