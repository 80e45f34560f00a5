"""What ``AISA``, ``AISAEmbedding`` and ``AISARerank`` share: the core client's settings as
fields and the two core clients, built at construction (no I/O) and rebuilt when a connection
field changes; copies that share what they count; pickles that never hold the key. Every call
of the clients is dispatched as an ``AISAUsageEvent`` (``_usage.SEAM``)."""

from __future__ import annotations

import copy
import logging
import pickle
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from aisa_core import AISAClient, AsyncAISAClient, Budget, ModelHealth, RateLimiter, Secret

from ._usage import SEAM

__all__ = ["SOURCE", "CoreClients"]

SOURCE = "aisa-llm-llama-index"  # the gateway's x-aisa-source attribution header
logger = logging.getLogger(__name__)


class CoreClients(BaseModel):
    """The key comes from ``api_key`` or ``AISA_API_KEY`` (never ``OPENAI_*``) and is left out
    of ``to_dict``/``to_json`` and pickles: an unpickled object reads ``AISA_API_KEY`` at its
    first call (a clear ``ConfigurationError`` if it is not set), or takes ``obj.api_key = ...``.
    The rate limiter, model health and budget are shared by copies, never copied."""

    model_config = ConfigDict(arbitrary_types_allowed=True, validate_assignment=True)

    client_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "api_key",
            "base_url",
            "timeout",
            "max_retries",
            "default_headers",
            "http_client",
            "async_http_client",
            "aisa_rate_limiter",
            "aisa_health",
            "aisa_budget",
        }
    )
    """Fields the core clients are built from: changing one rebuilds them."""
    shared_fields: ClassVar[frozenset[str]] = frozenset(
        {"aisa_rate_limiter", "aisa_health", "aisa_budget", "callback_manager"}
    )
    """Shared by copies, never copied: copying one would split what it counts."""
    unpickled_fields: ClassVar[frozenset[str]] = frozenset(
        {"api_key", "http_client", "async_http_client", "callback_manager"}
    )
    """Never in a pickle: the key, and live objects tied to this process."""

    api_key: SecretStr | None = Field(
        default=None, exclude=True, repr=False, description="Else AISA_API_KEY."
    )
    base_url: str | None = Field(
        default=None, description="Else AISA_BASE_URL, else AIsa's; with or without /v1."
    )
    timeout: float = Field(default=120.0, gt=0, description="Read timeout in seconds.")
    max_retries: int = Field(
        default=2, ge=0, description="Retries per request on 429, 5xx and connection failures."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, description="Headers added to every request."
    )
    http_client: httpx.Client | None = Field(
        default=None, exclude=True, description="httpx client for sync calls (proxies, tests)."
    )
    async_http_client: httpx.AsyncClient | None = Field(
        default=None, exclude=True, description="httpx client for async calls."
    )
    aisa_rate_limiter: RateLimiter | None = Field(
        default=None,
        exclude=True,
        description="The core's client-side limit (requests per minute and in flight), shared "
        "by every object using the same one; e.g. RateLimiter.tier('starter').",
    )
    aisa_health: ModelHealth | None = Field(
        default=None,
        exclude=True,
        description="Model health shared by every object given the same one: a model that "
        "keeps failing cools down and the fallback chain skips it.",
    )
    aisa_budget: Budget | None = Field(
        default=None,
        exclude=True,
        description="A spend limit shared the same way: a call that would pass it raises "
        "aisa_core.BudgetExceededError before anything is sent.",
    )

    _client: AISAClient = PrivateAttr()
    _aclient: AsyncAISAClient = PrivateAttr()
    _env_key: Secret | None = PrivateAttr(default=None)
    """Unpickled without ``api_key``: the key ``AISA_API_KEY`` holds at the first call."""

    @field_validator("api_key", mode="before")
    @classmethod
    def _unwrap_secret(cls, value: Any) -> Any:
        return value.get_secret_value() if isinstance(value, Secret) else value

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._connect()  # after validation, so a missing key is a ConfigurationError

    def core_settings(self) -> dict[str, Any]:
        """What the core clients are built from (subclasses add their own)."""
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key else self._env_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "source": SOURCE,
            "rate_limiter": self.aisa_rate_limiter,
            "health": self.aisa_health,
            "budget": self.aisa_budget,
            "observers": (SEAM,),  # each call's usage, as an AISAUsageEvent (UsageTracker)
        }

    def _connect(self) -> None:
        """Build the core clients: no I/O, but a missing key or a bad URL raises here."""
        settings = self.core_settings()
        self._client = AISAClient(http_client=self.http_client, **settings)
        self._aclient = AsyncAISAClient(http_client=self.async_http_client, **settings)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in self.client_fields:
            self._connect()

    @property
    def client(self) -> AISAClient:
        """The core client, for what LlamaIndex has no method for (``balance()``, ``quote()``)."""
        return self._client

    @property
    def async_client(self) -> AsyncAISAClient:
        return self._aclient

    def close(self) -> None:
        """Close the sync connection pool (an injected ``http_client`` is left open)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the async connection pool (an injected ``async_http_client`` is left open)."""
        await self._aclient.aclose()

    def __getstate__(self) -> dict[str, Any]:
        fields = {
            k: v
            for k, v in self.__dict__.items()
            if k not in self.unpickled_fields and _picklable(type(self).__name__, k, v)
        }
        return {"fields": fields}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Keys are never pickled: the key is AISA_API_KEY's at the first call (not at load),
        # so an unpickled object can still be given one: set the variable, or ``obj.api_key``.
        self._restore(state["fields"], Secret.from_env())

    def _restore(self, fields: dict[str, Any], env_key: Secret | None) -> None:
        # The framework's own constructor (not ours: that would check the key now).
        super().__init__(**fields)
        self._env_key = env_key
        self._connect()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> CoreClients:
        shared = self.unpickled_fields | self.shared_fields | {"rate_limiter"}
        fields = {k: v if k in shared else copy.deepcopy(v, memo) for k, v in self.__dict__.items()}
        clone = type(self).__new__(type(self))
        clone._restore(fields, self._env_key)
        return clone


def _picklable(owner: str, name: str, value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # any failure means "leave it out", as LlamaIndex's own components do
        logger.warning("%s: %s cannot be pickled and is left out", owner, name)
        return False
    return True
