"""`storyloom plan`: show the seeds a run would draw and how evenly they cover the axes,
constitution sections and persona names, without calling any model."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from storyloom.cli.kind_options import kind_option, pairs
from storyloom.graph.service import RunSetupError, load_kind_inputs
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.coverage import (
    CoverageRow,
    coverage,
    distinct_premises,
    worst_deviation,
)
from storyloom.stories.inputs import InputError, StoryInputs, load_inputs
from storyloom.stories.kind import CorpusKind, get_kind
from storyloom.stories.kind_coverage import kind_coverage
from storyloom.stories.seeds import StorySeed, persona_names, plan_seeds

_PATH = click.Path(path_type=Path)
#: Draws printed before the coverage tables for a kind other than story (all are counted).
MAX_SHOWN_DRAWS = 20

EXAMPLES = """
\b
Examples:
  storyloom plan -n 20                             # seeds and coverage of a 20-story run
  storyloom plan -n 500 --seed 7 --coverage-only   # how evenly 500 stories spread
  storyloom plan -n 50 --axes my_axes.toml --persona me.toml --name-variants
  storyloom plan -n 100 --json > plan.json         # the same as JSON, for scripts
  storyloom plan --kind documents -n 300 --coverage-only   # another kind's balance
"""


def _seed_table(seeds: list[StorySeed], inputs: StoryInputs) -> Table:
    """One row per seed, its draws stacked so the table reads at any terminal width."""
    table = Table(title=f"Seeds ({len(seeds)})", show_lines=True)
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
@click.option("-n", "--count", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many story seeds to draw.")  # fmt: skip
@click.option("--seed", "run_seed", type=int, default=0, show_default=True,
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
    seeds = plan_seeds(inputs, run_seed, count, name_variants=name_variants)
    names = persona_names(inputs, name_variants=name_variants)
    rows = coverage(seeds, inputs, names)
    worst = worst_deviation(rows)
    if as_json:
        payload = {
            "count": count,
            "seed": run_seed,
            "distinct_premises": distinct_premises(seeds),
            "max_deviation": {key: round(value, 4) for key, value in worst.items()},
            "coverage": [row.to_dict() for row in rows],
        }
        if not coverage_only:
            payload["seeds"] = [seed.to_dict() for seed in seeds]
        click.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    if not coverage_only:
        console.print(_seed_table(seeds, inputs))
    console.print(_coverage_table(rows))
    console.print(_summary_table(worst))
    console.print(
        f"{distinct_premises(seeds)} distinct premise draws among {count} seeds "
        f"(seed {run_seed}{', name variants: ' + ', '.join(names) if name_variants else ''})."
    )


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
