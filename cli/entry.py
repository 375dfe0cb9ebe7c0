"""The `storyloom` executable around the click group: how the process ends when the user
interrupts it or its output cannot be written.

- **Ctrl-C at any moment** exits 130 with nothing printed. While the modules load
  (seconds on a cold start) the signal ends the process at once: nothing was written yet.
  Afterwards a KeyboardInterrupt is caught here, before click can turn it into
  `Aborted!` and exit 1. (`generate` handles its own signals while a run is going.)
- **Output that cannot be written** (`> /dev/full`, a full disk, a closed terminal) is one
  line on stderr and exit 1, never an OSError traceback.
- **A closed pipe** (`storyloom graph | head -c 10`) ends the process quietly with exit 1:
  the reader wanted no more, so there is nothing to say (Python's documented convention,
  and what rich does for the tables it prints).

This module imports only the standard library at its top, so the handlers are in place
before the heavy imports start.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

EXIT_SIGINT = 130
#: Why output cannot be written: a full disk or quota, a file size limit, a failing device.
_OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def main(args: list[str] | None = None) -> None:
    """Run the CLI with `args` (default: the command line) and exit with its code."""
    previous = signal.signal(signal.SIGINT, _exit_while_loading)
    try:
        from storyloom.cli.main import cli

        signal.signal(signal.SIGINT, previous)
        code = _invoke(cli, args)
        sys.stdout.flush()  # here, not at shutdown, where a failure is only a warning
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
        _exit_quietly(EXIT_SIGINT)
    except OSError as error:
        if error.errno == errno.EPIPE:
            _exit_quietly(1)
        if error.filename is not None:
            sys.stderr.write(f"Error: {error.filename}: {error.strerror or error}\n")
        elif error.errno in _OUTPUT_ERRORS:  # a write that names no file: our stdout
            sys.stderr.write(f"Error: standard output: cannot write ({error.strerror})\n")
        else:
            raise
        _exit_quietly(1)
    sys.exit(code)


def _invoke(cli: click.Group, args: list[str] | None) -> int:
    """Parse and run one command the way click's standalone mode does, except that
    interrupts and output errors are left to `main`."""
    import click

    try:
        with cli.make_context("storyloom", list(sys.argv[1:] if args is None else args)) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:  # raised by a prompt on EOF; storyloom has none today
        click.echo("Aborted!", err=True)
        return 1
    except click.ClickException as error:
        error.show()
        return error.exit_code
    return 0


def _exit_while_loading(number: int, frame: FrameType | None) -> None:
    os._exit(EXIT_SIGINT)


def _exit_quietly(code: int) -> None:
    """Exit with `code`; stdout goes to /dev/null first so the interpreter's own flush at
    shutdown cannot fail again and print a traceback after our line."""
    _silence_stdout()
    sys.exit(code)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no stdout at all: nothing left to flush
        pass
