"""How bytes move: the only part of the package that imports httpx, httpcore or aiohttp.

The clients hand it a ``protocol.wire.Request`` and get a ``Reply`` back (and, for an event
stream, an open body to read piece by piece). Every read is bounded: whole answers by size and
a total timeout that starts before the headers, stream events by the time between them, and
compressed bodies are undone a piece at a time. Transport failures become our errors in one
place (``boundary.map_transport_errors``).

- ``sync``: ``SyncHTTP`` on ``httpx.Client`` (httpx's sync pool is fast).
- ``aio``: ``AiohttpHTTP`` on our own aiohttp pool (the default), ``HttpxAsyncHTTP`` on an
  ``httpx.AsyncClient`` (an injected client or transport, or ``prefer_aiohttp=False``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .boundary import map_transport_errors
from .proxies import env_proxy, trusts_env
from .sync import SyncBody, SyncHTTP

if TYPE_CHECKING:
    import httpx

    from aisa_core.config import Timeouts

    from .aio import AiohttpHTTP, AsyncBody, AsyncHTTP, HttpxAsyncHTTP, has_aiohttp

__all__ = [
    "AiohttpHTTP",
    "AsyncBody",
    "AsyncHTTP",
    "HttpxAsyncHTTP",
    "SyncBody",
    "SyncHTTP",
    "async_http",
    "has_aiohttp",
    "map_transport_errors",
    "sync_http",
]


def __getattr__(name: str) -> Any:
    # The async half (and asyncio) load on first use: ``import aisa_core`` stays cheap.
    if name in ("AiohttpHTTP", "AsyncBody", "AsyncHTTP", "HttpxAsyncHTTP", "has_aiohttp"):
        from . import aio

        return getattr(aio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sync_http(
    timeouts: Timeouts,
    base_url: str,
    *,
    client: httpx.Client | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncHTTP:
    """httpx's sync pool (the caller's client or transport, else ours)."""
    return SyncHTTP(timeouts, client=client, transport=transport, trust_env=trusts_env(base_url))


def async_http(
    timeouts: Timeouts,
    base_url: str,
    *,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    prefer_aiohttp: bool = True,
) -> AsyncHTTP:
    """Our aiohttp pool unless the caller brought an httpx client or transport (which then
    carries every request, hooks and all) or asked for httpx."""
    from . import aio

    if client is None and transport is None and prefer_aiohttp and aio.has_aiohttp():
        return aio.AiohttpHTTP(timeouts, proxy=env_proxy(base_url))
    return aio.HttpxAsyncHTTP(
        timeouts, client=client, transport=transport, trust_env=trusts_env(base_url)
    )
