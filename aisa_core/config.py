"""Settings resolution: API key, base URL, model ids, timeouts. Pure functions, no I/O.

Only ``AISA_*`` environment variables are read, never ``OPENAI_*``: an OpenAI key must never
be sent to a third party by accident.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "Secret",
    "Timeouts",
    "is_loopback_url",
    "normalize_base_url",
    "normalize_model",
    "resolve_api_key",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://api.aisa.one/v1"
API_KEY_ENV = "AISA_API_KEY"
BASE_URL_ENV = "AISA_BASE_URL"


class Secret:
    """Holds the API key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))


def resolve_api_key(api_key: str | Secret | None, env: Mapping[str, str] | None = None) -> Secret:
    """The key from the argument, else ``AISA_API_KEY``; a clear error when neither is set."""
    if isinstance(api_key, Secret):
        api_key = api_key.get_secret_value()
    if api_key is None:
        api_key = (os.environ if env is None else env).get(API_KEY_ENV)
    if not api_key or not api_key.strip():
        raise ConfigurationError(
            "no AIsa API key",
            hint=f"Set the {API_KEY_ENV} environment variable or pass api_key=",
        )
    key = api_key.strip()
    if any(ch.isspace() for ch in key):
        raise ConfigurationError(
            "the AIsa API key contains white space",
            hint=f"Check {API_KEY_ENV}: paste the key alone, without quotes or spaces",
        )
    return Secret(key)


def resolve_base_url(
    base_url: str | None,
    env: Mapping[str, str] | None = None,
    *,
    allow_insecure: bool = False,
) -> str:
    """The argument, else ``AISA_BASE_URL``, else AIsa's URL; always ending in ``/v1``."""
    chosen = base_url or (os.environ if env is None else env).get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return normalize_base_url(chosen, allow_insecure=allow_insecure)


def normalize_base_url(url: str, *, allow_insecure: bool = False) -> str:
    """``https://x``, ``https://x/``, ``https://x/v1`` and ``https://x/v1/`` all give ``https://x/v1``.

    The key is only ever sent over https, except to loopback addresses (the stand-in gateway and
    local proxies); ``allow_insecure=True`` lifts that for a trusted private network.
    """
    raw = url.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base URL {raw!r} is not an http(s) URL",
            hint=f"Use e.g. {DEFAULT_BASE_URL} (argument base_url= or {BASE_URL_ENV})",
        )
    if parts.scheme == "http" and not allow_insecure and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing to send the API key over plain http to {parts.hostname}",
            hint="Use https, or pass allow_insecure=True if this network is trusted",
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    netloc = parts.netloc
    return f"{parts.scheme}://{netloc}{path}/v1"


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (the stand-in, a local proxy)."""
    host = urlsplit(url).hostname
    return host is not None and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_model(model: str) -> str:
    """Strip white space and OpenClaw's ``aisa/`` namespace; reject an empty id."""
    cleaned = model.strip()
    if cleaned.startswith("aisa/"):
        cleaned = cleaned[len("aisa/") :]
    if not cleaned:
        raise ConfigurationError("empty model id", hint="Pass a model such as 'gpt-4.1'")
    return cleaned


def _positive_seconds(value: object) -> bool:
    """A number of seconds a socket can wait: not a bool, not NaN or infinite, above zero."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value > 0 and math.isfinite(value)


@dataclass(frozen=True)
class Timeouts:
    """Timeouts in seconds. Read (the longest wait for the next bytes) defaults to 120 s as AIsa
    recommends; ``total`` caps a whole non-streamed answer, so a server that trickles bytes
    cannot hold a call forever (streams are bounded by ``read`` between events instead)."""

    connect: float = 10.0
    read: float = 120.0
    write: float = 30.0
    pool: float = 30.0
    total: float | None = 600.0

    @classmethod
    def of(cls, value: float | Timeouts | None) -> Timeouts:
        """A single number sets the read timeout and caps the others (like most users expect)."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        if not _positive_seconds(value):
            raise ConfigurationError(f"timeout must be positive seconds, got {value!r}")
        seconds = float(value)
        return cls(
            connect=min(10.0, seconds),
            read=seconds,
            write=min(30.0, seconds),
            pool=seconds,
            total=max(600.0, seconds),
        )
