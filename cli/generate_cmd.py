"""`storyloom generate`: start or continue a run."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import click
from rich.console import Console

from storyloom.backends.base import Backend, BackendError
from storyloom.backends.registry import (
    BACKEND_NAMES,
    BackendOptions,
    create_backend,
    default_backend_name,
)
from storyloom.cli.progress import RunProgress, print_summary
from storyloom.graph.checkpointer import CheckpointStoreError
from storyloom.graph.rundir import RunConfig, RunDir, RunDirError
from storyloom.graph.runner import RunOptions, RunReport, make_context, run_stories
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.inputs import InputError, StoryInputs, load_inputs, sample_path

EXIT_SIGINT = 130
EXIT_SIGTERM = 143

EXAMPLES = """
\b
Examples:
  storyloom generate -n 3                       # offline, bundled SmolLM2-135M
  storyloom generate -n 500 --backend anthropic --concurrency 32 --max-cost 20
  storyloom generate -n 50 --constitution my.md --persona me.toml --run-dir outputs/mine
  storyloom generate -n 100 --run-dir outputs/mine   # run again: continues, never repeats
"""


@click.command(epilog=EXAMPLES)
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Stories in the run (raise it later to extend the run).",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    default=Path("outputs/default"),
    show_default=True,
    help="Run directory; running again continues it.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKEND_NAMES),
    default=None,
    help="LLM backend [default: anthropic if ANTHROPIC_API_KEY is set, else llamacpp].",
)
@click.option("--model", default=None, help="Model name for the anthropic backend.")
@click.option(
    "--model-path",
    type=click.Path(path_type=Path),
    default=None,
    help="A GGUF file for the llamacpp backend [default: bundled SmolLM2-135M].",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=512),
    default=4,
    show_default=True,
    help="Stories in flight at once.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Run seed: premise draws are deterministic from it.",
)
@click.option(
    "--constitution",
    type=click.Path(path_type=Path),
    default=None,
    help="Constitution Markdown (## sections) [default: bundled sample].",
)
@click.option(
    "--persona",
    type=click.Path(path_type=Path),
    default=None,
    help="Persona TOML [default: bundled sample].",
)
@click.option(
    "--axes",
    type=click.Path(path_type=Path),
    default=None,
    help="Premise axes TOML [default: bundled sample].",
)
@click.option(
    "--max-revisions",
    type=click.IntRange(min=0, max=10),
    default=2,
    show_default=True,
    help="Rewrite rounds before a failing story is rejected.",
)
@click.option(
    "--rewrite",
    type=click.Choice(["on-fail", "always"]),
    default="on-fail",
    show_default=True,
    help="Rewrite only failing stories, or every story once.",
)
@click.option(
    "--name-variants", is_flag=True, help="Cycle the persona's name_variants across stories."
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    default=None,
    help="USD cap: no new story starts once spend would pass it.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Per-request timeout in seconds (anthropic).",
)
@click.option(
    "--allow-config-change",
    is_flag=True,
    help="Continue a run even though its settings or inputs changed.",
)
def generate(
    count: int,
    run_dir: Path,
    backend: str | None,
    model: str | None,
    model_path: Path | None,
    concurrency: int,
    seed: int,
    constitution: Path | None,
    persona: Path | None,
    axes: Path | None,
    max_revisions: int,
    rewrite: str,
    name_variants: bool,
    max_cost: float | None,
    timeout: float,
    allow_config_change: bool,
) -> None:
    """Generate stories into a run directory, resuming whatever it already holds."""
    console = Console(stderr=True)
    try:
        inputs = load_inputs(constitution, persona, axes)
    except InputError as error:
        raise click.ClickException(str(error)) from error
    run = RunDir(run_dir)
    backend_name = backend or default_backend_name()
    settings = GenerationSettings(
        seed=seed,
        max_revisions=max_revisions,
        rewrite=rewrite,  # type: ignore[arg-type]
        name_variants=name_variants,
    )
    try:
        run.prepare()
        llm = create_backend(BackendOptions(backend_name, model, model_path, timeout))
        config = RunConfig.create(
            run.name,
            backend_name,
            llm.model,
            settings,
            inputs,
            {
                "constitution": str(constitution or sample_path("constitution")),
                "persona": str(persona or sample_path("persona")),
                "axes": str(axes or sample_path("axes")),
            },
        )
        config = run.freeze_config(config, allow_change=allow_config_change)
    except (RunDirError, BackendError) as error:
        raise click.ClickException(str(error)) from error

    options = RunOptions(count=count, concurrency=concurrency, max_cost=max_cost)
    console.print(
        f"[bold]storyloom[/] run [cyan]{run.path}[/] · backend {backend_name} "
        f"({llm.model}) · {count} stories · concurrency {concurrency}"
    )
    try:
        report, signal_number = asyncio.run(_run(run, config, inputs, llm, options, console))
    except CheckpointStoreError as error:
        raise click.ClickException(str(error)) from error
    print_summary(console, run, report)
    if signal_number is not None:
        console.print(f"Stopped. Run the same command again to resume {run.path}.")
        raise SystemExit(EXIT_SIGINT if signal_number == signal.SIGINT else EXIT_SIGTERM)
    if report.fatal_error:
        raise click.ClickException(report.fatal_error)
    if report.stop_reason == "budget":
        console.print(
            f"Budget of ${max_cost:.2f} reached; rerun with a higher --max-cost to continue."
        )
        return
    if report.interrupted:
        raise click.ClickException(
            f"{report.interrupted} stories were interrupted by errors; "
            "run the same command again to resume them"
        )


async def _run(
    run: RunDir,
    config: RunConfig,
    inputs: StoryInputs,
    llm: Backend,
    options: RunOptions,
    console: Console,
) -> tuple[RunReport, int | None]:
    """Run with signal handling: the first SIGINT/SIGTERM stops new stories and lets
    in-flight ones finish; a second exits at once (checkpoints are already durable)."""
    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(number: int) -> None:
        received.append(number)
        if len(received) == 1:
            console.print(
                "[yellow]Stopping: no new stories start; in-flight stories "
                "finish and checkpoint (signal again to stop at once).[/]"
            )
            stop.set()
        else:
            console.print(f"Stopped at once. Run the same command again to resume {run.path}.")
            os._exit(EXIT_SIGINT if number == signal.SIGINT else EXIT_SIGTERM)

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal, number)
    context = make_context(run, config, inputs, llm)
    try:
        with RunProgress(console, options.count) as progress:
            report = await run_stories(
                run, context, options, on_progress=progress.update, stop=stop
            )
    finally:
        await llm.aclose()
    return report, (received[0] if received else None)
