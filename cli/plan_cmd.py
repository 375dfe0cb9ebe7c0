"""`storyloom plan`: show the seeds a run would draw and how evenly they cover the axes,
constitution sections and persona names, without calling any model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from storyloom.cli.kind_options import kind_option, pairs
from storyloom.cli.params import SEED, option_with_default
from storyloom.graph.service import RunSetupError, load_kind_inputs
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.coverage import kind_coverage
from storyloom.stories.distinct import DistinctCounter
from storyloom.stories.inputs import InputError
from storyloom.stories.kind import CorpusKind
from storyloom.stories.registry import get_kind
from storyloom.stories.story.coverage import (
    CoverageRow,
    count_distinct_premises,
    planned_coverage,
    worst_deviation,
)
from storyloom.stories.story.draws import StorySeed, make_seed, persona_names
from storyloom.stories.story.inputs import StoryInputs, load_inputs

_PATH = click.Path(path_type=Path)
#: Draws printed before the coverage tables for a kind other than story (all are counted).
MAX_SHOWN_DRAWS = 20

#: Seeds per printed table: a table is laid out only once all its rows are known.
PAGE = 1000
#: Counts from which counting distinct premises shows its progress (about 3 s here).
PROGRESS_FROM = 200_000

EXAMPLES = """
\b
Examples:
  storyloom plan -n 20                             # seeds and coverage of a 20-story run
  storyloom plan -n 500 --seed 7 --coverage-only   # how evenly 500 stories spread
  storyloom plan -n 50 --axes my_axes.toml --persona me.toml --name-variants
  storyloom plan -n 100 --json > plan.json         # the same as JSON, for scripts
  storyloom plan --kind documents -n 300 --coverage-only   # another kind's balance
"""


def _seed_table(seeds: list[StorySeed], inputs: StoryInputs, title: str) -> Table:
    """One row per seed, its draws stacked so the table reads at any terminal width."""
    table = Table(title=title, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("persona")
    table.add_column("draws")
    table.add_column("sections")
    for seed in seeds:
        draws = "\n".join(
            f"{axis.replace('_', ' ')}: {seed.axes[axis]}" for axis in inputs.axes.values
        )
        table.add_row(str(seed.index), seed.persona_name, draws, "\n".join(seed.sections))
    return table


def _seed_pages(
    inputs: StoryInputs, run_seed: int, count: int, name_variants: bool
) -> Iterator[tuple[str, list[StorySeed]]]:
    """The seeds in pages of PAGE, drawn as they are printed (never all held at once)."""
    seeds = (make_seed(inputs, run_seed, i, name_variants=name_variants) for i in range(count))
    for start in range(0, count, PAGE):
        page = list(islice(seeds, PAGE))
        whole = count <= PAGE
        title = f"Seeds ({count})" if whole else f"Seeds {start + 1}-{start + len(page)} of {count}"
        yield title, page


def _coverage_table(rows: list[CoverageRow]) -> Table:
    table = Table(title="Coverage (count vs fair share)")
    table.add_column("dimension")
    table.add_column("value", no_wrap=True, overflow="ellipsis", max_width=44)
    table.add_column("count", justify="right")
    table.add_column("fair share", justify="right")
    table.add_column("deviation", justify="right")
    previous = None
    for row in rows:
        table.add_row(
            row.dimension if row.dimension != previous else "",
            row.value,
            str(row.count),
            f"{row.fair_share:.2f}",
            f"{row.deviation:+.2f}",
            end_section=False,
        )
        previous = row.dimension
    return table


def _summary_table(worst: dict[str, float]) -> Table:
    table = Table(title="Largest deviation from fair share")
    table.add_column("dimension")
    table.add_column("max |count - fair share|", justify="right")
    for dimension, value in worst.items():
        table.add_row(dimension, f"{value:.2f}")
    return table


@click.command(name="plan", epilog=EXAMPLES)
@kind_option
@click.option("--input", "input_pairs", multiple=True, metavar="NAME=PATH",
              help="An input of another kind by name (e.g. claims=my.jsonl).")  # fmt: skip
@option_with_default("-n", "--count", type=click.IntRange(min=1), default=20,
                     help="How many story seeds to draw.")  # fmt: skip
@option_with_default("--seed", "run_seed", type=SEED, default=0,
                     help="Run seed (the same as generate's --seed).")  # fmt: skip
@click.option("--axes", type=_PATH, help="Premise axes TOML (default: the bundled sample).")
@click.option("--constitution", type=_PATH, help="Constitution Markdown (default: sample).")
@click.option("--persona", type=_PATH, help="Persona TOML (default: the bundled sample).")
@click.option("--name-variants", is_flag=True,
              help="Cycle the persona's name variants over identical draws.")  # fmt: skip
@click.option("--coverage-only", is_flag=True, help="Print only the coverage tables.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def plan(
    kind: str | None,
    input_pairs: tuple[str, ...],
    count: int,
    run_seed: int,
    axes: Path | None,
    constitution: Path | None,
    persona: Path | None,
    name_variants: bool,
    coverage_only: bool,
    as_json: bool,
) -> None:
    """Show the seeds a run would draw and their coverage; no model is called.

    Every axis value and constitution section stays within one of its fair share over
    any prefix of a run (within one per name variant with --name-variants).
    """
    if kind not in (None, "story"):
        paths: dict[str, Path | None] = {
            k: Path(v) for k, v in pairs(input_pairs, "--input").items()
        }
        if constitution is not None:
            paths["constitution"] = constitution
        _plan_kind(get_kind(kind), paths, count, run_seed, coverage_only, as_json)
        return
    try:
        inputs = load_inputs(constitution=constitution, persona=persona, axes=axes)
    except InputError as err:
        raise click.ClickException(str(err)) from err
    names = persona_names(inputs, name_variants=name_variants)
    rows = planned_coverage(inputs, run_seed, count, names)  # at once, whatever the count
    worst = worst_deviation(rows)
    if as_json:
        _print_json(inputs, run_seed, count, name_variants, rows, worst, coverage_only)
        return
    console = Console()
    if not coverage_only:
        for title, page in _seed_pages(inputs, run_seed, count, name_variants):
            console.print(_seed_table(page, inputs, title))
    console.print(_coverage_table(rows))
    console.print(_summary_table(worst))
    distinct = _distinct(inputs, run_seed, count, name_variants)
    console.print(
        f"{_about(distinct)}{distinct.count} distinct premise draws among {count} seeds "
        f"(seed {run_seed}{', name variants: ' + ', '.join(names) if name_variants else ''})."
    )


def _about(distinct: DistinctCounter) -> str:
    return "" if distinct.exact else "about "


def _distinct(
    inputs: StoryInputs, run_seed: int, count: int, name_variants: bool
) -> DistinctCounter:
    """Distinct premises, with a progress bar on stderr when counting takes a while."""
    if count < PROGRESS_FROM:
        return count_distinct_premises(inputs, run_seed, count, name_variants=name_variants)
    progress = Progress(
        TextColumn("counting distinct premises"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("distinct", total=count)
        return count_distinct_premises(
            inputs,
            run_seed,
            count,
            name_variants=name_variants,
            on_progress=lambda done: progress.update(task, completed=done),
        )


def _print_json(
    inputs: StoryInputs,
    run_seed: int,
    count: int,
    name_variants: bool,
    rows: list[CoverageRow],
    worst: dict[str, float],
    coverage_only: bool,
) -> None:
    """The plan as one JSON object, written as it is computed: coverage first (at once),
    then the seeds one by one, then the distinct count, which needs them all."""
    out = sys.stdout  # looked up at call time: CliRunner swaps it

    def field(key: str, value: object, last: bool = False) -> None:
        text = json.dumps(value, indent=2).replace("\n", "\n  ")
        out.write(f"  {json.dumps(key)}: {text}{'' if last else ','}\n")

    out.write("{\n")
    field("count", count)
    field("seed", run_seed)
    field("max_deviation", {key: round(value, 4) for key, value in worst.items()})
    field("coverage", [row.to_dict() for row in rows])
    out.flush()
    if not coverage_only:
        out.write('  "seeds": [')
        for number, index in enumerate(range(count)):
            seed = make_seed(inputs, run_seed, index, name_variants=name_variants)
            out.write(("\n    " if number == 0 else ",\n    ") + json.dumps(seed.to_dict()))
        out.write("\n  ],\n")
    distinct = _distinct(inputs, run_seed, count, name_variants)
    field("distinct_premises", distinct.count)
    field("distinct_premises_exact", distinct.exact, last=True)
    out.write("}\n")


def _plan_kind(
    kind: CorpusKind,
    paths: dict[str, Path | None],
    count: int,
    run_seed: int,
    coverage_only: bool,
    as_json: bool,
) -> None:
    """Any other kind: its draws and their coverage, counted as they are drawn."""
    try:
        loaded = load_kind_inputs(kind, paths)
    except (InputError, RunSetupError) as err:
        raise click.ClickException(str(err)) from err
    settings = GenerationSettings(seed=run_seed)
    shown: list[dict[str, object]] = []

    def keep(index: int, draw: dict[str, object]) -> None:
        if not coverage_only and index < MAX_SHOWN_DRAWS:
            shown.append({"index": index, **draw})

    rows = kind_coverage(kind, loaded.value, settings, count, on_draw=keep)
    worst = worst_deviation(rows)
    if as_json:
        payload: dict[str, object] = {
            "kind": kind.name,
            "count": count,
            "seed": run_seed,
            "max_deviation": {key: round(value, 4) for key, value in worst.items()},
            "coverage": [row.to_dict() for row in rows],
        }
        if not coverage_only:
            payload["draws"] = shown
        click.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    for draw in shown:
        console.print(json.dumps(draw, ensure_ascii=False))
    console.print(_coverage_table(rows))
    console.print(_summary_table(worst))
    console.print(f"{count} {kind.name} draws (seed {run_seed}).")
