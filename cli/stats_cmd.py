"""Placeholder: `storyloom stats` is being built."""

import click


@click.command(name="stats")
def stats() -> None:
    """Not available yet."""
    raise click.ClickException("storyloom stats is not available yet")
