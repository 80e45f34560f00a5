"""``RedisStore``: the store seam on a Redis server (>= 6.2), shared by every process, thread and
event loop that points at it. Extra ``redis`` (the ``redis`` client library).

Each operation is one Lua script (``_lua.py``), so each read-modify-write is atomic on the
server, and time is the server's ``TIME``, never a worker's clock. Keys carry ``prefix`` and an
expiry: the one the operation asks for, else ``default_ttl`` after the last write.

Clients are made on first use: one blocking ``redis.Redis`` per process, and one
``redis.asyncio.Redis`` per event loop and process (the ``a<name>`` twins use it, and
``stores.arun_ops`` awaits them). A process made by ``fork`` makes its own. Timeouts are short
(``socket_timeout``, 0.5 s to connect and to answer) and failed commands are not retried with
backoff, so no call waits long on a dead Redis.

When Redis cannot be reached or does not answer in time, ``on_store_error`` decides:

- ``"local"`` (the default): the operation runs on an in-process ``MemoryStore`` instead, and
  later ones too for ``retry_interval`` seconds before Redis is tried again. State carries on
  in this process alone (each worker then limits, cools down and budgets on its own) until
  Redis answers. One warning is logged (``aisa_core.stores``) at most once a minute.
- ``"raise"``: ``StoreUnavailableError`` (not retryable), before anything is sent.

``check=True`` pings the server when the store is made and raises ``StoreUnavailableError``
when it does not answer.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from aisa_core.errors import ConfigurationError, StoreUnavailableError

from ._commands import Command, Commands
from ._lua import SCRIPTS
from .memory import MemoryStore, RateRule

if TYPE_CHECKING:
    import asyncio

__all__ = ["OnStoreError", "RedisStore"]

logger = logging.getLogger("aisa_core.stores")

OnStoreError = Literal["local", "raise"]
_SCHEMES = ("redis", "rediss", "unix")
_WARN_EVERY = 60.0
_WARNED: dict[str, float] = {}  # per server URL: when this process last warned that it is away
_WARNED_LOCK = threading.Lock()


def _redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class _Connection:
    """A client with the scripts registered on it (sync or asyncio: same calls, awaited)."""

    __slots__ = ("client", "scripts")

    def __init__(self, client: Any) -> None:
        self.client = client
        self.scripts = {name: client.register_script(body) for name, body in SCRIPTS.items()}

    def run(self, command: Command, prefix: str) -> Any:
        keys = [prefix + key for key in command.keys]
        return self.scripts[command.op](keys=keys, args=command.argv)


class RedisStore:
    """See the module docstring. ``url``: ``redis://[[user]:password@]host[:port][/db]``,
    ``rediss://`` (TLS) or ``unix://``."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "aisa:",
        socket_timeout: float = 0.5,
        on_store_error: OnStoreError = "local",
        check: bool = False,
        default_ttl: float | None = 30 * 86_400.0,
        retry_interval: float = 1.0,
    ) -> None:
        if not isinstance(url, str) or urlsplit(url.strip()).scheme not in _SCHEMES:
            raise ConfigurationError(
                f"a Redis URL starts with redis://, rediss:// or unix://, got {_shown(url)}"
            )
        if on_store_error not in ("local", "raise"):
            raise ConfigurationError(
                f"on_store_error must be 'local' or 'raise', not {on_store_error!r}"
            )
        if not socket_timeout > 0 or (default_ttl is not None and not default_ttl > 0):
            raise ConfigurationError("socket_timeout and default_ttl must be positive")
        _import_redis()
        self.url = url.strip()
        self.prefix = prefix
        self.socket_timeout = float(socket_timeout)
        self.on_store_error: OnStoreError = on_store_error
        self.default_ttl = default_ttl
        self._build = Commands(default_ttl)
        self.retry_interval = retry_interval
        self._local = MemoryStore()
        self._reset()
        if check:
            self.ping()

    def _reset(self) -> None:
        """Per-process state: a child made by ``fork`` starts here again (with a lock of its
        own: another thread of the parent may have held the parent's at the fork)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sync: _Connection | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """``RedisStore.from_url(os.environ["AISA_REDIS_URL"])``."""
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"RedisStore({_redacted(self.url)!r}, prefix={self.prefix!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy in another process connects to the same server: the state stays shared.
        options = {
            "prefix": self.prefix,
            "socket_timeout": self.socket_timeout,
            "on_store_error": self.on_store_error,
            "default_ttl": self.default_ttl,
            "retry_interval": self.retry_interval,
        }
        return (_restore, (self.url, options))

    # --- connections --------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
            "health_check_interval": 0,
            "decode_responses": False,
        }

    def _connection(self) -> _Connection:
        if self._pid != os.getpid():
            self._reset()
        connection = self._sync
        if connection is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            with self._lock:
                if self._sync is None:
                    retry = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
                    client = redis.Redis.from_url(self.url, retry=retry, **self._options())
                    self._sync = _Connection(client)
                connection = self._sync
        return connection

    def _aconnection(self) -> _Connection:
        import asyncio

        if self._pid != os.getpid():
            self._reset()
        loop = asyncio.get_running_loop()
        connection = self._async.get(loop)
        if connection is None:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            retry = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
            client = redis.asyncio.Redis.from_url(self.url, retry=retry, **self._options())
            connection = self._async[loop] = _Connection(client)
        return connection

    def close(self) -> None:
        """Close the blocking client's connections (a later call opens new ones)."""
        connection, self._sync = self._sync, None
        if connection is not None and self._pid == os.getpid():
            connection.client.close()

    async def aclose(self) -> None:
        """Close the connections of the running event loop's client; call it before the loop
        ends (as for any asyncio client)."""
        import asyncio

        connection = self._async.pop(asyncio.get_running_loop(), None)
        if connection is not None and self._pid == os.getpid():
            await connection.client.aclose()

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the server answers."""
        from redis.exceptions import RedisError

        try:
            self._connection().client.ping()
        except RedisError as error:
            raise self._unavailable(error) from error

    # --- running a command, or standing in for Redis ------------------------------------------

    def _do(self, command: Command) -> Any:
        from redis.exceptions import RedisError

        if time.monotonic() >= self._down_until:
            try:
                return command.decode(self._connection().run(command, self.prefix))
            except RedisError as error:
                return self._instead(command, error)
        return self._instead(command, None)

    async def _ado(self, command: Command) -> Any:
        from redis.exceptions import RedisError

        if time.monotonic() >= self._down_until:
            try:
                return command.decode(await self._aconnection().run(command, self.prefix))
            except RedisError as error:
                return self._instead(command, error)
        return self._instead(command, None)

    def _instead(self, command: Command, error: Exception | None) -> Any:
        """Redis failed (``error``) or failed less than ``retry_interval`` ago (``None``)."""
        if error is not None:
            self._down_until = time.monotonic() + self.retry_interval
        if self.on_store_error == "raise":
            raise self._unavailable(error)
        if self._may_warn():
            logger.warning(
                "Redis at %s is unavailable (%s); carrying on with in-process state until it "
                "answers (on_store_error='local'; this warning repeats at most once a minute)",
                _redacted(self.url),
                _describe(error),
            )
        return getattr(self._local, command.op)(*command.args)

    def _may_warn(self) -> bool:
        """At most one warning a minute per server, however many stores point at it."""
        now = time.monotonic()
        with _WARNED_LOCK:
            if now - _WARNED.get(self.url, -math.inf) < _WARN_EVERY:
                return False
            _WARNED[self.url] = now
            return True

    def _unavailable(self, error: Exception | None) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"Redis at {_redacted(self.url)} is unavailable ({_describe(error)})"
        )

    # --- the operations -------------------------------------------------------------------------

    # Blocking, and awaited (``a`` + the name): one line each over the commands above.

    def now(self) -> float:
        return self._do(self._build.now())  # type: ignore[no-any-return]

    async def anow(self) -> float:
        return await self._ado(self._build.now())  # type: ignore[no-any-return]

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        return self._do(self._build.get_many(keys)) if keys else []

    async def aget_many(self, keys: Sequence[str]) -> list[Any]:
        return await self._ado(self._build.get_many(keys)) if keys else []

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._do(self._build.set(key, value, ttl, False))

    async def aset(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self._ado(self._build.set(key, value, ttl, False))

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return self._do(self._build.set(key, value, ttl, True))  # type: ignore[no-any-return]

    async def aadd(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return await self._ado(self._build.set(key, value, ttl, True))  # type: ignore[no-any-return]

    def incr(self, key: str, amount: float = 1, ttl: float | None = None) -> float:
        return self._do(self._build.incr(key, amount, None, ttl))  # type: ignore[no-any-return]

    async def aincr(self, key: str, amount: float = 1, ttl: float | None = None) -> float:
        return await self._ado(self._build.incr(key, amount, None, ttl))  # type: ignore[no-any-return]

    def incr_within(self, key: str, amount: float, limit: float, ttl: float | None = None) -> float:
        return self._do(self._build.incr(key, amount, limit, ttl))  # type: ignore[no-any-return]

    async def aincr_within(
        self, key: str, amount: float, limit: float, ttl: float | None = None
    ) -> float:
        return await self._ado(self._build.incr(key, amount, limit, ttl))  # type: ignore[no-any-return]

    def ewma(self, key: str, value: float, alpha: float, ttl: float | None = None) -> float:
        return self._do(self._build.ewma(key, value, alpha, ttl))  # type: ignore[no-any-return]

    async def aewma(self, key: str, value: float, alpha: float, ttl: float | None = None) -> float:
        return await self._ado(self._build.ewma(key, value, alpha, ttl))  # type: ignore[no-any-return]

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._do(self._build.delete(keys))

    async def adelete(self, keys: Sequence[str]) -> None:
        if keys:
            await self._ado(self._build.delete(keys))

    def incr_field(self, key: str, field: str, amount: float, ttl: float | None = None) -> float:
        return self._do(self._build.incr_field(key, field, amount, ttl))  # type: ignore[no-any-return]

    async def aincr_field(
        self, key: str, field: str, amount: float, ttl: float | None = None
    ) -> float:
        return await self._ado(self._build.incr_field(key, field, amount, ttl))  # type: ignore[no-any-return]

    def get_fields(self, key: str) -> dict[str, float]:
        return self._do(self._build.get_fields(key))  # type: ignore[no-any-return]

    async def aget_fields(self, key: str) -> dict[str, float]:
        return await self._ado(self._build.get_fields(key))  # type: ignore[no-any-return]

    def rate_admit(
        self, key: str, token: str, rule: RateRule, released: Sequence[str] = ()
    ) -> float:
        return self._do(self._build.rate_admit(key, token, rule, released))  # type: ignore[no-any-return]

    async def arate_admit(
        self, key: str, token: str, rule: RateRule, released: Sequence[str] = ()
    ) -> float:
        command = self._build.rate_admit(key, token, rule, released)
        return await self._ado(command)  # type: ignore[no-any-return]

    def rate_renew(self, key: str, tokens: Sequence[str], lease: float) -> int:
        return self._do(self._build.rate_renew(key, tokens, lease)) if tokens else 0

    async def arate_renew(self, key: str, tokens: Sequence[str], lease: float) -> int:
        return await self._ado(self._build.rate_renew(key, tokens, lease)) if tokens else 0

    def rate_release(self, key: str, tokens: Sequence[str]) -> None:
        if tokens:
            self._do(self._build.rate_release(key, tokens))

    async def arate_release(self, key: str, tokens: Sequence[str]) -> None:
        if tokens:
            await self._ado(self._build.rate_release(key, tokens))

    def rate_in_flight(self, key: str) -> int:
        return self._do(self._build.rate_in_flight(key))  # type: ignore[no-any-return]

    async def arate_in_flight(self, key: str) -> int:
        return await self._ado(self._build.rate_in_flight(key))  # type: ignore[no-any-return]


def _describe(error: Exception | None) -> str:
    if error is None:
        return "it failed moments ago"
    return f"{type(error).__name__}: {error}"


def _shown(url: object) -> str:
    return repr(_redacted(url)) if isinstance(url, str) else repr(type(url).__name__)


def _import_redis() -> None:
    try:
        import redis  # noqa: F401
    except ImportError as error:
        raise ConfigurationError(
            "RedisStore needs the redis client library: pip install 'aisa-llm[redis]'"
        ) from error


def _restore(url: str, options: dict[str, Any]) -> RedisStore:
    return RedisStore(url, **options)
