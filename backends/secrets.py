"""Keeping API keys and gateway credentials out of every message, and checking them early.

Error messages are built from status codes and the server's own words, and servers
echo requests back; every HTTP backend passes its errors through `scrubbed` and names
its address with `url_for_messages`. The checks turn a key or URL that cannot work
into one line naming the variable or option, at start, instead of a run of retries.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from storyloom.backends.base import BackendError, PermanentBackendError, TransientBackendError
from storyloom.core.secrets import (  # one implementation, shared with graph/shared.py
    REDACTED,
    url_for_messages,
    url_for_messages_safely,
    url_password,
)

__all__ = ["url_for_messages", "url_for_messages_safely", "url_password"]


def scrubbed(error: BackendError, *secrets: str) -> BackendError:
    """The same error with every secret replaced in its message (a new error of the same
    type, keeping `retry_after`, `fatal` and `usage`)."""
    text = str(error)
    clean = text
    for secret in secrets:
        if secret:
            clean = clean.replace(secret, REDACTED)
    if clean == text:
        return error
    copy: BackendError
    if isinstance(error, TransientBackendError):
        copy = type(error)(clean, retry_after=error.retry_after)
    elif isinstance(error, PermanentBackendError):
        copy = type(error)(clean, fatal=error.fatal)
    else:
        copy = type(error)(clean)
    copy.usage = error.usage
    copy.requests = error.requests
    return copy


def has_userinfo(url: object) -> bool:
    """Whether `url` carries `user[:password]@` (a gateway's Basic auth)."""
    try:
        return url is not None and urlsplit(str(url)).username is not None
    except ValueError:
        return False


def check_api_key(key: str, variable: str) -> None:
    """A key with a space, tab or line break in it (a stray newline from a file or a
    paste) is refused by name; the key itself is never shown."""
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise PermanentBackendError(
            f"{variable} contains whitespace or a line break: set it to the key alone",
            fatal=True,
        )


def check_base_url(url: str, source: str) -> None:
    """An http(s) URL with a host, or one line naming where it came from."""
    try:
        parsed = urlsplit(url.strip())
        ok = parsed.scheme in ("http", "https") and bool(parsed.hostname) and " " not in url
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        raise PermanentBackendError(
            f"{source} is not an http(s) URL ({url_for_messages_safely(url)!r}): "
            "give the server's address, e.g. https://host:port/v1",
            fatal=True,
        )
