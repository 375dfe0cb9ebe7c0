"""Placeholder: `storyloom plan` is being built."""

import click


@click.command(name="plan")
def plan() -> None:
    """Not available yet."""
    raise click.ClickException("storyloom plan is not available yet")
