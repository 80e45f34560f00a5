"""What ``ChatAISA``, ``AISAEmbeddings`` and ``AISARerank`` share: the core client's settings as
fields, and the two core clients themselves.

The clients are made on first use and rebuilt when a setting changed (compared on every call:
about a microsecond), under a lock, so two threads' first calls (e.g. ``batch``) share one
client and its pool. Copies make their own clients but share what counts (the rate limiter,
model health, the budget) and an injected ``http_client``; pickles hold neither the key nor a
client. Every client reports its calls to ``get_aisa_callback()`` (``callbacks.SEAM``).
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from aisa_core import (
    AISAClient,
    AsyncAISAClient,
    Budget,
    ModelHealth,
    RateLimiter,
    normalize_base_url,
    resolve_api_key,
)

from .callbacks import SEAM

__all__ = ["OWNER_CONFIG", "CoreClientOwner"]

# The private attributes holding each client and the settings it was built from.
_CLIENT_ATTRS = ("_client", "_async_client", "_client_settings", "_async_client_settings")
_LOCK = threading.Lock()
Client = TypeVar("Client", AISAClient, AsyncAISAClient)

OWNER_CONFIG = ConfigDict(
    populate_by_name=True,
    extra="forbid",
    protected_namespaces=(),
    arbitrary_types_allowed=True,
    hide_input_in_errors=True,  # a validation error must never print the arguments (the key)
)
"""Every owner's config; subclasses set it again, as LangChain's bases (listed after the
owner) bring configs of their own that would win."""


class CoreClientOwner(BaseModel):
    """The key comes from ``api_key=`` or ``AISA_API_KEY``, the base URL from ``base_url=`` or
    ``AISA_BASE_URL``; construction checks them and does no I/O. Unknown arguments are an error
    (a typo must not silently become a request field)."""

    model_config = OWNER_CONFIG

    _source: ClassVar[str] = "langchain-aisa"

    api_key: SecretStr | None = Field(default_factory=secret_from_env("AISA_API_KEY", default=None))
    base_url: str | None = Field(default_factory=from_env("AISA_BASE_URL", default=None))
    timeout: float | None = None
    """Read timeout in seconds (connect is capped at 10 s); default 120 s."""
    max_retries: int = 2
    """Retries of 429 / 5xx / connection failures per model, in the core client."""
    default_headers: dict[str, str] | None = None
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send through (proxies, custom TLS, test transports)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    aisa_rate_limiter: RateLimiter | None = Field(default=None, exclude=True)
    """The core's client-side limit (requests per minute *and* requests in flight, streams
    held until they end), e.g. ``RateLimiter.tier("starter")``; share one object between
    models to share one budget. (LangChain's own ``rate_limiter`` on a chat model still works,
    but it only spaces out request starts.)"""
    aisa_health: ModelHealth | None = Field(default=None, exclude=True)
    """Model health shared with every object given the same one: a model that keeps failing
    cools down and the fallback chain skips it."""
    aisa_budget: Budget | None = Field(default=None, exclude=True)
    """A spend limit shared the same way: a call that would pass it raises
    ``AISABudgetExceededError`` (a ``ModelPermissionDeniedError``) before anything is sent."""

    _client: AISAClient | None = PrivateAttr(default=None)
    _async_client: AsyncAISAClient | None = PrivateAttr(default=None)
    _client_settings: builtins.dict[str, Any] | None = PrivateAttr(default=None)
    _async_client_settings: builtins.dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown(cls, values: Any) -> Any:
        if isinstance(values, Mapping):
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
            unknown = sorted(k for k in values if k not in known)
            if unknown:
                raise ValueError(
                    f"{cls.__name__} got unknown argument(s) {', '.join(unknown)}; pass request "
                    "parameters it does not declare in model_kwargs={...}"
                )
        return values

    @model_validator(mode="after")
    def _check_settings(self) -> Any:
        """Fail at construction on a missing key or an unusable base URL (no I/O)."""
        resolve_api_key(self.api_key.get_secret_value() if self.api_key else None)
        if self.base_url is not None:
            normalize_base_url(self.base_url)
        return self

    @property
    def lc_secrets(self) -> builtins.dict[str, str]:
        return {"api_key": "AISA_API_KEY"}

    # --- the core clients -----------------------------------------------------------------

    def _core_settings(self, http_client: Any) -> builtins.dict[str, Any]:
        """What a core client is built from (subclasses add their own)."""
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": dict(self.default_headers) if self.default_headers else None,
            "source": self._source,
            "http_client": http_client,
            "rate_limiter": self.aisa_rate_limiter,
            "health": self.aisa_health,
            "budget": self.aisa_budget,
            "observers": (SEAM,),  # each call's usage, to get_aisa_callback()
        }

    def _core(self) -> AISAClient:
        return self._cached("_client", AISAClient, self._core_settings(self.http_client))

    def _acore(self) -> AsyncAISAClient:
        settings = self._core_settings(self.http_async_client)
        return self._cached("_async_client", AsyncAISAClient, settings)

    def _cached(self, attr: str, make: type[Client], settings: builtins.dict[str, Any]) -> Client:
        """The client in ``attr``, built first if it is missing or was built from other
        settings."""
        client: Client | None = getattr(self, attr)
        if client is None or getattr(self, f"{attr}_settings") != settings:
            with _LOCK:
                client = getattr(self, attr)
                if client is None or getattr(self, f"{attr}_settings") != settings:
                    client = make(**settings)
                    setattr(self, attr, client)
                    setattr(self, f"{attr}_settings", settings)
        return client

    def close(self) -> None:
        """Release the sync connection pool (it is made again on the next call)."""
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Release the async connection pool (it is made again on the next call)."""
        if self._async_client is not None:
            await self._async_client.aclose()

    def __del__(self) -> None:
        # Close the sync pool with its owner, as the OpenAI SDK does: a pool dropped with open
        # keep-alive sockets leaks them until the interpreter notices (ResourceWarning).
        private = getattr(self, "__pydantic_private__", None) or {}
        client = private.get("_client")
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    # --- pickles and copies ---------------------------------------------------------------

    def __getstate__(self) -> builtins.dict[Any, Any]:
        """A pickle holds neither the clients (their pools are rebuilt on first use in the new
        process) nor the key (the loading process reads ``AISA_API_KEY`` again; without it the
        first call says so); an injected ``http_client`` cannot travel: a clear error."""
        if self.http_client is not None or self.http_async_client is not None:
            raise TypeError(
                f"a {type(self).__name__} with an injected http_client cannot be pickled"
            )
        state = super().__getstate__()
        state["__pydantic_private__"] = {
            **(state.get("__pydantic_private__") or {}),
            **dict.fromkeys(_CLIENT_ATTRS),
        }
        state["__dict__"] = {**state["__dict__"], "api_key": None}
        return state

    def __setstate__(self, state: builtins.dict[Any, Any]) -> None:
        super().__setstate__(state)
        if self.api_key is None:
            object.__setattr__(self, "api_key", secret_from_env("AISA_API_KEY", default=None)())

    def __copy__(self) -> Any:
        # Copies (``model_copy``) make their own clients: a shared pool would be closed under
        # the original when the copy is collected.
        clone = super().__copy__()
        for name in _CLIENT_ATTRS:
            setattr(clone, name, None)
        return clone

    def __deepcopy__(self, memo: builtins.dict[int, Any] | None = None) -> Any:
        memo = {} if memo is None else memo
        for shared in (self.http_client, self.http_async_client, *self._shared_state()):
            if shared is not None:
                memo[id(shared)] = shared  # injected clients and shared state: not copied
        for name in _CLIENT_ATTRS:
            memo[id(getattr(self, name))] = None
        clone = super().__deepcopy__(memo)
        for name in _CLIENT_ATTRS:
            setattr(clone, name, None)
        return clone

    def _shared_state(self) -> tuple[Any, ...]:
        """Objects a copy must share with the original (copying one would split its count)."""
        return self.aisa_rate_limiter, self.aisa_health, self.aisa_budget
