"""`storyloom generate`: start or continue a run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from storyloom.backends.base import Backend, BackendError
from storyloom.backends.faults import FaultyBackend
from storyloom.backends.pricing import caching_off_reason
from storyloom.backends.registry import BackendSpec
from storyloom.backends.throttle import BATCH_MAX_CALLS, SYNC_MAX_CALLS
from storyloom.cli.backend_flags import backend_flags
from storyloom.cli.kind_options import input_options, kind_option, pairs
from storyloom.cli.logs import configure_debug_logging
from storyloom.cli.next_steps import print_next_steps
from storyloom.cli.params import (
    REDIS_URL,
    SEED,
    WEEK,
    FiniteFloatRange,
    OptionError,
    option_with_default,
)
from storyloom.cli.progress import RunProgress, print_summary
from storyloom.core.jsonl import TornTail
from storyloom.graph.checkpointer import CheckpointStoreError
from storyloom.graph.context import RunContext
from storyloom.graph.rundir import ConfigChangedError, RunDir, RunDirError
from storyloom.graph.runlock import RunLockedError
from storyloom.graph.runner import RunOptions, RunReport
from storyloom.graph.service import OpenRun, RunRequest, RunSetupError, execute, open_run
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.shared import Shard, SharedRunError
from storyloom.graph.sinks import SinkError
from storyloom.stories.inputs import InputError
from storyloom.stories.registry import UnknownKindError

#: Fault injection for rehearsals and tests: `transient=0.1,hang=0.02,seed=7` (FaultPlan).
FAULTS_ENV = "STORYLOOM_FAULTS"

#: One source of truth for defaults the CLI shows and the settings apply.
_DEFAULTS = GenerationSettings()

EXIT_SIGINT = 130
EXIT_SIGTERM = 143

#: Errors whose message is already one clear line for the user.
USER_ERRORS = (
    InputError,
    RunSetupError,
    SharedRunError,
    UnknownKindError,
    RunDirError,
    RunLockedError,
    BackendError,
    CheckpointStoreError,
    SinkError,
)

EXAMPLES = """
\b
Examples:
  storyloom generate -n 3                       # offline, bundled SmolLM2-135M
  storyloom generate -n 500 --backend anthropic --concurrency 32 --max-cost 20
  storyloom generate -n 50 --constitution my.md --persona me.toml --run-dir outputs/mine
  storyloom generate -n 100 --run-dir outputs/mine   # run again: continues, never repeats
  storyloom generate -n 200 --backend anthropic --judge-model claude-opus-4-5
  storyloom generate -n 5 --backend llamacpp --backend-option threads=2
"""

THRESHOLD = FiniteFloatRange(min=0, max=1, min_open=True)


@click.command(epilog=EXAMPLES)
@kind_option
@option_with_default(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=3,
    help="Items in the run (raise it later to extend the run).",
)
@option_with_default(
    "--run-dir",
    type=click.Path(),
    callback=lambda ctx, param, value: _non_empty_path(value),
    default="outputs/default",
    help="Run directory; running again continues it.",
)
@backend_flags()
@option_with_default(
    "--concurrency",
    type=click.IntRange(min=1, max=BATCH_MAX_CALLS),
    default=4,
    help=f"Items in flight at once: up to {SYNC_MAX_CALLS} (each holds a connection and a "
    f"share of the rate limit), up to {BATCH_MAX_CALLS:,} with --batch (a waiting item "
    "holds only memory; more in flight, fewer batch rounds).",
)
@option_with_default(
    "--seed", type=SEED, default=0, help="Run seed: the items' draws are deterministic from it."
)
@input_options
@option_with_default(
    "--max-revisions",
    type=click.IntRange(min=0, max=10),
    default=_DEFAULTS.max_revisions,
    help="Rewrite rounds before a failing item is rejected.",
)
@click.option(
    "--rewrite",
    type=click.Choice(["on-fail", "always"]),
    default=None,
    help="Rewrite only failing items, or every item once [default: the kind's].",
)
@click.option(
    "--name-variants",
    is_flag=True,
    help="Cycle the persona's name_variants across items (story kind).",
)
@click.option(
    "--max-cost",
    type=FiniteFloatRange(min=0),
    default=None,
    help="USD cap: no new item starts once spend would pass it.",
)
@click.option(
    "--call-timeout",
    type=FiniteFloatRange(min=0, max=WEEK),
    default=None,
    help="Seconds one LLM call may take before it is retried as lost; 0 for no limit "
    "[default: 600 for anthropic without --batch, else none].",
)
@option_with_default(
    "--dedupe-threshold",
    type=THRESHOLD,
    default=_DEFAULTS.dedupe_threshold,
    help="Jaccard similarity at which an item counts as a near-duplicate.",
)
@option_with_default(
    "--plan-threshold",
    type=THRESHOLD,
    default=_DEFAULTS.plan_dedupe_threshold,
    help="Jaccard similarity at which an item's plan is made again.",
)
@click.option("--premise-threshold", type=THRESHOLD, default=None, hidden=True)
@click.option(
    "--allow-config-change",
    is_flag=True,
    help="Continue a run even though its settings or inputs changed.",
)
@click.option(
    "--judge-model",
    default=None,
    help="Another model for every judge call (a judge from the writer's model grades itself).",
)
@click.option(
    "--task-model",
    "task_models",
    multiple=True,
    metavar="TASK=MODEL",
    help="Another model for one task (plan, write, review, judge, revise); repeatable.",
)
@option_with_default(
    "--judge-samples",
    type=click.IntRange(min=1, max=9),
    default=1,
    help="Judgments per draft, combined (mean score per criterion).",
)
@click.option(
    "--temperature",
    type=FiniteFloatRange(min=0, max=2),
    default=None,
    help="Sampling temperature for every call [default: the model's own].",
)
@click.option(
    "--prompt-profile",
    type=click.Choice(["rich", "compact"]),
    default=None,
    help="Prompts for capable models, or compact ones for a tiny local model "
    "[default: compact for the bundled model and small GGUFs, else rich].",
)
@click.option(
    "--option",
    "kind_option_values",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the kind (see `storyloom kinds`); repeatable.",
)
@click.option(
    "--shard",
    default=None,
    metavar="K/N",
    help="Be worker K of N: take the items whose index % N == K (with --redis to share "
    "dedupe and budget).",
)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    type=REDIS_URL,
    metavar="URL",
    help="Redis shared by the workers of one run: near-duplicate indexes, spend, settings.",
)
@click.option(
    "--run-name",
    default=None,
    help="The run's name in item ids [default: the run directory's name]; give every "
    "worker of a sharded run the same one.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging on errors.")
def generate(
    kind: str | None,
    count: int,
    run_dir: Path,
    backend: BackendSpec,
    concurrency: int,
    seed: int,
    inputs: dict[str, Path | None],
    max_revisions: int,
    rewrite: str | None,
    name_variants: bool,
    max_cost: float | None,
    call_timeout: float | None,
    dedupe_threshold: float,
    plan_threshold: float,
    premise_threshold: float | None,
    allow_config_change: bool,
    judge_model: str | None,
    task_models: tuple[str, ...],
    judge_samples: int,
    temperature: float | None,
    prompt_profile: str | None,
    kind_option_values: tuple[str, ...],
    shard: str | None,
    redis_url: str | None,
    run_name: str | None,
    debug: bool,
) -> None:
    """Generate items of a corpus kind into a run directory, resuming what it holds.

    Errors are one line and a non-zero exit; `--debug` adds the traceback.
    """
    console = Console(stderr=True)
    if debug:
        configure_debug_logging()
    try:
        worker = Shard.parse(shard) if shard is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--shard'") from None
    if concurrency > SYNC_MAX_CALLS and not getattr(backend.options, "batch", False):
        raise click.BadParameter(
            f"{concurrency} is above {SYNC_MAX_CALLS} without --batch: synchronous calls each "
            "hold a connection and a share of the rate limit, so more would only queue; "
            "use --batch for more items in flight",
            param_hint="'--concurrency'",
        )
    models = pairs(task_models, "--task-model")
    for task, model in models.items():
        if not isinstance(model, str):
            raise OptionError(
                f"--task-model {task}={json.dumps(model)}: the model must be a model name"
            )
    if judge_model:
        models["judge"] = judge_model
    request = RunRequest(
        run_dir=run_dir,
        kind=kind,
        input_paths=inputs,
        backend=backend,
        settings={  # what is not given here is settled by the run (`run_settings`)
            "seed": seed,
            "max_revisions": max_revisions,
            "rewrite": rewrite,
            "name_variants": name_variants,
            "dedupe_threshold": dedupe_threshold,
            "plan_dedupe_threshold": plan_threshold
            if premise_threshold is None  # its former name, still taken
            else premise_threshold,
            "temperature": temperature,
            "judge_temperature": temperature,
            "prompt_profile": prompt_profile,
            "judge_samples": judge_samples,
            "task_models": models,
            "kind_options": pairs(kind_option_values, "--option"),
        },
        options=RunOptions(count=count, concurrency=concurrency, max_cost=max_cost, shard=worker),
        run_name=run_name,
        redis_url=redis_url,
        allow_config_change=allow_config_change,
        call_timeout=call_timeout,
        faults=os.environ.get(FAULTS_ENV, ""),
    )
    with _user_errors(debug), open_run(request) as opened:
        _generate_opened(console, opened, request.options)


def _non_empty_path(value: str) -> Path:
    """An empty --run-dir would put a run's files in the current directory."""
    if not value.strip():
        raise click.BadParameter("must not be empty", param_hint="'--run-dir'")
    return Path(value)


@contextmanager
def _user_errors(debug: bool) -> Iterator[None]:
    """Known failures become one line; anything else too, with the traceback on --debug."""
    try:
        yield
    except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
        raise
    except ConfigChangedError as error:
        if debug:
            raise
        raise click.ClickException(
            f"{error}; use a new --run-dir, or --allow-config-change to continue anyway"
        ) from error
    except USER_ERRORS as error:
        if debug:
            raise
        raise click.ClickException(str(error)) from error
    except OSError as error:
        if debug:
            raise
        raise click.ClickException(
            f"{error.filename or 'run'}: {error.strerror or error}"
        ) from error
    except Exception as error:
        if debug:
            raise
        raise click.ClickException(
            f"unexpected {type(error).__name__}: {error} (run again with --debug for details; "
            "nothing already written is lost)"
        ) from error


def _generate_opened(console: Console, opened: OpenRun, options: RunOptions) -> None:
    """Everything that runs under the run's lock, once the run is open."""
    run, llm, context = opened.run, opened.backend, opened.context
    if opened.stale_owner is not None:
        console.print(
            f"The previous run here ({opened.stale_owner.describe()}) did not "
            "exit cleanly; resuming from its checkpoints.",
            style="yellow",
            markup=False,
        )
    if opened.changes_taken:
        console.print(
            f"Run settings changed ({'; '.join(opened.changes_taken)}); taken, since "
            "no item had finished yet (or --allow-config-change).",
            style="yellow",
            markup=False,
        )
    if llm.supports_prompt_caching and (
        reason := caching_off_reason(llm.model, context.shared_prefix)
    ):
        console.print(reason, style="yellow", markup=False)
    noun = opened.kind.report_profile.noun
    console.print(
        Text.assemble(
            ("storyloom", "bold"),
            " run ",
            (str(run.path), "cyan"),
            f" · kind {opened.kind.name} · backend {opened.config.backend} ({llm.model}) · "
            f"{noun.count(options.count)} · concurrency {options.concurrency}",
        )
    )
    with _exit_at_once_on_signal(console, run) as rearm:
        try:
            report, signal_number = asyncio.run(_run(opened, options, console))
        except KeyboardInterrupt:  # a second Ctrl-C while the loop was closing
            console.print(
                f"Stopped at once. Run the same command again to resume {escape(str(run.path))}."
            )
            raise SystemExit(EXIT_SIGINT) from None
        rearm()
        print_summary(console, run, report, torn=_torn(context), noun=noun)
        if isinstance(llm, FaultyBackend):
            injected = ", ".join(f"{kind} {n}" for kind, n in sorted(llm.injected.items()))
            console.print(f"injected faults ({FAULTS_ENV}): {injected or 'none'}")
        if signal_number is not None:
            console.print(f"Stopped. Run the same command again to resume {escape(str(run.path))}.")
            raise SystemExit(_exit_code(signal_number))
    if report.fatal_error:
        raise click.ClickException(
            f"{report.fatal_error} (run stopped; fix this and run the same command to resume)"
        )
    if report.stop_reason == "budget":
        console.print(
            f"Budget of ${options.max_cost or 0:.2f} reached; "
            "rerun with a higher --max-cost to continue."
        )
        return
    if report.interrupted:
        raise click.ClickException(
            f"{report.interrupted} items were interrupted by errors; "
            "run the same command again to resume them"
        )
    print_next_steps(console, run, on_bundled_model=_on_bundled_model(llm))


def _on_bundled_model(llm: Backend) -> bool:
    """The run generated with the SmolLM2 file shipped in the package (a user's own GGUF,
    however small, is their choice and gets no advice to switch)."""
    from storyloom.backends.llamacpp import LlamaCppBackend, bundled_model_path

    return isinstance(llm, LlamaCppBackend) and llm.model_path == bundled_model_path()


def _torn(context: RunContext) -> list[TornTail]:
    """Outputs whose torn last line was cut (and kept aside) when the run opened."""
    torn = context.sinks.torn()
    return [*torn, context.ledger.torn] if context.ledger.torn else torn


def _exit_code(number: int) -> int:
    return EXIT_SIGINT if number == signal.SIGINT else EXIT_SIGTERM


@contextmanager
def _exit_at_once_on_signal(console: Console, run: RunDir) -> Iterator[Callable[[], None]]:
    """Outside the event loop's own handlers (while it starts and closes, and while the
    summary prints), a signal exits at once: every write is already durable, and a
    KeyboardInterrupt traceback would only bury the summary. Yields `rearm`, to call
    after the loop closed (closing puts the default handlers back)."""

    def exit_now(number: int, frame: object) -> None:
        console.print(
            f"Stopped at once. Run the same command again to resume {escape(str(run.path))}."
        )
        os._exit(_exit_code(number))

    def rearm() -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, exit_now)

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    rearm()
    try:
        yield rearm
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


async def _run(
    opened: OpenRun, options: RunOptions, console: Console
) -> tuple[RunReport, int | None]:
    """Run with signal handling: the first SIGINT/SIGTERM stops new items and new calls
    (calls in flight finish and checkpoint); a second exits at once (checkpoints are
    already durable, so nothing finished is lost either way)."""
    run, context = opened.run, opened.context
    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(number: int) -> None:
        received.append(number)
        if len(received) == 1:
            console.print(
                "[yellow]Stopping: no new items or calls start; calls in flight finish "
                "and checkpoint (signal again to stop at once).[/]"
            )
            stop.set()
            getattr(context.backend, "stop_waiting", lambda: None)()  # --batch
        else:
            console.print(
                f"Stopped at once. Run the same command again to resume {escape(str(run.path))}."
            )
            os._exit(_exit_code(number))

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal, number)
    batch_stats = getattr(context.backend, "stats", None)  # --batch only
    batch_stats = batch_stats if getattr(context.backend, "batch", False) else None
    held_for = context.backend.held_for  # a server-imposed wait, shown as it runs
    noun = opened.kind.report_profile.noun
    with RunProgress(console, options.count, batch_stats, held_for, noun) as progress:
        report = await execute(opened, options, on_progress=progress.update, stop=stop)
    return report, (received[0] if received else None)
