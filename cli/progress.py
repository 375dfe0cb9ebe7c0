"""Live progress and the end-of-run summary, with rich."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from storyloom.graph.rundir import RunDir
from storyloom.graph.runner import Event, RunReport


class RunProgress:
    """A progress bar of finished stories with emitted/rejected counts and an ETA."""

    def __init__(self, console: Console, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]stories"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "[green]{task.fields[emitted]} emitted[/] [red]{task.fields[rejected]} rejected[/]"
            ),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("run", total=total, emitted=0, rejected=0)
        self._counts = {"emitted": 0, "rejected": 0}

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
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


def print_summary(console: Console, run: RunDir, report: RunReport) -> None:
    table = Table(title=f"run {run.name}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("stories planned", str(report.planned))
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
    for error in report.errors[:5]:
        console.print(f"[yellow]error[/] {error}")
