"""`--help` everywhere, with examples that are true: every example parses as written."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from storyloom.cli.main import cli

COMMANDS = sorted(cli.commands)
#: Where a shell example stops being storyloom's argv.
SHELL_OPERATORS = {">", ">>", "|", "&&", ";"}


def help_text(*argv: str) -> str:
    result = CliRunner().invoke(cli, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def example_argvs(text: str) -> list[list[str]]:
    """Each `storyloom ...` line of a help text as argv (no program name, no comment,
    nothing after a redirection or pipe)."""
    argvs = []
    for line in text.splitlines():
        if not line.strip().startswith("storyloom "):
            continue
        words = shlex.split(line, comments=True)[1:]
        cut = next((i for i, word in enumerate(words) if word in SHELL_OPERATORS), len(words))
        argvs.append(words[:cut])
    return argvs


def parse(argv: list[str]) -> None:
    """Parse argv the way `storyloom` would, with every type check, without running it.
    Raises click.UsageError (or BadParameter) if the example is wrong."""
    name, *rest = argv
    command = cli.commands.get(name)
    if command is None:
        raise click.UsageError(f"no such command {name!r}")
    root = cli.make_context("storyloom", [name], resilient_parsing=True)
    try:
        command.make_context(name, rest, parent=root)
    except click.exceptions.Exit as done:  # an eager --help or --version
        assert done.exit_code == 0


def test_every_command_is_covered() -> None:
    assert {"generate", "plan", "dedupe", "stats", "graph"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_examples_of_the_command(name: str) -> None:
    text = help_text(name)
    assert "Examples:" in text
    assert f"storyloom {name}" in text
    assert any(argv[:1] == [name] for argv in example_argvs(text))


def test_group_help_has_examples() -> None:
    text = help_text()
    assert "Examples:" in text
    assert example_argvs(text)


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_example_parses(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Input files an example names are created (empty), so options that demand an
    existing file check the example rather than this machine."""
    monkeypatch.chdir(tmp_path)
    argvs = example_argvs(help_text(*([name] if name else [])))
    for argv in argvs:
        for word in argv:
            if word.endswith((".jsonl", ".toml", ".md")):
                (tmp_path / word).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / word).touch()
    for argv in argvs:
        parse(argv)


def test_a_wrong_example_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        parse(["plan", "--no-such-option"])
    with pytest.raises(click.UsageError):
        parse(["dedupe", "only-one-argument.jsonl"])
    with pytest.raises(click.UsageError):
        parse(["generate", "--backend", "no-such-backend"])
    with pytest.raises(click.UsageError):
        parse(["graph", "extra"])
