"""Live progress and the end-of-run summary, with rich."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from storyloom.core.jsonl import JsonlError, JsonlReader, TornTail
from storyloom.graph.rundir import RunDir
from storyloom.graph.runner import Event, RunReport
from storyloom.report.cost import CostCollector
from storyloom.report.formatting import number, usd
from storyloom.report.model import Cost, TokenSpend


class _BatchColumn(ProgressColumn):
    """`--batch`: batches submitted, in progress and ended, and requests waiting."""

    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        super().__init__()
        self._stats = stats

    def render(self, task: Task) -> Text:
        s = self._stats()
        return Text(
            f"batches {s['submitted']} submitted, {s['in_progress']} in progress, "
            f"{s['ended']} ended; {s['waiting']} requests waiting"
        )


class _HoldColumn(ProgressColumn):
    """A wait the server imposed (retry-after, capped at 5 minutes): shown, not silent."""

    def __init__(self, held_for: Callable[[], float]) -> None:
        super().__init__()
        self._held_for = held_for

    def render(self, task: Task) -> Text:
        seconds = self._held_for()
        return Text(f"waiting {seconds:.0f}s (server asked)", style="yellow") if seconds else Text()


class RunProgress:
    """A progress bar of finished items with emitted/rejected counts and an ETA."""

    def __init__(
        self,
        console: Console,
        total: int,
        batch_stats: Callable[[], dict[str, int]] | None = None,
        held_for: Callable[[], float] | None = None,
    ) -> None:
        extra: list[ProgressColumn] = [_BatchColumn(batch_stats)] if batch_stats else []
        if held_for is not None:
            extra.append(_HoldColumn(held_for))
        self._progress = Progress(
            TextColumn("[bold]items"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "[green]{task.fields[emitted]} emitted[/] [red]{task.fields[rejected]} rejected[/]"
            ),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            *extra,
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("run", total=total, emitted=0, rejected=0)
        self._counts = {"emitted": 0, "rejected": 0}

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, event: Event, story_id: str) -> None:
        if event in self._counts:
            self._counts[event] += 1
        if event == "skipped":
            self._progress.update(self._task, advance=1)
            return
        if event in ("interrupted", "paused"):
            return
        self._progress.update(self._task, advance=1, **self._counts)


_INTERRUPTION_LABELS = {
    "transient": "backend kept failing after retries",
    "fatal": "run stopped by a fatal error",
    "error": "unexpected error",
}


def torn_note(tail: TornTail, made_whole: dict[str, str]) -> str:
    """What was set aside, where it is kept, and what became of the item it held."""
    what = (
        f"{tail.size} bytes"
        if tail.item_id is None
        else f"item {tail.item_id!r}, {tail.size} bytes"
    )
    note = (
        f"{tail.path}: its last line ({what}) was cut short, by a crash mid-write or by "
        f"hand, and is kept in {tail.kept_in}"
    )
    if tail.item_id is None:
        return note
    how = made_whole.get(tail.item_id, "it is made again when a start reaches it")
    return f"{note}; {how}"


def print_summary(
    console: Console, run: RunDir, report: RunReport, torn: list[TornTail] | None = None
) -> None:
    """The end-of-run table; `torn` names outputs whose torn last line was cut when the
    run opened (its bytes kept beside them), and what became of the item it held."""
    table = Table(title=f"run {run.name}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("items planned", str(report.planned))
    table.add_row("finished before this start", str(report.already_done))
    table.add_row("resumed from a checkpoint", str(report.resumed))
    table.add_row("emitted now", f"[green]{report.emitted}[/]")
    table.add_row("rejected now", f"[red]{report.rejected}[/]")
    for reason, count in sorted(report.reasons.items()):
        table.add_row(f"  rejected: {reason}", str(count))
    if report.interrupted:
        table.add_row("interrupted (resume to retry)", f"[yellow]{report.interrupted}[/]")
        for kind, count in sorted(report.interruptions.items()):
            table.add_row(f"  interrupted: {_INTERRUPTION_LABELS.get(kind, kind)}", str(count))
    if report.paused:
        table.add_row("paused by the stop (resume to continue)", f"[yellow]{report.paused}[/]")
    if report.not_started:
        table.add_row("not started", str(report.not_started))
    table.add_row("outputs", f"{run.corpus_path}\n{run.rejected_path}")
    console.print(table)
    spend = spend_table(run)
    if spend is not None:
        console.print(spend)
    for tail in sorted(torn or (), key=lambda t: t.path):
        console.print(f"[yellow]set aside[/] {escape(torn_note(tail, report.set_aside))}")
    for error in report.errors[:5]:
        console.print(f"[yellow]error[/] {error}")


#: Workflow order for the per-node rows; nodes not listed follow alphabetically.
_NODE_ORDER = ("plan", "write", "judge", "revise")


def spend_table(run: RunDir) -> Table | None:
    """Spend of the whole run (every start, from usage.jsonl): per node, total, mean per
    item with spend, and per accepted document. Tokens show even at $0 (local models).
    None when no call was recorded."""
    collector = CostCollector()
    for entry in _json_objects(run.usage_path):
        collector.add(entry)
    documents = sum(1 for _ in _json_objects(run.corpus_path))
    cost = collector.result(set(), set(), documents)
    if cost.total.calls == 0:
        return None
    table = Table(
        title="spend (whole run, from usage.jsonl)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption=f"tokens: in / out / cache write / cache read; {_per_doc_note(documents)}",
        caption_justify="left",
        pad_edge=False,
    )
    table.add_column("node", no_wrap=True)
    for header in ("calls", "in", "out", "cache w", "cache r", "USD"):
        table.add_column(header, justify="right", no_wrap=True)
    for name in sorted(cost.per_node, key=_node_rank):
        table.add_row(escape(name), *_spend_cells(cost.per_node[name]))
    table.add_row("[bold]total[/]", *_spend_cells(cost.total), end_section=True)
    table.add_row(f"item mean ({cost.items})", *_mean_cells(cost, cost.items))
    if documents:
        table.add_row(f"per doc ({documents})", *_mean_cells(cost, documents))
    return table


def _per_doc_note(documents: int) -> str:
    if not documents:
        return "no accepted documents yet, so no cost per document"
    return f"per doc: the whole spend over {documents} accepted documents"


def _node_rank(name: str) -> tuple[int, str]:
    return (_NODE_ORDER.index(name) if name in _NODE_ORDER else len(_NODE_ORDER), name)


def _spend_cells(spend: TokenSpend) -> list[str]:
    return [
        number(spend.calls),
        number(spend.input_tokens),
        number(spend.output_tokens),
        number(spend.cache_write_tokens),
        number(spend.cache_read_tokens),
        usd(spend.usd),
    ]


def _mean_cells(cost: Cost, over: int) -> list[str]:
    """The total divided by `over` (items or documents), column by column."""
    total = cost.total
    tokens = (
        total.input_tokens,
        total.output_tokens,
        total.cache_write_tokens,
        total.cache_read_tokens,
    )
    return [
        number(round(total.calls / over, 1)),
        *(number(round(value / over)) for value in tokens),
        usd(total.usd / over),
    ]


def _json_objects(path: Path) -> Iterator[dict[str, object]]:
    """The JSON objects of a JSON-lines file; a torn or damaged line is skipped, because a
    summary must never fail a run that already finished (the run itself refuses them)."""

    def skip(error: JsonlError) -> None:
        pass

    try:
        yield from JsonlReader(path, on_damaged=skip)
    except JsonlError:  # unreadable file
        return
