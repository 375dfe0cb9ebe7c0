"""Logging for the CLI: every log record, from any logger (ours, the anthropic SDK's,
httpx's), is scrubbed of secrets before any handler sees it, and `--debug` output
(log lines and the traceback of an error) goes through the same scrubbing.

Scrubbing happens in the log record factory, so it holds for handlers configured by
anyone (the SDK's own `ANTHROPIC_LOG` set-up included) and for loggers created later.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from storyloom.core.secrets import scrub

_DEBUG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def install_log_scrubbing() -> None:
    """Make every LogRecord created from now on carry a scrubbed message (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "scrubs_secrets", False):
        return

    def scrubbed_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as usual
            return record
        record.msg, record.args = scrub(message), None
        return record

    scrubbed_record.scrubs_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbed_record)


class ScrubbingFormatter(logging.Formatter):
    """Scrubs the whole formatted line, so exception text attached to a record is
    scrubbed too (the record factory only sees the message)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_debug_logging() -> None:
    """`--debug`: debug logging from every library to stderr, and tracebacks, all
    scrubbed."""
    install_log_scrubbing()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(ScrubbingFormatter(_DEBUG_FORMAT))
    root.setLevel(logging.DEBUG)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)  # dumps every checkpoint
    sys.excepthook = _scrubbed_excepthook


def _scrubbed_excepthook(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    sys.stderr.write(scrub("".join(traceback.format_exception(kind, error, trace))))
