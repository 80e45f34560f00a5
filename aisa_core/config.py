"""Settings resolution: API key, base URL, model ids, timeouts. Pure functions, no I/O.

Only ``AISA_*`` environment variables are read, never ``OPENAI_*``: an OpenAI key must never
be sent to a third party by accident.
"""

from __future__ import annotations

import ipaddress
import math
import os
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import AISAError, ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "Secret",
    "Timeouts",
    "check_api_key",
    "check_headers",
    "check_model_id",
    "is_loopback_url",
    "model_ids",
    "normalize_base_url",
    "normalize_model",
    "resolve_api_key",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://api.aisa.one/v1"
API_KEY_ENV = "AISA_API_KEY"
BASE_URL_ENV = "AISA_BASE_URL"


class Secret:
    """Holds the API key; its repr, its str and its pickle never show it.

    A pickle carries no value (it is a serialised object, sent to other processes or stored): the
    ``Secret`` it loads as reads ``AISA_API_KEY`` whenever the key is needed, and raises a clear
    ``ConfigurationError`` naming the variable if it is not set. Copies in one process keep the
    value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value: str | None = value

    @classmethod
    def from_env(cls) -> Secret:
        """The key ``AISA_API_KEY`` holds when it is asked for (what a pickled key becomes)."""
        secret = cls.__new__(cls)
        secret._value = None
        return secret

    @property
    def deferred(self) -> bool:
        """True when the key is read from ``AISA_API_KEY`` on use (an unpickled key)."""
        return self._value is None

    def get_secret_value(self) -> str:
        if self._value is not None:
            return self._value
        key = os.environ.get(API_KEY_ENV)
        if not key or not key.strip():
            raise ConfigurationError(
                "no AIsa API key: this object was unpickled, and a pickle never carries the key",
                hint=f"Set {API_KEY_ENV} in this process before its first call, or give it a key "
                "(api_key= on a model, client.settings.api_key = ... on a client)",
            )
        return check_api_key(key)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_secret_from_env, ())

    def __copy__(self) -> Secret:
        return self  # immutable: a copy in this process is the same key

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def _secret_from_env() -> Secret:
    return Secret.from_env()


def resolve_api_key(api_key: str | Secret | None, env: Mapping[str, str] | None = None) -> Secret:
    """The key from the argument, else ``AISA_API_KEY``; a clear error when neither is set or
    the key cannot be sent (the error never prints the key). A deferred ``Secret`` (an unpickled
    one) stays deferred: it is checked when first used."""
    if isinstance(api_key, Secret):
        if api_key.deferred:
            return api_key
        api_key = api_key.get_secret_value()
    if api_key is None:
        api_key = (os.environ if env is None else env).get(API_KEY_ENV)
    return Secret(check_api_key(api_key))


def check_api_key(api_key: object) -> str:
    """The key without surrounding white space, or a ``ConfigurationError`` that says what is
    wrong with it (never the key itself): missing, not a string, or holding a character an HTTP
    header cannot carry (a zero-width space pasted from a web page, a control character)."""
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigurationError(f"the AIsa API key must be a string, not {type(api_key).__name__}")
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
    bad = _first_unsendable(key, allow_space=False)
    if bad is not None:
        raise ConfigurationError(
            f"the AIsa API key contains a character an HTTP header cannot carry ({bad})",
            hint=f"Check {API_KEY_ENV} (or api_key=): paste the key alone; text copied from a "
            "web page can carry invisible characters",
        )
    return key


def _first_unsendable(text: str, *, allow_space: bool) -> str | None:
    """Where ``text`` first leaves what an HTTP header carries the same on every HTTP stack
    (visible ASCII, plus space and tab in values), as ``U+200B at position 6``; ``None`` if
    nowhere. Non-ASCII is refused: httpx refuses it and aiohttp sends it as UTF-8."""
    for position, ch in enumerate(text):
        if "!" <= ch <= "~" or (allow_space and ch in " \t"):
            continue
        return f"U+{ord(ch):04X} at position {position}"
    return None


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)


def check_headers(
    headers: Mapping[str, str], error: type[AISAError] = ConfigurationError
) -> dict[str, str]:
    """``headers`` as a dict, after checking that each can be sent: a name made of HTTP token
    characters, a string value of visible ASCII, spaces and tabs (no CR or LF: no header
    injection). Raises ``error`` naming the header and the character, never the value (it may
    be a token)."""
    if not isinstance(headers, Mapping):
        raise error(f"headers must be a dict of names to values, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not _TOKEN_CHARS.issuperset(name):
            raise error(f"{name!r} is not a valid HTTP header name")
        if not isinstance(value, str):
            raise error(f"header {name}: the value must be a string, not {type(value).__name__}")
        bad = _first_unsendable(value, allow_space=True)
        if bad is not None:
            raise error(
                f"header {name}: the value has a character an HTTP header cannot carry ({bad})",
                hint="Header values are ASCII without control characters (CR and LF included)",
            )
        checked[name] = value
    return checked


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
    if not isinstance(url, str):
        raise ConfigurationError(f"base URL must be a string, not {type(url).__name__}")
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        valid = parts.port is None or parts.port > 0  # reading it checks the port
    except ValueError:
        valid = False
    if not valid or not all(ch.isprintable() and not ch.isspace() for ch in raw):
        raise ConfigurationError(
            f"base URL {raw!r} is not a valid URL",
            hint=f"Use e.g. {DEFAULT_BASE_URL} (argument base_url= or {BASE_URL_ENV})",
        )
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


MAX_MODEL_ID = 256
"""Longer ids are refused before sending (real ones are under 100 characters)."""


def model_ids(models: object, what: str = "fallback_models") -> tuple[str, ...]:
    """A list of model ids, each normalised (``None``: none). A bare string is refused: it would
    be read one character at a time."""
    if models is None:
        return ()
    if isinstance(models, (str, bytes, Mapping)) or not isinstance(models, Iterable):
        raise ConfigurationError(f"{what} must be a list of model ids, not {models!r}")
    return tuple(normalize_model(m) for m in models)


def normalize_model(model: str) -> str:
    """Strip white space and OpenClaw's ``aisa/`` namespace; then ``check_model_id``."""
    if not isinstance(model, str):
        raise ConfigurationError(f"a model id must be a string, not {type(model).__name__}")
    cleaned = model.strip()
    if cleaned.startswith("aisa/"):
        cleaned = cleaned[len("aisa/") :]
    return check_model_id(cleaned)


def check_model_id(model: str) -> str:
    """``model``, unless it is empty, too long, or holds a character no model id has (control
    or invisible characters): those are a ``ConfigurationError`` before anything is sent."""
    if not isinstance(model, str):
        raise ConfigurationError(f"a model id must be a string, not {type(model).__name__}")
    if not model:
        raise ConfigurationError("empty model id", hint="Pass a model such as 'gpt-4.1'")
    if len(model) > MAX_MODEL_ID:
        raise ConfigurationError(f"model id of {len(model)} characters; at most {MAX_MODEL_ID}")
    if not model.isprintable():
        where = next(i for i, ch in enumerate(model) if not ch.isprintable())
        raise ConfigurationError(
            f"model id {model[:where]!r}... has an unprintable character "
            f"(U+{ord(model[where]):04X} at position {where})",
            hint="Check the id against `aisa models`; it may hold a pasted invisible character",
        )
    return model


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
