"""Scrubbing secrets out of any text the tool shows or logs: the `user:password` of a URL
(a gateway's ANTHROPIC_BASE_URL may carry one), API keys (by their shape, and the exact
values found in the environment), and the Basic-auth form of a URL's credentials.

One implementation for every path that prints: error messages, log lines (the SDK's and
httpx's included, see `storyloom.cli.logs`) and `--debug` tracebacks.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "[redacted]"

#: Environment variables whose values are secrets, or URLs that may embed one.
SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY")
URL_VARIABLES = ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY")

#: Up to the *last* `@` of the authority: a password may hold an `@` of its own.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s'\"<>]+@")
_KEY_SHAPED = re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}")
#: Shorter values would redact ordinary words (a password "a" is still removed from URLs).
_MIN_SECRET_LENGTH = 6


#: Secrets given on the command line (a `--redis` URL's password), scrubbed like the
#: environment's from every message and log line of the process.
_remembered: set[str] = set()


def remember_url_secrets(url: str) -> None:
    """Scrub `url`'s credentials from everything this process shows from now on."""
    _remembered.update(_url_credentials(url))


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL credentials, key-shaped tokens, the environment's secrets and
    `secrets` replaced by [redacted]."""
    remembered = sorted(_remembered, key=len, reverse=True)
    for secret in (*environment_secrets(_environment_key()), *remembered, *secrets):
        if len(secret) >= _MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    return _KEY_SHAPED.sub(REDACTED, text)


def _environment_key() -> tuple[tuple[str, str], ...]:
    names = (*SECRET_VARIABLES, *URL_VARIABLES)
    return tuple((name, os.environ.get(name, "")) for name in names)


@lru_cache(maxsize=8)
def environment_secrets(variables: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The secret values among `variables` ((name, value) pairs): keys as they are and
    stripped, and each URL's password, user:password and its Basic-auth base64."""
    values: Mapping[str, str] = dict(variables)
    found: list[str] = []
    for name in SECRET_VARIABLES:
        value = values.get(name, "")
        found += [value, value.strip()]
    for name in URL_VARIABLES:
        found += _url_credentials(values.get(name, ""))
    # longest first, so a key is replaced whole before any part of it
    return tuple(sorted({v for v in found if v}, key=len, reverse=True))


def _url_credentials(url: str) -> list[str]:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    if not parts.password:
        return []
    userinfo = f"{unquote(parts.username or '')}:{unquote(parts.password)}"
    basic = base64.b64encode(userinfo.encode()).decode()
    return [parts.password, unquote(parts.password), userinfo, basic]


def url_for_messages(url: object) -> str:
    """The address (a string or an SDK's URL object) without any `user:password` it may
    carry, parsed by the standard parser (so a password holding `@` goes whole)."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return url_for_messages_safely(text)
    if "@" not in parts.netloc:
        return text
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def url_password(url: object) -> str:
    """The secret part of a URL's userinfo, to scrub from anything a server echoes."""
    if url is None:
        return ""
    try:
        parsed = urlsplit(str(url))
    except ValueError:
        return ""
    return parsed.password or ""


def url_for_messages_safely(url: str) -> str:
    """`url_for_messages` for text that may not parse as a URL at all."""
    password = url_password(url)
    return scrub(url.replace(password, REDACTED) if password else url)
