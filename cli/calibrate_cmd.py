"""`storyloom calibrate`: run the judge over the gold set and say how far to trust it;
for a kind whose judge compares draft and rewrite (advice), audit that comparison for
position and length bias instead."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from storyloom.backends.base import Backend, BackendError
from storyloom.backends.registry import (
    BACKEND_NAMES,
    BackendOptionError,
    BackendSpec,
    backend_spec,
    create_backend,
)
from storyloom.backends.scripted import ScriptedBackend
from storyloom.cli.params import OptionError, option_with_default
from storyloom.graph.settings import run_settings
from storyloom.stories.calibration import audit_comparisons, audit_lines, make_pairs
from storyloom.stories.inputs import InputError
from storyloom.stories.kind import CorpusKind
from storyloom.stories.registry import get_kind
from storyloom.stories.story.calibration import calibrate as run_calibration
from storyloom.stories.story.calibration import (
    check_labels,
    gold_labels_path,
    load_gold,
    report_lines,
)

EXAMPLES = """
\b
Examples:
  storyloom calibrate --backend anthropic                      # the default model judges
  storyloom calibrate --backend anthropic --judge-model claude-opus-4-5
  storyloom calibrate --backend scripted                       # the machinery only
  storyloom calibrate --backend anthropic --gold my_gold/labels.toml --samples 3
  storyloom calibrate --kind advice --backend anthropic --judge-model claude-opus-4-5 --pairs 40
"""


def _backend(spec: BackendSpec, kind: CorpusKind) -> Backend:
    if spec.name == "scripted":
        # The fake judge scores every criterion 4: it cannot see a planted defect, so
        # its recall is 0 and its false-fail rate 0 by construction.
        return ScriptedBackend(responder=kind.fake_reply, model="scripted-judge")
    return create_backend(spec)


async def _run(backend: Backend, **kwargs: Any) -> list[str]:
    try:
        return report_lines(await run_calibration(backend, **kwargs))
    finally:
        await _close(backend)


async def _audit(
    backend: Backend, kind: CorpusKind, inputs: Any, settings: Any, pairs: int, model: str | None
) -> list[str]:
    """Pairs written by the backend's own model, then judged in both orders (by `model`)."""
    try:
        made, unmade = await make_pairs(backend, kind, inputs, settings, pairs)
        audit = await audit_comparisons(backend, kind, made, settings, model=model, unmade=unmade)
        return audit_lines(audit)
    finally:
        await _close(backend)


async def _close(backend: Backend) -> None:
    close = getattr(backend, "aclose", None)
    if close is not None:
        await close()


@click.command(name="calibrate", epilog=EXAMPLES)
@click.option("--backend", "backend_name", type=click.Choice(BACKEND_NAMES), required=True,
              help="Which backend judges.")  # fmt: skip
@click.option("--judge-model", help="The model that judges (anthropic; default its default).")
@click.option("--model-path", type=click.Path(path_type=Path), help="A GGUF (llamacpp).")
@click.option("--gold", "labels", type=click.Path(path_type=Path),
              help="A gold set's labels TOML (default: the shipped gold set).")  # fmt: skip
@option_with_default("--samples", type=click.IntRange(1, 5), default=2,
                     help="Judgments per story (two or more measure agreement).")  # fmt: skip
@click.option("--prompt-profile", type=click.Choice(("rich", "compact")), default=None,
              help="Prompt profile [default: compact for the bundled model and small "
              "GGUFs, else rich].")  # fmt: skip
@option_with_default(
    "--pairs",
    type=click.IntRange(1, 1000),
    default=20,
    help="Draft-and-rewrite pairs to audit (a comparing kind, e.g. advice).",
)
@option_with_default("--kind", "kind_name", default="story", help="Corpus kind.")
def calibrate(
    backend_name: str,
    judge_model: str | None,
    model_path: Path | None,
    labels: Path | None,
    samples: int,
    prompt_profile: str | None,
    pairs: int,
    kind_name: str,
) -> None:
    """Judge every gold story and print the judge's recall on planted defects, its
    false-fail rate on clean stories, and agreement between two samples. For a kind whose
    judge compares first draft and rewrite (advice): write `--pairs` pairs, judge each in
    both orders, and print the win rate by slot and by length (position and length bias)."""
    if judge_model and backend_name != "anthropic":
        raise click.ClickException("--judge-model applies to the anthropic backend")
    try:
        spec = backend_spec(
            backend_name,
            {"model_path": model_path} if model_path else {},
            labels={"model_path": "--model-path"},
        )
    except BackendOptionError as err:
        raise OptionError(str(err)) from None
    try:
        kind = get_kind(kind_name)
        inputs = kind.load_inputs({}).value
        constitution = getattr(inputs, "constitution", None)
        if constitution is None or "judge" not in kind.tasks:
            raise ValueError(f"kind {kind_name!r} has no constitution-grounded judge to calibrate")
        comparative = kind.rubric.comparative
        gold = None if comparative else load_gold(labels or gold_labels_path(), constitution.slugs)
    except (InputError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    settings = run_settings(kind, spec, {"prompt_profile": prompt_profile})
    if gold is not None:
        try:
            check_labels(kind, inputs, gold, settings)
        except InputError as err:
            raise click.ClickException(str(err)) from err
    if gold is None:
        _comparison_audit(spec, kind, inputs, settings, pairs, judge_model)
        return
    try:
        backend = _backend(spec, kind)
        model = judge_model or backend.model
        click.echo(
            f"calibrate: {len(gold.stories)} gold stories, judged by {model} "
            f"({backend_name}, {settings.prompt_profile} prompts), {samples} sample(s) each"
        )
        lines = asyncio.run(
            _run(
                backend,
                kind=kind,
                inputs=inputs,
                gold=gold,
                settings=settings,
                samples=samples,
                model=judge_model,
            )
        )
    except (BackendError, ValueError) as err:
        raise click.ClickException(str(err).splitlines()[0]) from err
    for line in lines:
        click.echo(line)
    if backend_name == "scripted":
        click.echo("(the scripted judge scores every criterion 4: it cannot detect a defect)")


def _comparison_audit(
    spec: BackendSpec,
    kind: CorpusKind,
    inputs: Any,
    settings: Any,
    pairs: int,
    judge_model: str | None,
) -> None:
    try:
        backend = _backend(spec, kind)
        click.echo(
            f"calibrate: {pairs} {kind.name} pairs (first draft and rewrite, written by "
            f"{backend.model}), each judged in both orders by {judge_model or backend.model} "
            f"({spec.name}, {settings.prompt_profile} prompts)"
        )
        lines = asyncio.run(_audit(backend, kind, inputs, settings, pairs, judge_model))
    except (BackendError, ValueError) as err:
        raise click.ClickException(str(err).splitlines()[0]) from err
    for line in lines:
        click.echo(line)
    if spec.name == "scripted":
        click.echo("(the scripted judge always prefers the rewrite: it shows the machinery)")
