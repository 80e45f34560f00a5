"""What ``AISAEmbeddings`` and ``AISARerank`` share: the core client's settings as fields (the
same as ``ChatAISA``'s) and the clients themselves, made on first use and rebuilt when a
setting changes; pickles and copies that carry neither the key nor a live pool."""

from __future__ import annotations

import builtins
import contextlib
from typing import Any, ClassVar

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from aisa_core import AISAClient, AsyncAISAClient, RateLimiter, normalize_base_url, resolve_api_key

from ._clients import CLIENT_ATTRS, cached_client

__all__ = ["CoreClientOwner"]


class CoreClientOwner(BaseModel):
    """The key comes from ``api_key=`` or ``AISA_API_KEY``, the base URL from ``base_url=`` or
    ``AISA_BASE_URL``; construction checks them and does no I/O."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _source: ClassVar[str] = "langchain-aisa"

    api_key: SecretStr | None = Field(default_factory=secret_from_env("AISA_API_KEY", default=None))
    base_url: str | None = Field(default_factory=from_env("AISA_BASE_URL", default=None))
    timeout: float | None = None
    """Read timeout in seconds (connect is capped at 10 s); default 120 s."""
    max_retries: int = 2
    """Retries of 429 / 5xx / connection failures, per request, in the core client."""
    default_headers: dict[str, str] | None = None
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send through (proxies, custom TLS, test transports)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    aisa_rate_limiter: RateLimiter | None = Field(default=None, exclude=True)
    """The core's client-side limit, e.g. ``RateLimiter.tier("starter")``; share one object
    with your ``ChatAISA`` to share one budget."""

    _client: AISAClient | None = PrivateAttr(default=None)
    _async_client: AsyncAISAClient | None = PrivateAttr(default=None)
    _client_settings: builtins.dict[str, Any] | None = PrivateAttr(default=None)
    _async_client_settings: builtins.dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_settings(self) -> Any:
        """Fail at construction on a missing key or an unusable base URL (no I/O)."""
        resolve_api_key(self.api_key.get_secret_value() if self.api_key else None)
        if self.base_url is not None:
            normalize_base_url(self.base_url)
        return self

    def _core_settings(self, http_client: Any) -> builtins.dict[str, Any]:
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": dict(self.default_headers) if self.default_headers else None,
            "source": self._source,
            "http_client": http_client,
            "rate_limiter": self.aisa_rate_limiter,
        }

    def _core(self) -> AISAClient:
        return cached_client(self, "_client", AISAClient, self._core_settings(self.http_client))

    def _acore(self) -> AsyncAISAClient:
        settings = self._core_settings(self.http_async_client)
        return cached_client(self, "_async_client", AsyncAISAClient, settings)

    def close(self) -> None:
        """Release the sync connection pool (it is made again on the next call)."""
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Release the async connection pool (it is made again on the next call)."""
        if self._async_client is not None:
            await self._async_client.aclose()

    def __del__(self) -> None:
        private = getattr(self, "__pydantic_private__", None) or {}
        client = private.get("_client")
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def __getstate__(self) -> builtins.dict[Any, Any]:
        """A pickle holds neither the key (the loading process reads ``AISA_API_KEY``) nor the
        clients; an injected ``http_client`` cannot travel, so that is a clear error."""
        if self.http_client is not None or self.http_async_client is not None:
            raise TypeError(
                f"a {type(self).__name__} with an injected http_client cannot be pickled"
            )
        state = super().__getstate__()
        state["__pydantic_private__"] = {
            **(state.get("__pydantic_private__") or {}),
            **dict.fromkeys(CLIENT_ATTRS),
        }
        state["__dict__"] = {**state["__dict__"], "api_key": None}
        return state

    def __setstate__(self, state: builtins.dict[Any, Any]) -> None:
        super().__setstate__(state)
        if self.api_key is None:
            object.__setattr__(self, "api_key", secret_from_env("AISA_API_KEY", default=None)())

    def __copy__(self) -> Any:
        clone = super().__copy__()
        for name in CLIENT_ATTRS:
            setattr(clone, name, None)  # a copy makes its own pools
        return clone

    def __deepcopy__(self, memo: builtins.dict[int, Any] | None = None) -> Any:
        memo = {} if memo is None else memo
        for client in (self.http_client, self.http_async_client):
            if client is not None:
                memo[id(client)] = client  # an injected client is shared, not copied
        for name in CLIENT_ATTRS:
            memo[id(getattr(self, name))] = None
        clone = super().__deepcopy__(memo)
        for name in CLIENT_ATTRS:
            setattr(clone, name, None)
        return clone
