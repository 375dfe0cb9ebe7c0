"""`storyloom check`: run a kind's deterministic gates on text files, for people writing
gold sets and prompts. Exit 0 when every file is clean, 1 with findings, 2 on bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from storyloom.cli.params import option_with_default
from storyloom.stories.checking import run_gates
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.inputs import InputError, read_text_file
from storyloom.stories.kind import CorpusKind
from storyloom.stories.registry import UnknownKindError, get_kind, kind_names

EXAMPLES = """
\b
Examples:
  storyloom check story.md --persona-name Wren --length short
  storyloom check gold/*.md --persona my_persona.toml     # the length gate is skipped
  storyloom check draft.md --kind story --length medium --persona-name Ada
"""

#: What to pass for a draw value a gate needs.
_FLAGS = {"length": "--length BAND", "persona_name": "--persona or --persona-name"}


class BadInput(click.ClickException):
    """Bad input exits 2, so a script can tell it from findings (1)."""

    exit_code = 2


def _values(persona_name: str | None, length: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"axes": {"length": length} if length else {}}
    if persona_name:
        values["persona_name"] = persona_name
    return values


def _refuse_inputs_check_lacks(kind: CorpusKind, given: dict[str, Path | None]) -> None:
    """A kind whose gates need an input with no bundled sample (augment's source chats)
    cannot be checked on loose files: say so plainly, naming no flag check lacks."""
    for spec in kind.input_specs:
        if spec.sample is None and given.get(spec.name) is None:
            raise BadInput(
                f"check cannot run the {kind.name} kind's gates: they check each text "
                f"against the {spec.name!r} input it was made from, which check does not "
                f"take; the gates run inside `storyloom generate --kind {kind.name}`, and "
                "`storyloom inspect RUN ID` shows what they found for an item"
            )


@click.command(name="check", epilog=EXAMPLES)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@option_with_default(
    "--kind", "kind_name", default="story",
    help=f"The corpus kind whose gates run ({', '.join(kind_names())}).",
)  # fmt: skip
@click.option("--persona", type=click.Path(path_type=Path),
              help="Persona TOML: the text must use its name and no other variant.")  # fmt: skip
@click.option("--persona-name", help="The AI character's name (instead of --persona).")
@click.option("--length", type=click.Choice(tuple(LENGTH_BANDS)),
              help="Length band the text must fit (else the length gate is skipped).")  # fmt: skip
@click.option("--constitution", type=click.Path(path_type=Path),
              help="Constitution for the verbatim-copy gate (default: shipped).")  # fmt: skip
def check(
    files: tuple[Path, ...],
    kind_name: str,
    persona: Path | None,
    persona_name: str | None,
    length: str | None,
    constitution: Path | None,
) -> None:
    """Run the kind's gates on FILES and print every finding.

    A gate that needs a value you did not give (the length band, the persona) is
    skipped and says so. Exit status: 0 clean, 1 findings, 2 bad input.
    """
    if persona and persona_name:
        raise BadInput("give --persona or --persona-name, not both")
    try:
        kind = get_kind(kind_name)
        given = {"persona": persona, "constitution": constitution}
        _refuse_inputs_check_lacks(kind, given)
        loaded = kind.load_inputs(given)
        texts = {path: read_text_file(path, "text") for path in files}
    except (InputError, UnknownKindError) as err:
        raise BadInput(str(err)) from err
    inputs = loaded.value
    if persona_name and hasattr(inputs, "persona"):
        own = replace(inputs.persona, name=persona_name, name_variants=())
        inputs = replace(inputs, persona=own)
    elif persona and hasattr(inputs, "persona"):
        persona_name = inputs.persona.name
    values = _values(persona_name, length)
    flagged = total = 0
    skipped: dict[str, str] = {}
    for path, text in texts.items():
        results = run_gates(kind, inputs, text, values)
        for result in results:
            if result.missing:
                skipped[result.gate] = _FLAGS.get(result.missing, result.missing)
        findings = [finding for result in results for finding in result.findings]
        if not findings:
            click.echo(f"{path}: clean")
            continue
        flagged += 1
        total += len(findings)
        click.echo(f"{path}: {len(findings)} finding{'s' if len(findings) > 1 else ''}")
        for finding in findings:
            click.echo(f"  {finding.kind}: {finding.message}")
    for gate, needs in skipped.items():
        click.echo(f"skipped: {gate} (needs {needs})")
    click.echo(f"{len(texts)} file(s) checked, {flagged} with findings ({total} in all)")
    if flagged:
        click.get_current_context().exit(1)
