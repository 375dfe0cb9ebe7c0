"""What the backends that call a remote API through an SDK client share: the model they
ask for, the client (closed by `aclose`), its address as it may appear in a message,
and the secrets scrubbed from every error they raise."""

from __future__ import annotations

from typing import Any

from storyloom.backends.base import Backend, BackendError
from storyloom.backends.secrets import scrubbed, url_for_messages


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
