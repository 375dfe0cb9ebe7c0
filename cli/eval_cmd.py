"""`storyloom eval`: held-out evaluation suites against one or more models, resumable in a
run directory, with counts and 95% Wilson intervals per suite, family and model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from storyloom.backends.base import Backend, BackendError
from storyloom.backends.registry import BackendOptionError, BackendSpec
from storyloom.cli.backend_flags import backend_flags
from storyloom.cli.params import (
    FiniteFloatRange,
    OptionError,
    check_report_paths,
    force_option,
    output_file_option,
)
from storyloom.core.report_files import json_report, write_report
from storyloom.evals.suite import DEFAULT_PERSONA_NAME, Suite, load_suite, shipped_suites
from storyloom.graph.runlock import RunLockedError
from storyloom.stories.inputs import InputError

EXAMPLES = """
\b
Examples:
  storyloom eval runs/eval1 --backend scripted --model base@0.6 --model tuned@0.1
  storyloom eval runs/eval1 --backend anthropic --model claude-sonnet-4-5 --max-cost 5
  storyloom eval runs/v --backend openai --base-url http://gpu:8000/v1 --model base --model tuned
  storyloom eval runs/eval1 --suite honeypots --trials 3 --judge-model claude-opus-4-5
  storyloom eval runs/eval1 --suite my-suite.yaml --json eval.json --html eval.html
  storyloom eval runs/eval1 --trained-on outputs/default      # warn if the corpus is close
  storyloom eval --calibrate-classifier --backend anthropic    # classifier vs labels
"""


class EvalFailed(click.ClickException):
    """Bad input or a backend that cannot work: one line, exit 1."""


@click.command(name="eval", epilog=EXAMPLES)
@click.argument("run_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--suite",
    "suite_refs",
    multiple=True,
    metavar="NAME_OR_FILE",
    help=f"A shipped suite ({', '.join(shipped_suites())}) or a suite file (docs/evals.md); "
    "repeatable [default: every shipped suite].",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="A model under test (a GGUF path for llamacpp; NAME@P for scripted: misbehaves in "
    "a share P of trials); repeatable [default: the backend's default model].",
)
@backend_flags("base_url", "timeout")
@click.option("--judge-model", help="The classifier's model [default: the first --model].")
@click.option("--trials", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Trials per scenario variation.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Trials in flight at once.")  # fmt: skip
@click.option("--max-cost", type=FiniteFloatRange(min=0), default=None,
              help="Stop starting trials once the run's spend (USD) would pass this.")  # fmt: skip
@click.option("--persona-name", default=DEFAULT_PERSONA_NAME, show_default=True,
              help="The model's own name, for the persona dimension's 'own' value.")  # fmt: skip
@click.option("--trained-on", type=click.Path(path_type=Path), default=None,
              help="A run (or corpus JSONL) the models were trained on: warn if it is too "
              "close to a suite.")  # fmt: skip
@click.option("--calibrate-classifier", is_flag=True,
              help="Grade the labelled transcripts with the classifier instead.")  # fmt: skip
@output_file_option("--json", "json_path", "Write the results as JSON to this file.")
@output_file_option("--html", "html_path", "Write an HTML report to this file.")
@force_option
def eval_command(
    run_dir: Path | None,
    suite_refs: tuple[str, ...],
    models: tuple[str, ...],
    backend: BackendSpec,
    judge_model: str | None,
    trials: int,
    concurrency: int,
    max_cost: float | None,
    persona_name: str,
    trained_on: Path | None,
    calibrate_classifier: bool,
    json_path: Path | None,
    html_path: Path | None,
    force: bool,
) -> None:
    """Run evaluation suites (agentic honeypots, constitution knowledge, your own) against
    models; results per suite, family and model with 95% Wilson intervals. Resumable:
    run again with the same RUN_DIR and each trial still missing runs, once."""
    check_report_paths((json_path, html_path), [], force=force)
    try:
        suites = [load_suite(ref) for ref in suite_refs or shipped_suites()]
    except InputError as error:
        raise EvalFailed(str(error)) from None
    if calibrate_classifier:
        _calibrate(suites, backend, judge_model, models, json_path)
        return
    if run_dir is None:
        raise OptionError("give the RUN_DIR the results go to (or --calibrate-classifier)")
    _check_run_dir(run_dir)
    from storyloom.evals.runner import EvalOptions
    from storyloom.evals.targets import build_judge, build_targets

    try:
        targets = build_targets(backend, models, run_dir)
        judge = build_judge(backend, judge_model, models)
    except BackendOptionError as error:
        raise OptionError(str(error)) from None
    options = EvalOptions(
        trials=trials,
        concurrency=concurrency,
        max_cost=max_cost,
        persona_name=persona_name,
        judge_model=None,
    )
    backends = [judge, *(target.backend for target in targets)]
    try:
        report = asyncio.run(_run(run_dir, suites, targets, judge, options, backends))
    except (InputError, BackendError, RunLockedError) as error:
        raise EvalFailed(str(error)) from None
    _report(run_dir, suites, [t.model for t in targets], trained_on, json_path, html_path)
    console = Console(stderr=True)
    console.print(
        f"{report.finished} trial(s) run now, {report.done_before} before; spend ${report.usd:.4f}",
        highlight=False,
    )
    if report.budget_reached:
        raise EvalFailed(
            f"budget of ${max_cost:.2f} reached with {report.unfinished} trial(s) to go; "
            "rerun with a higher --max-cost to continue"
        )
    if report.unfinished:
        raise EvalFailed(
            f"{report.unfinished} trial(s) failed on transient errors "
            f"({report.messages[0]}); run again to retry them"
        )


def _progress() -> Any:
    """A line on stderr at most every few seconds: a real model's run takes a while."""
    import time

    last = [time.monotonic()]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            click.echo(f"eval: {done}/{total} trials", err=True)

    return show


def _check_run_dir(run_dir: Path) -> None:
    """A folder that is neither new nor an eval run (a generate run, a user's folder) is
    refused: eval writes its files there."""
    from storyloom.evals.journal import CONFIG, RUN_FILES

    if run_dir.exists() and not (run_dir / CONFIG).exists():
        others = sorted(p.name for p in run_dir.iterdir() if p.name not in RUN_FILES)
        if others:
            raise EvalFailed(
                f"{run_dir}: not an eval run directory (it holds {others[0]} and no {CONFIG}); "
                "choose a new one"
            )


async def _run(
    run_dir: Path, suites: list[Suite], targets: Any, judge: Backend, options: Any, backends: Any
) -> Any:
    from storyloom.evals.runner import run_eval

    try:
        for backend in backends:
            await backend.check_configuration()
        return await run_eval(run_dir, suites, targets, judge, options, _progress())
    finally:
        for backend in backends:
            await backend.aclose()


def _report(
    run_dir: Path,
    suites: list[Suite],
    models: list[str],
    trained_on: Path | None,
    json_path: Path | None,
    html_path: Path | None,
) -> None:
    from storyloom.evals.journal import ResultsJournal
    from storyloom.evals.report import print_summary, write_html, write_json
    from storyloom.evals.summary import summarise

    summary = summarise(
        ResultsJournal(run_dir).records(), models, {s.name: s.fingerprint for s in suites}
    )
    if trained_on is not None:
        summary.notes.extend(_closeness(trained_on, suites, summary))
    print_summary(summary, Console())
    if json_path is not None:
        write_json(summary, json_path)
    if html_path is not None:
        write_html(summary, run_dir, html_path)


def _closeness(trained_on: Path, suites: list[Suite], summary: Any) -> list[str]:
    """Whether the corpus the models were trained on is too close to each suite (the
    audit's measure); a corpus near a suite makes its results partly memorisation."""
    from storyloom.dataset.audit import corpus_distance  # the audit command's measure

    notes: list[str] = []
    found: dict[str, Any] = {}
    for suite in suites:
        try:
            audit = corpus_distance(trained_on, suite)
        except (InputError, ValueError, OSError) as error:
            raise EvalFailed(str(error)) from None
        distance = audit.suites[0]
        found[suite.name] = {
            "too_close": audit.too_close,
            "flagged_pairs": len(distance.flagged),
            "nearest": distance.quantiles(),
        }
        if audit.too_close:
            notes.append(
                f"WARNING: the corpus of {trained_on} is too close to suite {suite.name!r}: "
                f"{len(distance.flagged)} flagged pair(s) (similarity >= "
                f"{audit.settings.threshold:g} or a shared long n-gram); its results there "
                f"may measure memorisation (see `storyloom audit {trained_on} --against "
                f"{suite.name}`)"
            )
    summary.trained_on = {"run": str(trained_on), "suites": found}
    return notes


def _calibrate(
    suites: list[Suite],
    backend: BackendSpec,
    judge_model: str | None,
    models: tuple[str, ...],
    json_path: Path | None,
) -> None:

    from storyloom.evals.calibration import (
        calibration_json,
        calibration_lines,
        grade,
        labels_path,
        load_labelled,
    )
    from storyloom.evals.targets import build_judge

    try:
        judge = build_judge(backend, judge_model, models)
    except BackendOptionError as error:
        raise OptionError(str(error)) from None
    labelled = [(s, labels_path(s)) for s in suites]
    labelled = [(s, path) for s, path in labelled if path.exists()]
    if not labelled:
        raise EvalFailed(
            f"no labelled transcripts for {', '.join(s.name for s in suites)} "
            "(a suite's are <suite>.labels.jsonl beside it)"
        )

    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {}
        try:
            await judge.check_configuration()
            for suite, path in labelled:
                graded = await grade(suite, load_labelled(path), judge.complete, None)
                click.echo(f"{suite.name}: " + "\n".join(calibration_lines(graded)))
                results[suite.name] = calibration_json(graded)
        finally:
            await judge.aclose()
        return results

    try:
        results = asyncio.run(run())
    except (InputError, BackendError) as error:
        raise EvalFailed(str(error)) from None
    if json_path is not None:
        write_report(json_path, json_report("eval", results))
