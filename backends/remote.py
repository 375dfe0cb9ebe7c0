"""What the backends that call a remote API through an SDK client share: the model they
ask for, the client (closed by `aclose`), its address as it may appear in a message,
the secrets scrubbed from every error they raise, and the HTTP stack under the SDK."""

from __future__ import annotations

from typing import Any, Literal, get_args

from storyloom.backends.base import Backend, BackendError
from storyloom.backends.secrets import has_userinfo, scrubbed, url_for_messages

#: The HTTP stack under an SDK client: its aiohttp transport (`DefaultAioHttpClient`,
#: less CPU per call on the run's one event loop) or its default httpx.
HttpClient = Literal["aiohttp", "httpx"]


def checked_http_client(value: str) -> HttpClient:
    """`value` if it names an HTTP stack; ValueError naming the choices if not."""
    if value not in get_args(HttpClient):
        raise ValueError(f"http_client must be aiohttp or httpx, got {value!r}")
    return value  # type: ignore[return-value]


def over_aiohttp(http_client: HttpClient, url: object) -> bool:
    """Whether calls to `url` go over aiohttp: when chosen, unless the URL carries
    `user:password@`. httpx turns those into Basic auth; aiohttp refuses a request whose
    URL still carries them beside the SDK's Authorization header."""
    return http_client == "aiohttp" and not has_userinfo(url)


class RemoteBackend(Backend):
    """Subclasses set `_model`, `_client` (an SDK's async client with `base_url` and
    `close()`) and `_secrets` (the key and any gateway password) when they are made."""

    _model: str
    _client: Any
    _secrets: tuple[str, ...]

    @property
    def model(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        """The API address without any user:password a gateway URL may carry, so it is
        safe in messages."""
        return url_for_messages(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.close()

    def _scrubbed(self, error: BackendError) -> BackendError:
        """The same error with the secrets removed from its message, should the API echo
        them."""
        return scrubbed(error, *self._secrets)
