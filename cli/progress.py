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

from storyloom.core import layout
from storyloom.core.jsonl import JsonlError, JsonlReader, TornTail
from storyloom.graph.rundir import RunDir
from storyloom.graph.runner import Event, RunReport
from storyloom.report.cost import CostCollector
from storyloom.report.formatting import number, usd
from storyloom.report.model import Cost, TokenSpend
from storyloom.stories.kind import ITEMS, ItemNoun


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
    """A progress bar of finished items, named in the kind's words, with emitted/rejected
    counts and an ETA."""

    def __init__(
        self,
        console: Console,
        total: int,
        batch_stats: Callable[[], dict[str, int]] | None = None,
        held_for: Callable[[], float] | None = None,
        noun: ItemNoun = ITEMS,
    ) -> None:
        extra: list[ProgressColumn] = [_BatchColumn(batch_stats)] if batch_stats else []
        if held_for is not None:
            extra.append(_HoldColumn(held_for))
        self._progress = Progress(
            TextColumn(f"[bold]{escape(noun.plural)}"),
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


def run_outputs(run: RunDir) -> list[Path]:
    """The run's output files that exist: the corpus, the rejected file once something
    was rejected, and the kind's own files (`pairs.jsonl`)."""
    sides = sorted(p for p in run.path.glob("*.jsonl") if layout.is_side_output(p.name))
    return [path for path in (run.corpus_path, run.rejected_path, *sides) if path.is_file()]


def print_summary(
    console: Console,
    run: RunDir,
    report: RunReport,
    torn: list[TornTail] | None = None,
    noun: ItemNoun = ITEMS,
) -> None:
    """The end-of-run table in the kind's words; `torn` names outputs whose torn last
    line was cut when the run opened (its bytes kept beside them), and what became of the
    item it held. Every value a user or a model wrote (the run's name, a reason) is plain text,
    never rich markup."""
    table = Table(title=Text(f"run {run.name}"), show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows: list[tuple[str, str, str]] = [
        (f"{noun.plural} planned", str(report.planned), ""),
        ("finished before this start", str(report.already_done), ""),
        ("resumed from a checkpoint", str(report.resumed), ""),
        ("emitted now", str(report.emitted), "green"),
        ("rejected now", str(report.rejected), "red"),
    ]
    rows += [(f"  rejected: {r}", str(n), "") for r, n in sorted(report.reasons.items())]
    if report.interrupted:
        rows.append(("interrupted (resume to retry)", str(report.interrupted), "yellow"))
        rows += [
            (f"  interrupted: {_INTERRUPTION_LABELS.get(kind, kind)}", str(count), "")
            for kind, count in sorted(report.interruptions.items())
        ]
    if report.paused:
        rows.append(("paused by the stop (resume to continue)", str(report.paused), "yellow"))
    if report.not_started:
        rows.append(("not started", str(report.not_started), ""))
    outputs = run_outputs(run)
    rows.append(("outputs", "\n".join(map(str, outputs)) or "none yet", ""))
    for label, value, style in rows:
        table.add_row(Text(label), Text(value, style=style))
    console.print(table)
    spend = spend_table(run, noun)
    if spend is not None:
        console.print(spend)
    for tail in sorted(torn or (), key=lambda t: t.path):
        console.print(
            Text.assemble(("set aside", "yellow"), " ", torn_note(tail, report.set_aside))
        )
    for error in report.errors[:5]:
        console.print(Text.assemble(("error", "yellow"), " ", str(error)))


#: Workflow order for the per-node rows; nodes not listed follow alphabetically.
_NODE_ORDER = ("plan", "write", "judge", "revise")


def spend_table(run: RunDir, noun: ItemNoun = ITEMS) -> Table | None:
    """Spend of the whole run (every start, from usage.jsonl): per node, total, mean per
    item with spend, and per accepted item (in the kind's words). Tokens show even at $0
    (local models). None when no call was recorded."""
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
        caption=f"tokens: in / out / cache write / cache read; {_per_item_note(documents, noun)}",
        caption_justify="left",
        pad_edge=False,
    )
    table.add_column("node", no_wrap=True)
    for header in ("calls", "in", "out", "cache write", "cache read", "USD"):
        table.add_column(header, justify="right", no_wrap=True)
    for name in sorted(cost.per_node, key=_node_rank):
        table.add_row(Text(name), *_spend_cells(cost.per_node[name]))
    table.add_row(Text("total", style="bold"), *_spend_cells(cost.total), end_section=True)
    table.add_row(f"mean per {noun.singular} ({cost.items})", *_mean_cells(cost, cost.items))
    if documents:
        table.add_row(f"per accepted {noun.singular} ({documents})", *_mean_cells(cost, documents))
    return table


def _per_item_note(accepted: int, noun: ItemNoun) -> str:
    if not accepted:
        return f"no accepted {noun.plural} yet, so no cost per accepted {noun.singular}"
    return (
        f"per accepted {noun.singular}: the whole spend over {accepted:,} accepted "
        f"{noun.singular if accepted == 1 else noun.plural}"
    )


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
