"""What ``AISAEmbedding`` and ``AISARerank`` share: the core client's settings as fields (as
``AISA`` has them) and the two core clients, built at construction (no I/O) and rebuilt when a
connection field changes; pickles that never hold the key."""

from __future__ import annotations

import logging
import pickle
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from aisa_core import AISAClient, AsyncAISAClient, ConfigurationError, RateLimiter, Secret

__all__ = ["CoreClients"]

_CLIENT_FIELDS = frozenset(
    {
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "default_headers",
        "http_client",
        "async_http_client",
        "aisa_rate_limiter",
    }
)
_NOT_PICKLED = frozenset({"api_key", "http_client", "async_http_client", "callback_manager"})
logger = logging.getLogger(__name__)


class CoreClients(BaseModel):
    """The key comes from ``api_key`` or ``AISA_API_KEY`` (never ``OPENAI_*``) and is left out
    of ``to_dict``/``to_json`` and pickles (an unpickled object reads ``AISA_API_KEY`` again)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: ClassVar[str] = "aisa-llm-llama-index"

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
        description="The core's client-side limit, shared by every object using it.",
    )

    _client: AISAClient = PrivateAttr()
    _aclient: AsyncAISAClient = PrivateAttr()

    @field_validator("api_key", mode="before")
    @classmethod
    def _unwrap_secret(cls, value: Any) -> Any:
        return value.get_secret_value() if isinstance(value, Secret) else value

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._connect()  # after validation, so a missing key is a ConfigurationError

    def _connect(self) -> None:
        """Build the core clients: no I/O, but a missing key or a bad URL raises here."""
        settings: dict[str, Any] = {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "source": self.source,
            "rate_limiter": self.aisa_rate_limiter,
        }
        self._client = AISAClient(http_client=self.http_client, **settings)
        self._aclient = AsyncAISAClient(http_client=self.async_http_client, **settings)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in _CLIENT_FIELDS:
            self._connect()

    @property
    def client(self) -> AISAClient:
        return self._client

    @property
    def async_client(self) -> AsyncAISAClient:
        return self._aclient

    def close(self) -> None:
        """Close the sync connection pool (an injected ``http_client`` is left open)."""
        self._client.close()

    async def aclose(self) -> None:
        await self._aclient.aclose()

    def __getstate__(self) -> dict[str, Any]:
        fields = {
            k: v for k, v in self.__dict__.items() if k not in _NOT_PICKLED and _picklable(k, v)
        }
        return {"fields": fields}

    def __setstate__(self, state: dict[str, Any]) -> None:
        try:
            type(self).__init__(self, **state["fields"])
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"cannot restore a pickled {type(self).__name__}: {exc.message} "
                "(keys are never pickled)",
                hint="Set AISA_API_KEY in the process that unpickles it",
            ) from exc


def _picklable(name: str, value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # any failure means "leave it out", as LlamaIndex's own components do
        logger.warning("%s cannot be pickled and is left out", name)
        return False
    return True
